package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
)

// watcher follows the changes of a key. Each call to next long-polls for
// the next event and moves on past it.
type watcher struct {
	c         *clusterClient
	key       string
	recursive bool
	waitIndex uint64 // 0: the next change from now
}

// newWatcher returns a watcher that starts after the given index (0: from
// now on), as etcd's client sets it up.
func newWatcher(c *clusterClient, key string, recursive bool, afterIndex uint64) *watcher {
	w := &watcher{c: c, key: key, recursive: recursive}
	if afterIndex > 0 {
		w.waitIndex = afterIndex + 1
	}
	return w
}

// next waits for the next event. An empty answer, which a server sends
// when it closes a watch without an event, is simply asked again.
func (w *watcher) next(ctx context.Context) (*keysResponse, error) {
	for {
		resp, body, err := w.c.do(ctx, watchRequest(w.key, w.waitIndex, w.recursive))
		if err != nil {
			return nil, err
		}
		r, err := decodeKeysResponse(resp.StatusCode, resp.Header, body)
		if err == errEmptyBody {
			continue
		}
		if err != nil {
			return nil, err
		}
		w.waitIndex = r.node().ModifiedIndex + 1
		return r, nil
	}
}

// errInterrupted is the cause of a context ended by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// interruptContext returns a context that Ctrl-C ends, for the commands
// that run until then (watch, exec-watch, cluster-health --forever, check
// perf). Call stop when done.
func (a *app) interruptContext() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch, stopNotify := a.notifyInterrupt()
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel(errInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		stopNotify()
		cancel(nil)
	}
}

// interrupted reports whether ctx was ended by Ctrl-C.
func interrupted(ctx context.Context) bool {
	return context.Cause(ctx) == errInterrupted
}

// watchCommand returns watch, which prints the next change of a key (or
// every change, with --forever).
func watchCommand() *command {
	return &command{
		name:      "watch",
		usage:     "wait for a change of a key and print it",
		argsUsage: "<key>",
		description: "Waits for the next change of <key> and prints the new value. Changes of\n" +
			"directories are skipped. Ctrl-C ends the watch (exit code 0).",
		options: []option{
			{names: []string{"forever"}, kind: boolFlag, usage: "keep printing changes until Ctrl-C"},
			{names: []string{"after-index"}, kind: intFlag, def: "0", usage: "start with the first change after this index"},
			{names: []string{"recursive"}, kind: boolFlag, usage: "also watch the keys below <key>, printing \"[action] key\" before each change"},
		},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, err := keyArg(in)
			if err != nil {
				return err
			}
			recursive, forever := in.Bool("recursive"), in.Bool("forever")
			w := newWatcher(c, key, recursive, uint64(in.Int("after-index")))
			ctx, stop := a.interruptContext()
			defer stop()
			for {
				resp, err := w.next(ctx)
				if err != nil {
					if interrupted(ctx) {
						return nil
					}
					return errorExit(exitServerError, err)
				}
				n := resp.node()
				if n.Dir {
					continue
				}
				if recursive {
					fmt.Fprintf(a.stdout, "[%s] %s\n", resp.Action, n.Key)
				}
				printResponse(a.stdout, a.stderr, resp, g.output)
				if !forever {
					return nil
				}
			}
		}),
	}
}

// execWatchCommand returns exec-watch, which runs a command for every
// change of a key.
func execWatchCommand() *command {
	return &command{
		name:      "exec-watch",
		usage:     "run a command each time a key changes",
		argsUsage: "<key> -- <command> [args...]",
		description: "Watches <key> until Ctrl-C and, for each change, starts <command> without\n" +
			"waiting for it, with these extra environment variables:\n\n" +
			"   ETCD_WATCH_ACTION           the action (set, update, delete, expire, ...)\n" +
			"   ETCD_WATCH_MODIFIED_INDEX   the index of the change\n" +
			"   ETCD_WATCH_KEY              the key that changed\n" +
			"   ETCD_WATCH_VALUE            its new value\n\n" +
			"The form \"exec-watch <command> [args...] <key>\" works too when no\n" +
			"argument of the command starts with '-'. As in etcdctl 2.3, --after-index N\n" +
			"starts at index N+2.",
		options: []option{
			{names: []string{"after-index"}, kind: intFlag, def: "0", usage: "start with the changes after this index (see above)"},
			{names: []string{"recursive"}, kind: boolFlag, usage: "also watch the keys below <key>"},
		},
		run: keyAction(runExecWatch),
	}
}

// errExecArgs is exec-watch's complaint about its arguments.
var errExecArgs = errors.New("key and command to exec required")

// runExecWatch is the action of exec-watch.
func runExecWatch(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
	key, argv, err := execWatchArgs(in.args)
	if err != nil {
		return err
	}
	index := in.Int("after-index")
	if index != 0 {
		index++
	}
	w := newWatcher(c, key, in.Bool("recursive"), uint64(index))
	ctx, stop := a.interruptContext()
	defer stop()
	for {
		resp, err := w.next(ctx)
		if err != nil {
			if interrupted(ctx) {
				return nil
			}
			return errorExit(exitServerError, err)
		}
		n := resp.node()
		if n.Dir {
			fmt.Fprintf(a.stderr, "Ignored dir %s change", n.Key)
			continue
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(a.environ(),
			"ETCD_WATCH_ACTION="+resp.Action,
			fmt.Sprintf("ETCD_WATCH_MODIFIED_INDEX=%d", n.ModifiedIndex),
			"ETCD_WATCH_KEY="+n.Key,
			"ETCD_WATCH_VALUE="+n.Value,
		)
		cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
		if err := cmd.Start(); err != nil {
			return rawExit(exitBadArgs, err.Error())
		}
		a.children.Add(1)
		go func() {
			defer a.children.Done()
			cmd.Wait()
		}()
	}
}

// execWatchArgs splits exec-watch's arguments into the key and the command
// line. With a "--" after the first argument, the key comes first and the
// command starts at the third argument; without one, the key is last.
func execWatchArgs(args []string) (key string, argv []string, err error) {
	if len(args) < 2 {
		return "", nil, errorExit(exitBadArgs, errExecArgs)
	}
	sep := false
	for i, arg := range args {
		if arg == "--" && i != 0 {
			sep = true
			break
		}
	}
	if sep {
		key, argv = args[0], args[2:]
	} else {
		key, argv = args[len(args)-1], args[:len(args)-1]
	}
	if len(argv) == 0 {
		return "", nil, errorExit(exitBadArgs, errExecArgs)
	}
	return key, argv, nil
}
