package main

import (
	"errors"
	"fmt"
	"io"
)

// ttlOption is the --ttl option of the commands that write.
func ttlOption() option {
	return option{names: []string{"ttl"}, kind: intFlag, def: "0", usage: "time to live of the key, in seconds (0: no expiry)"}
}

// keyAction wraps the action of a key command: like etcdctl, it connects
// (and syncs) before it looks at the arguments, so an unreachable cluster
// is reported even when an argument is missing.
func keyAction(fn func(a *app, g *globalOptions, in *invocation, c *clusterClient) error) func(*app, *globalOptions, *invocation) error {
	return func(a *app, g *globalOptions, in *invocation) error {
		c, err := a.connect(g)
		if err != nil {
			return err
		}
		return fn(a, g, in, c)
	}
}

// Argument errors of the key commands.
var (
	errKeyRequired   = errors.New("key required")
	errValueRequired = errors.New("value required")
)

// keyArg returns the first argument, the key.
func keyArg(in *invocation) (string, error) {
	if len(in.args) == 0 {
		return "", errorExit(exitBadArgs, errKeyRequired)
	}
	return in.args[0], nil
}

// valueArg returns argument i, or all of stdin when it is left off
// (including any trailing newline). An empty stdin is an error.
func (a *app) valueArg(in *invocation, i int) (string, error) {
	if i < len(in.args) {
		return in.args[i], nil
	}
	b, err := io.ReadAll(a.stdin)
	if err != nil || len(b) == 0 {
		return "", errorExit(exitBadArgs, errValueRequired)
	}
	return string(b), nil
}

// keyValueArgs returns the key and the value of set, mk and update.
func (a *app) keyValueArgs(in *invocation) (key, value string, err error) {
	if key, err = keyArg(in); err != nil {
		return "", "", err
	}
	value, err = a.valueArg(in, 1)
	return key, value, err
}

// callAndPrint sends a key request under --total-timeout and prints the
// result; print decides from the response whether to print at all.
func (a *app) callAndPrint(g *globalOptions, c *clusterClient, r *request, print func(*keysResponse) bool) error {
	ctx, cancel := g.totalContext()
	defer cancel()
	resp, err := keysCall(ctx, c, r)
	if err != nil {
		return errorExit(exitServerError, err)
	}
	if print(resp) {
		printResponse(a.stdout, a.stderr, resp, g.output)
	}
	return nil
}

// Printing rules of the key commands: always print the result, never, or
// only when it is not a directory.
func always(*keysResponse) bool      { return true }
func never(*keysResponse) bool       { return false }
func unlessDir(r *keysResponse) bool { return !r.node().Dir }

// setCommand returns set, which PUTs a key (a compare-and-swap with the
// --swap-with options).
func setCommand() *command {
	return &command{
		name:      "set",
		usage:     "set the value of a key",
		argsUsage: "<key> <value>",
		description: "Sets a key to a value, creating it or replacing what was there.\n" +
			"The value is read from standard input when it is left off.\n" +
			"A value that starts with '-' would be taken for an option; put '--'\n" +
			"before the arguments to prevent that:\n\n" +
			"   $ etcdctl set -- <key> <value>",
		options: []option{
			ttlOption(),
			{names: []string{"swap-with-value"}, kind: stringFlag, usage: "set only if the current value is this one"},
			{names: []string{"swap-with-index"}, kind: intFlag, def: "0", usage: "set only if the key was last modified at this index"},
		},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, value, err := a.keyValueArgs(in)
			if err != nil {
				return err
			}
			r := setRequest(key, value, setOptions{
				ttl:       in.Int("ttl"),
				prevValue: in.String("swap-with-value"),
				prevIndex: uint64(in.Int("swap-with-index")),
			})
			return a.callAndPrint(g, c, r, always)
		}),
	}
}

// mkCommand returns mk, which creates a key that must not exist, or with
// --in-order POSTs a uniquely named key into a directory.
func mkCommand() *command {
	return &command{
		name:      "mk",
		usage:     "create a key with a value; fail if it exists",
		argsUsage: "<key> <value>",
		options: []option{
			{names: []string{"in-order"}, kind: boolFlag, usage: "create a key with a unique, increasing name inside directory <key>"},
			ttlOption(),
		},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, value, err := a.keyValueArgs(in)
			if err != nil {
				return err
			}
			if in.Bool("in-order") {
				return a.callAndPrint(g, c, createInOrderRequest(key, value, in.Int("ttl")), always)
			}
			r := setRequest(key, value, setOptions{ttl: in.Int("ttl"), prevExist: prevNoExist})
			return a.callAndPrint(g, c, r, always)
		}),
	}
}

// mkdirCommand returns mkdir, which creates a directory that must not
// exist. It prints nothing.
func mkdirCommand() *command {
	return &command{
		name:      "mkdir",
		usage:     "create a directory; fail if it exists",
		argsUsage: "<key>",
		options:   []option{ttlOption()},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, err := keyArg(in)
			if err != nil {
				return err
			}
			r := setRequest(key, "", setOptions{ttl: in.Int("ttl"), dir: true, prevExist: prevNoExist})
			return a.callAndPrint(g, c, r, never)
		}),
	}
}

