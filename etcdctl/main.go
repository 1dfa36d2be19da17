// etcdctl 2.3.8 is built with the lax parsing of colons in URL hosts that
// Go had before 1.26; so is this one, so that odd URLs (in endpoints and
// member peer URLs) are accepted or refused with the same messages.

//go:debug urlstrictcolons=0

package main

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"time"

	"v2etcd/discover"
)

// version is the etcdctl version this program reports and matches, and
// gitSHA the commit it was built from. They are variables so that ./build
// can stamp them with the linker (-ldflags "-X main.version=... -X
// main.gitSHA=..."); nothing else writes them.
var (
	version = "2.3.8"
	gitSHA  = "Not provided (use ./build instead of go build)"
)

// versionText is what --version prints: etcdctl 2.3.8's line first (scripts
// read it), then the commit and the Go toolchain, as etcd --version shows.
func versionText() string {
	return fmt.Sprintf("etcdctl version %s\nGit SHA: %s\nGo Version: %s\nGo OS/Arch: %s/%s\n",
		version, gitSHA, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// app is one run of etcdctl. Everything that touches the process (standard
// streams, environment, signals, randomness, the terminal) comes in
// through its fields so that tests can run commands in-process.
type app struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	getenv  func(string) string
	environ func() []string

	// shuffle puts endpoints in random order (etcd's client does, to
	// spread load); tests make it deterministic.
	shuffle func([]url.URL)
	// readPassword writes the prompt and reads a password with echo off.
	readPassword func(prompt string) (string, error)
	// notifyInterrupt starts delivering Ctrl-C; stop ends it.
	notifyInterrupt func() (ch <-chan os.Signal, stop func())
	// lookupSRV finds client URLs in DNS SRV records (srvLookup); when it
	// is nil, --discovery-srv fails with errDNSDiscoveryUnsupported.
	lookupSRV func(domain string) ([]string, error)
	// resolver resolves the endpoints' host names; nil means the
	// system's. V2ETCD_DNS_SERVER points it, and lookupSRV, at a DNS
	// server of the tests' own.
	resolver *net.Resolver
	// stdoutIsTerminal tells check perf whether to draw a progress bar.
	stdoutIsTerminal func() bool

	// healthInterval is the pause between rounds of cluster-health --forever.
	healthInterval time.Duration
	// children counts exec-watch's running commands; tests wait on it.
	children sync.WaitGroup
}

func main() {
	res, err := discover.NewResolver(os.Getenv(discover.DNSServerEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(exitBadArgs)
	}
	a := &app{
		stdin:   os.Stdin,
		stdout:  os.Stdout,
		stderr:  os.Stderr,
		getenv:  os.Getenv,
		environ: os.Environ,
		shuffle: func(eps []url.URL) {
			rand.Shuffle(len(eps), func(i, j int) { eps[i], eps[j] = eps[j], eps[i] })
		},
		readPassword: func(prompt string) (string, error) {
			return readPassword(os.Stdin, os.Stdout, prompt)
		},
		notifyInterrupt: func() (<-chan os.Signal, func()) {
			ch := make(chan os.Signal, 1)
			signal.Notify(ch, os.Interrupt)
			return ch, func() { signal.Stop(ch) }
		},
		stdoutIsTerminal: func() bool { return isTerminal(os.Stdout) },
		lookupSRV:        srvLookup(res),
		resolver:         res,
		healthInterval:   10 * time.Second,
	}
	os.Exit(a.run(os.Args[1:]))
}

// run runs etcdctl with the given arguments (without the program name) and
// returns the exit code.
func (a *app) run(args []string) int {
	err := a.dispatch(args)
	if err == nil {
		return exitSuccess
	}
	var ee *exitError
	if errors.As(err, &ee) {
		io.WriteString(a.stderr, ee.text)
		return ee.code
	}
	fmt.Fprintln(a.stderr, "Error: ", err)
	return exitBadArgs
}

// dispatch parses the global options and runs the command.
func (a *app) dispatch(args []string) error {
	g, rest, err := parseGlobalOptions(args)
	if err != nil {
		return usageError(err, "etcdctl")
	}
	switch {
	case g.help:
		a.printAppHelp()
		return nil
	case g.version:
		io.WriteString(a.stdout, versionText())
		return nil
	case len(rest) == 0:
		a.printAppHelp()
		return nil
	}
	return a.runCommand(g, nil, rest, "etcdctl")
}

// runCommand finds the command named by args[0] and runs it, or dispatches
// to its subcommand. parent is the command whose subcommands are looked at
// (nil for etcdctl itself) and parentPath the command line so far, such
// as "etcdctl member".
func (a *app) runCommand(g *globalOptions, parent *command, args []string, parentPath string) error {
	cmds := commands()
	if parent != nil {
		cmds = parent.subcommands
	}
	name := args[0]
	if name == "help" || name == "h" {
		return a.help(parent, args[1:], parentPath)
	}
	cmd := findCommand(cmds, name)
	if cmd == nil {
		return errorExit(exitBadArgs, fmt.Errorf("unknown command %q (see '%s --help')", name, parentPath))
	}
	path := parentPath + " " + name
	in, err := parseCommand(cmd, path, args[1:])
	if err != nil {
		return usageError(err, path)
	}
	if in.Bool("help") {
		a.printCommandHelp(cmd, path)
		return nil
	}
	if len(cmd.subcommands) > 0 {
		if len(in.args) == 0 {
			a.printCommandHelp(cmd, path)
			return nil
		}
		return a.runCommand(g, cmd, in.args, path)
	}
	return cmd.run(a, g, in)
}

// usageError reports a bad option on one line. (etcdctl 2.3 prints
// "Incorrect Usage." and the whole help, and exits 0; we exit 1, the code
// etcdctl uses for bad arguments, so that scripts notice.)
func usageError(err error, path string) error {
	return errorExit(exitBadArgs, fmt.Errorf("%v (see '%s --help')", err, path))
}

// commands returns etcdctl's commands in the order help lists them.
func commands() []*command {
	return []*command{
		backupCommand(),
		clusterHealthCommand(),
		mkCommand(),
		mkdirCommand(),
		rmCommand(),
		rmdirCommand(),
		getCommand(),
		lsCommand(),
		setCommand(),
		setdirCommand(),
		updateCommand(),
		updatedirCommand(),
		watchCommand(),
		execWatchCommand(),
		memberCommand(),
		checkCommand(),
	}
}
