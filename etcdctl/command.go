package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// flagKind says what kind of value an option takes.
type flagKind int

const (
	boolFlag flagKind = iota
	intFlag
	stringFlag
	durationFlag
)

// option describes one command-line option: its names (the first is the
// main one, the others are aliases such as "o" for "output"), the kind of
// value it takes, its default as text, and a line of help.
type option struct {
	names []string
	kind  flagKind
	def   string
	usage string
}

// helpOption returns the --help/-h option every command accepts.
func helpOption() option {
	return option{names: []string{"help", "h"}, kind: boolFlag, usage: "show help for this command"}
}

// command is one etcdctl command (set, member, ...) or subcommand
// (member add, check perf, ...). A command either runs an action or
// dispatches to its subcommands.
type command struct {
	name        string
	usage       string // one line, shown in the command list
	argsUsage   string // the positional arguments, e.g. "<key> <value>"
	description string // longer help text, may be empty
	options     []option
	subcommands []*command
	run         func(a *app, g *globalOptions, in *invocation) error
}

// invocation is one parsed command line of a command: the values of its
// options and its positional arguments.
type invocation struct {
	cmd  *command
	path string // "member add": the words that named the command
	fs   *flag.FlagSet
	args []string
}

// Bool returns the value of a boolean option of the invocation.
func (in *invocation) Bool(name string) bool { return in.value(name).(bool) }

// Int returns the value of an integer option of the invocation.
func (in *invocation) Int(name string) int { return in.value(name).(int) }

// String returns the value of a string option of the invocation.
func (in *invocation) String(name string) string { return in.value(name).(string) }

// Duration returns the value of a duration option of the invocation.
func (in *invocation) Duration(name string) time.Duration { return in.value(name).(time.Duration) }

// value looks up an option by name. Asking for an option the command does
// not declare is a programming error, caught by the tests.
func (in *invocation) value(name string) any {
	f := in.fs.Lookup(name)
	if f == nil {
		panic("etcdctl: command " + in.path + " has no option " + name)
	}
	return f.Value.(flag.Getter).Get()
}

// newFlagSet registers options on a fresh flag set that reports errors
// instead of printing them. Every alias of an option shares one variable.
func newFlagSet(name string, opts []option) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, o := range opts {
		switch o.kind {
		case boolFlag:
			v := new(bool)
			for _, n := range o.names {
				fs.BoolVar(v, n, o.def == "true", o.usage)
			}
		case intFlag:
			v := new(int)
			def := 0
			if o.def != "" {
				if _, err := fmt.Sscan(o.def, &def); err != nil {
					return nil, fmt.Errorf("etcdctl: bad default %q for option %s", o.def, o.names[0])
				}
			}
			for _, n := range o.names {
				fs.IntVar(v, n, def, o.usage)
			}
		case stringFlag:
			v := new(string)
			for _, n := range o.names {
				fs.StringVar(v, n, o.def, o.usage)
			}
		case durationFlag:
			v := new(time.Duration)
			def, err := time.ParseDuration(o.def)
			if err != nil {
				return nil, fmt.Errorf("etcdctl: bad default %q for option %s", o.def, o.names[0])
			}
			for _, n := range o.names {
				fs.DurationVar(v, n, def, o.usage)
			}
		}
	}
	return fs, nil
}

// arrangeArgs applies etcdctl's rule for where command options may go.
// Everything from the first argument that starts with "-" up to a "--"
// is taken as options and moved in front; the positional arguments that
// came before it follow, then "--" and whatever comes after it. So
// "set k v --ttl 5" works, and "set -- k -v" sets k to "-v". A side effect
// etcdctl has too: positionals on both sides of an option are reordered,
// "set a --ttl 5 b" sets key b to the value a.
func arrangeArgs(args []string) []string {
	firstFlag, terminator := -1, -1
	for i, arg := range args {
		if arg == "--" {
			terminator = i
			break
		}
		if strings.HasPrefix(arg, "-") && firstFlag == -1 {
			firstFlag = i
		}
	}
	if firstFlag == -1 {
		return args
	}
	var flagArgs []string
	regular := append([]string(nil), args[:firstFlag]...)
	if terminator > -1 {
		flagArgs = args[firstFlag:terminator]
		regular = append(regular, args[terminator:]...)
	} else {
		flagArgs = args[firstFlag:]
	}
	return append(append([]string(nil), flagArgs...), regular...)
}

// parseCommand parses the arguments that follow a command's name.
func parseCommand(cmd *command, path string, args []string) (*invocation, error) {
	opts := append([]option{helpOption()}, cmd.options...)
	fs, err := newFlagSet(path, opts)
	if err != nil {
		return nil, err
	}
	if len(cmd.subcommands) > 0 {
		// A command with subcommands takes only --help before the
		// subcommand's name; the subcommand parses the rest itself.
		err = fs.Parse(args)
	} else {
		err = fs.Parse(arrangeArgs(args))
	}
	if err != nil {
		return nil, err
	}
	return &invocation{cmd: cmd, path: path, fs: fs, args: fs.Args()}, nil
}

// findCommand returns the command of the given name, or nil.
func findCommand(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}