// setdirCommand returns setdir, which PUTs a directory. It prints nothing.
func setdirCommand() *command {
	return &command{
		name:      "setdir",
		usage:     "create a directory, or turn a key into an empty directory",
		argsUsage: "<key>",
		options:   []option{ttlOption()},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, err := keyArg(in)
			if err != nil {
				return err
			}
			r := setRequest(key, "", setOptions{ttl: in.Int("ttl"), dir: true})
			return a.callAndPrint(g, c, r, never)
		}),
	}
}

// updateCommand returns update, which changes a key that must exist.
func updateCommand() *command {
	return &command{
		name:      "update",
		usage:     "change the value of a key that exists",
		argsUsage: "<key> <value>",
		options:   []option{ttlOption()},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, value, err := a.keyValueArgs(in)
			if err != nil {
				return err
			}
			r := setRequest(key, value, setOptions{ttl: in.Int("ttl"), prevExist: prevExist})
			return a.callAndPrint(g, c, r, always)
		}),
	}
}

// updatedirCommand returns updatedir, which changes the TTL of a directory
// that must exist. It prints nothing.
func updatedirCommand() *command {
	return &command{
		name:      "updatedir",
		usage:     "change the time to live of a directory that exists",
		argsUsage: "<key>",
		options:   []option{ttlOption()},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, err := keyArg(in)
			if err != nil {
				return err
			}
			r := setRequest(key, "", setOptions{ttl: in.Int("ttl"), dir: true, prevExist: prevExist})
			return a.callAndPrint(g, c, r, never)
		}),
	}
}

// rmCommand returns rm, which deletes a key or a directory (a
// compare-and-delete with the --with options). It prints nothing when a
// directory was removed.
func rmCommand() *command {
	return &command{
		name:      "rm",
		usage:     "remove a key or a directory",
		argsUsage: "<key>",
		options: []option{
			{names: []string{"dir"}, kind: boolFlag, usage: "also remove <key> when it is an empty directory"},
			{names: []string{"recursive"}, kind: boolFlag, usage: "remove a directory with everything in it"},
			{names: []string{"with-value"}, kind: stringFlag, usage: "remove only if the current value is this one"},
			{names: []string{"with-index"}, kind: intFlag, def: "0", usage: "remove only if the key was last modified at this index"},
		},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, err := keyArg(in)
			if err != nil {
				return err
			}
			r := deleteRequest(key, deleteOptions{
				prevValue: in.String("with-value"),
				prevIndex: uint64(in.Int("with-index")),
				dir:       in.Bool("dir"),
				recursive: in.Bool("recursive"),
			})
			return a.callAndPrint(g, c, r, unlessDir)
		}),
	}
}

// rmdirCommand returns rmdir, which deletes with dir=true. It prints
// nothing when a directory was removed.
func rmdirCommand() *command {
	return &command{
		name:      "rmdir",
		usage:     "remove an empty directory, or a key",
		argsUsage: "<key>",
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, err := keyArg(in)
			if err != nil {
				return err
			}
			return a.callAndPrint(g, c, deleteRequest(key, deleteOptions{dir: true}), unlessDir)
		}),
	}
}

// getCommand returns get, which prints a key. A directory is an error
// (exit 1).
func getCommand() *command {
	return &command{
		name:      "get",
		usage:     "print the value of a key",
		argsUsage: "<key>",
		options: []option{
			{names: []string{"sort"}, kind: boolFlag, usage: "sort the result by key"},
			{names: []string{"quorum"}, kind: boolFlag, usage: "read through the cluster's consensus (linearizable, slower)"},
		},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key, err := keyArg(in)
			if err != nil {
				return err
			}
			ctx, cancel := g.totalContext()
			defer cancel()
			resp, err := keysCall(ctx, c, getRequest(key, false, in.Bool("sort"), in.Bool("quorum")))
			if err != nil {
				return errorExit(exitServerError, err)
			}
			if n := resp.node(); n.Dir {
				return rawExit(exitBadArgs, fmt.Sprintf("%s: is a directory\n", n.Key))
			}
			printResponse(a.stdout, a.stderr, resp, g.output)
			return nil
		}),
	}
}

// lsCommand returns ls, which lists key names depth first, whatever the
// output format.
func lsCommand() *command {
	return &command{
		name:      "ls",
		usage:     "list the keys of a directory",
		argsUsage: "[key]",
		description: "Prints the keys in directory <key> (default: /), one per line, whatever\n" +
			"the --output format.",
		options: []option{
			{names: []string{"sort"}, kind: boolFlag, usage: "sort the keys"},
			{names: []string{"recursive"}, kind: boolFlag, usage: "list the whole tree below the directory"},
			{names: []string{"p"}, kind: boolFlag, usage: "end the names of directories with a slash (/)"},
			{names: []string{"quorum"}, kind: boolFlag, usage: "read through the cluster's consensus (linearizable, slower)"},
		},
		run: keyAction(func(a *app, g *globalOptions, in *invocation, c *clusterClient) error {
			key := "/"
			if len(in.args) > 0 {
				key = in.args[0]
			}
			ctx, cancel := g.totalContext()
			defer cancel()
			resp, err := keysCall(ctx, c, getRequest(key, in.Bool("recursive"), in.Bool("sort"), in.Bool("quorum")))
			if err != nil {
				return errorExit(exitServerError, err)
			}
			printList(a.stdout, resp, in.Bool("p"))
			return nil
		}),
	}
}
