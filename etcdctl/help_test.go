package main

import (
	"strings"
	"testing"
)

func TestAppHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"--help"}, {"-h"}, {"help"}, {"h"}, {"-o", "json"}} {
		got := run(runOpts{}, args...)
		if got.code != 0 || got.stderr != "" || !strings.HasPrefix(got.stdout, "NAME:\n   etcdctl - ") {
			t.Fatalf("etcdctl %q: %+v", args, got)
		}
		for _, want := range []string{"USAGE:\n", "VERSION:\n   2.3.8\n", "COMMANDS:\n", "GLOBAL OPTIONS:\n"} {
			if !strings.Contains(got.stdout, want) {
				t.Errorf("etcdctl %q: no %q", args, want)
			}
		}
		for _, c := range commands() {
			if !strings.Contains(got.stdout, "\n   "+c.name+" ") {
				t.Errorf("etcdctl %q: command %s not listed", args, c.name)
			}
		}
		for _, o := range globalOptionList() {
			if !strings.Contains(got.stdout, optionNames(o)) {
				t.Errorf("etcdctl %q: option %s not listed", args, optionNames(o))
			}
		}
	}
}

// optionNames is how help shows an option's names.
func optionNames(o option) string {
	var names []string
	for _, n := range o.names {
		if len(n) == 1 {
			names = append(names, "-"+n)
		} else {
			names = append(names, "--"+n)
		}
	}
	return strings.Join(names, ", ")
}

// TestCommandHelp checks that "etcdctl <command> --help" (and the other
// ways to ask) lists every option of every command and subcommand.
func TestCommandHelp(t *testing.T) {
	var walk func(path []string, cmds []*command)
	walk = func(path []string, cmds []*command) {
		for _, c := range cmds {
			p := append(append([]string(nil), path...), c.name)
			for _, args := range [][]string{
				append(append([]string(nil), p...), "--help"),
				append(append([]string(nil), p...), "-h"),
				append([]string{"help"}, p...),
			} {
				got := run(runOpts{}, args...)
				want := "NAME:\n   etcdctl " + strings.Join(p, " ") + " - " + c.usage + "\n"
				if got.code != 0 || !strings.HasPrefix(got.stdout, want) {
					t.Errorf("etcdctl %q: %+v", args, got)
					continue
				}
				for _, o := range append(c.options, helpOption()) {
					if !strings.Contains(got.stdout, "\n   "+optionNames(o)) {
						t.Errorf("etcdctl %q: option %s not listed", args, optionNames(o))
					}
				}
				for _, sub := range c.subcommands {
					if !strings.Contains(got.stdout, "\n   "+sub.name+" ") {
						t.Errorf("etcdctl %q: subcommand %s not listed", args, sub.name)
					}
				}
			}
			walk(p, c.subcommands)
		}
	}
	walk(nil, commands())
	// A command with subcommands shows its help when none is given.
	if got := run(runOpts{}, "member"); got.code != 0 || !strings.HasPrefix(got.stdout, "NAME:\n   etcdctl member - ") {
		t.Errorf("etcdctl member: %+v", got)
	}
	if got := run(runOpts{}, "member", "help", "add"); got.code != 0 || !strings.HasPrefix(got.stdout, "NAME:\n   etcdctl member add - ") {
		t.Errorf("etcdctl member help add: %+v", got)
	}
}

func TestVersion(t *testing.T) {
	for _, f := range []string{"--version", "-v"} {
		check(t, run(runOpts{}, f), versionText(), "", 0)
	}
}

// TestBadUsage checks that every kind of bad command line gets one line on
// stderr and exit code 1, and that no request is sent.
func TestBadUsage(t *testing.T) {
	s := newStub(t)
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"foo"}, `unknown command "foo" (see 'etcdctl --help')`},
		{[]string{"member", "foo"}, `unknown command "foo" (see 'etcdctl member --help')`},
		{[]string{"help", "foo"}, `no help topic for "foo" (see 'etcdctl --help')`},
		{[]string{"help", "member", "foo"}, `no help topic for "foo" (see 'etcdctl member --help')`},
		{[]string{"--bogus", "get", "k"}, "flag provided but not defined: -bogus (see 'etcdctl --help')"},
		{[]string{"--timeout", "5", "get", "k"}, `invalid value "5" for flag -timeout: parse error (see 'etcdctl --help')`},
		{[]string{"--debug=maybe", "get", "k"}, `invalid boolean value "maybe" for -debug: parse error (see 'etcdctl --help')`},
		{[]string{"get", "--bogus", "k"}, "flag provided but not defined: -bogus (see 'etcdctl get --help')"},
		{[]string{"get", "k", "-o", "json"}, "flag provided but not defined: -o (see 'etcdctl get --help')"},
		{[]string{"set", "k", "v", "--ttl", "soon"}, `invalid value "soon" for flag -ttl: parse error (see 'etcdctl set --help')`},
		{[]string{"set", "--ttl"}, "flag needs an argument: -ttl (see 'etcdctl set --help')"},
		// Options move in front of the positionals: --ttl takes "k".
		{[]string{"set", "k", "v", "--ttl"}, `invalid value "k" for flag -ttl: parse error (see 'etcdctl set --help')`},
		{[]string{"member", "--bogus", "list"}, "flag provided but not defined: -bogus (see 'etcdctl member --help')"},
		{[]string{"member", "add", "--bogus"}, "flag provided but not defined: -bogus (see 'etcdctl member add --help')"},
		{[]string{"check", "perf", "--load"}, "flag needs an argument: -load (see 'etcdctl check perf --help')"},
	}
	for _, tt := range tests {
		check(t, run(runOpts{}, ep(s.URL, tt.args...)...), "", "Error:  "+tt.msg+"\n", exitBadArgs)
	}
	if reqs := s.got(); len(reqs) != 0 {
		t.Errorf("requests sent: %q", reqs)
	}
}
