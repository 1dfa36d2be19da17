package main

import (
	"slices"
	"strings"
	"testing"
)

func TestArrangeArgs(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"k", "v"}, []string{"k", "v"}},
		{[]string{"--ttl", "5", "k", "v"}, []string{"--ttl", "5", "k", "v"}},
		{[]string{"k", "v", "--ttl", "5"}, []string{"--ttl", "5", "k", "v"}},
		// Positionals on both sides of an option are reordered, as in etcdctl.
		{[]string{"a", "--ttl", "5", "b"}, []string{"--ttl", "5", "b", "a"}},
		{[]string{"--", "k", "-v"}, []string{"--", "k", "-v"}},
		{[]string{"k", "v", "--ttl", "5", "--", "-z"}, []string{"--ttl", "5", "k", "v", "--", "-z"}},
		{[]string{"key", "--", "sh", "-c", "x"}, []string{"key", "--", "sh", "-c", "x"}},
		{[]string{"key", "--recursive", "--", "sh", "-c"}, []string{"--recursive", "key", "--", "sh", "-c"}},
		{[]string{"-"}, []string{"-"}},
	}
	for _, tt := range tests {
		if got := arrangeArgs(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("arrangeArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseCommandOptions(t *testing.T) {
	cmd := &command{name: "x", options: []option{
		{names: []string{"ttl"}, kind: intFlag, def: "0"},
		{names: []string{"name", "n"}, kind: stringFlag, def: "dflt"},
		{names: []string{"on"}, kind: boolFlag},
		{names: []string{"wait"}, kind: durationFlag, def: "2s"},
	}}
	tests := []struct {
		args     []string
		ttl      int
		name     string
		on       bool
		wait     string
		rest     []string
		errMatch string
	}{
		{args: []string{"a"}, ttl: 0, name: "dflt", wait: "2s", rest: []string{"a"}},
		{args: []string{"a", "--ttl=0x10", "-n", "z", "--on", "--wait", "1m"}, ttl: 16, name: "z", on: true, wait: "1m0s", rest: []string{"a"}},
		{args: []string{"--name", "-v", "a"}, name: "-v", wait: "2s", rest: []string{"a"}},
		{args: []string{"--on=false", "a", "--", "--ttl"}, name: "dflt", wait: "2s", rest: []string{"a", "--", "--ttl"}},
		{args: []string{"--bogus"}, errMatch: "flag provided but not defined: -bogus"},
		{args: []string{"--ttl", "x"}, errMatch: `invalid value "x" for flag -ttl`},
		{args: []string{"--ttl"}, errMatch: "flag needs an argument: -ttl"},
	}
	for _, tt := range tests {
		in, err := parseCommand(cmd, "etcdctl x", tt.args)
		if tt.errMatch != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errMatch) {
				t.Errorf("parse %q: error %v, want one containing %q", tt.args, err, tt.errMatch)
			}
			continue
		}
		if err != nil {
			t.Errorf("parse %q: %v", tt.args, err)
			continue
		}
		if in.Int("ttl") != tt.ttl || in.String("name") != tt.name || in.String("n") != tt.name ||
			in.Bool("on") != tt.on || in.Duration("wait").String() != tt.wait || !slices.Equal(in.args, tt.rest) {
			t.Errorf("parse %q: ttl=%d name=%q on=%v wait=%v args=%q", tt.args, in.Int("ttl"), in.String("name"), in.Bool("on"), in.Duration("wait"), in.args)
		}
	}
}

// TestCommandTable checks that every option of every command has a name,
// a valid default and a line of help, and that names do not clash.
func TestCommandTable(t *testing.T) {
	var walk func(path string, cmds []*command)
	walk = func(path string, cmds []*command) {
		seen := map[string]bool{}
		for _, c := range cmds {
			p := path + " " + c.name
			if seen[c.name] || c.name == "help" || c.name == "h" {
				t.Errorf("%s: duplicate or reserved command name", p)
			}
			seen[c.name] = true
			if c.usage == "" {
				t.Errorf("%s: no usage line", p)
			}
			if (c.run == nil) == (len(c.subcommands) == 0) {
				t.Errorf("%s: needs either an action or subcommands", p)
			}
			if _, err := newFlagSet(p, append([]option{helpOption()}, c.options...)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
			for _, o := range c.options {
				if len(o.names) == 0 || o.usage == "" {
					t.Errorf("%s: option %q lacks a name or help", p, o.names)
				}
			}
			walk(p, c.subcommands)
		}
	}
	walk("etcdctl", commands())
	if _, err := newFlagSet("etcdctl", globalOptionList()); err != nil {
		t.Errorf("global options: %v", err)
	}
}
