package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printAppHelp prints the overview: name, usage, version, the commands and
// the global options.
func (a *app) printAppHelp() {
	w := a.stdout
	fmt.Fprintf(w, "NAME:\n   etcdctl - a command line client for the etcd v2 API\n\n")
	fmt.Fprintf(w, "USAGE:\n   etcdctl [global options] command [command options] [arguments...]\n\n")
	fmt.Fprintf(w, "VERSION:\n   %s\n\n", version)
	fmt.Fprintf(w, "COMMANDS:\n")
	printCommandList(w, commands())
	fmt.Fprintf(w, "\nGLOBAL OPTIONS:\n")
	printOptions(w, globalOptionList())
	fmt.Fprintf(w, "\nRun 'etcdctl <command> --help' for the options of a command.\n")
}

// printCommandHelp prints the help of one command: name, usage,
// description, its subcommands if it has any, and its options.
func (a *app) printCommandHelp(cmd *command, path string) {
	w := a.stdout
	fmt.Fprintf(w, "NAME:\n   %s - %s\n\n", path, cmd.usage)
	fmt.Fprintf(w, "USAGE:\n")
	switch {
	case len(cmd.subcommands) > 0:
		fmt.Fprintf(w, "   %s command [command options] [arguments...]\n", path)
	default:
		line := path + " [command options]"
		if cmd.argsUsage != "" {
			line += " " + cmd.argsUsage
		}
		fmt.Fprintf(w, "   %s\n", line)
	}
	if cmd.description != "" {
		fmt.Fprintf(w, "\nDESCRIPTION:\n")
		for _, line := range strings.Split(strings.TrimRight(cmd.description, "\n"), "\n") {
			if line == "" {
				fmt.Fprintln(w)
				continue
			}
			fmt.Fprintf(w, "   %s\n", line)
		}
	}
	if len(cmd.subcommands) > 0 {
		fmt.Fprintf(w, "\nCOMMANDS:\n")
		printCommandList(w, cmd.subcommands)
	}
	fmt.Fprintf(w, "\nOPTIONS:\n")
	printOptions(w, append(append([]option(nil), cmd.options...), helpOption()))
}

// printCommandList prints one line per command, then the help command.
func printCommandList(w io.Writer, cmds []*command) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "   %s\t%s\n", c.name, c.usage)
	}
	fmt.Fprintf(tw, "   %s\t%s\n", "help, h", "show the list of commands, or the help of one command")
	tw.Flush()
}

// printOptions prints one line per option: its names, its default when it
// has one, and what it does.
func printOptions(w io.Writer, opts []option) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, o := range opts {
		names := make([]string, len(o.names))
		for i, n := range o.names {
			if len(n) == 1 {
				names[i] = "-" + n
			} else {
				names[i] = "--" + n
			}
		}
		col := strings.Join(names, ", ")
		if o.kind != boolFlag && o.def != "" {
			col += fmt.Sprintf(" %q", o.def)
		}
		fmt.Fprintf(tw, "   %s\t%s\n", col, o.usage)
	}
	tw.Flush()
}

// help runs the help command. With no argument it prints the help of the
// command it was given under (the overview for etcdctl itself, the help
// of member for "etcdctl member help"); with a command name, that
// command's help, going down into subcommands ("help member add").
func (a *app) help(parent *command, args []string, parentPath string) error {
	if len(args) == 0 {
		if parent == nil {
			a.printAppHelp()
		} else {
			a.printCommandHelp(parent, parentPath)
		}
		return nil
	}
	cmds := commands()
	if parent != nil {
		cmds = parent.subcommands
	}
	cmd := findCommand(cmds, args[0])
	if cmd == nil {
		return errorExit(exitBadArgs, fmt.Errorf("no help topic for %q (see '%s --help')", args[0], parentPath))
	}
	path := parentPath + " " + cmd.name
	if len(args) > 1 && len(cmd.subcommands) > 0 {
		return a.help(cmd, args[1:], path)
	}
	a.printCommandHelp(cmd, path)
	return nil
}
