package main

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for the command exec-watch runs:
// with ETCDCTL_TEST_CHILD set it prints what it was given and exits.
func TestMain(m *testing.M) {
	if os.Getenv("ETCDCTL_TEST_CHILD") == "1" {
		fmt.Printf("action=%s index=%s key=%s value=%q args=%q\n",
			os.Getenv("ETCD_WATCH_ACTION"), os.Getenv("ETCD_WATCH_MODIFIED_INDEX"),
			os.Getenv("ETCD_WATCH_KEY"), os.Getenv("ETCD_WATCH_VALUE"), os.Args[1:])
		fmt.Fprintln(os.Stderr, "child stderr")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// interruptOn returns an answer that presses Ctrl-C and then waits for the
// client to give up, so that the interrupt always lands during a request.
func interruptOn(ch chan os.Signal) answer {
	return answer{handler: func(w http.ResponseWriter, r *http.Request) {
		ch <- os.Interrupt
		<-r.Context().Done()
	}}
}

const (
	eventSetA    = `{"action":"set","node":{"key":"/d/a","value":"1","modifiedIndex":10,"createdIndex":10}}`
	eventMkdir   = `{"action":"create","node":{"key":"/d/sub","dir":true,"modifiedIndex":11,"createdIndex":11}}`
	eventDeleteA = `{"action":"delete","node":{"key":"/d/a","modifiedIndex":12,"createdIndex":10},"prevNode":{"key":"/d/a","value":"1","modifiedIndex":10,"createdIndex":10}}`
)

func TestWatchForever(t *testing.T) {
	intr := make(chan os.Signal, 1)
	s := newStub(t).on("GET /v2/keys/d",
		keys(200, 9, eventSetA),
		keys(200, 9, eventMkdir), // directories are skipped
		answer{status: 200},      // an empty answer is asked again
		keys(200, 9, eventDeleteA),
		interruptOn(intr),
	)
	got := run(runOpts{interrupt: intr}, ep(s.URL, "--no-sync", "watch", "--forever", "--recursive", "d")...)
	check(t, got, "[set] /d/a\n1\n[delete] /d/a\nPrevNode.Value: 1\n", "", 0)
	want := []string{
		"GET /v2/keys/d?recursive=true&wait=true&waitIndex=0",
		"GET /v2/keys/d?recursive=true&wait=true&waitIndex=11",
		"GET /v2/keys/d?recursive=true&wait=true&waitIndex=12",
		"GET /v2/keys/d?recursive=true&wait=true&waitIndex=12",
		"GET /v2/keys/d?recursive=true&wait=true&waitIndex=13",
	}
	if !slices.Equal(s.got(), want) {
		t.Errorf("requests:\n%q\nwant\n%q", s.got(), want)
	}
}

func TestWatchStopsAfterOneEvent(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/d", keys(200, 9, eventMkdir), keys(200, 9, eventSetA))
	got := run(runOpts{}, ep(s.URL, "--no-sync", "-o", "json", "watch", "--after-index", "9", "d")...)
	check(t, got, `{"action":"set","node":{"key":"/d/a","value":"1","nodes":null,"createdIndex":10,"modifiedIndex":10},"prevNode":null}`+"\n", "", 0)
	if len(s.got()) != 2 || !strings.HasSuffix(s.got()[0], "waitIndex=10") {
		t.Errorf("requests %q", s.got())
	}
}

func TestWatchInterruptedBeforeAnyEvent(t *testing.T) {
	intr := make(chan os.Signal, 1)
	s := newStub(t).on("GET /v2/keys/k", interruptOn(intr))
	check(t, run(runOpts{interrupt: intr}, ep(s.URL, "watch", "k")...), "", "", 0)
}

func TestWatchServerGone(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/k", keys(200, 9, eventSetA), answer{status: 503, body: "x"})
	got := run(runOpts{}, ep(s.URL, "--no-sync", "watch", "--forever", "k")...)
	check(t, got, "1\n", "Error:  client: etcd cluster is unavailable or misconfigured\nerror #0: client: etcd member "+s.URL+" has no leader\n\n", exitServerError)
}

// execWatch runs exec-watch with the test binary as the command.
func execWatch(t *testing.T, s *stubEtcd, intr chan os.Signal, args ...string) result {
	t.Helper()
	return run(runOpts{interrupt: intr, environ: []string{"ETCDCTL_TEST_CHILD=1"}},
		ep(s.URL, append([]string{"--no-sync", "exec-watch"}, args...)...)...)
}

// sortedLines sorts the lines of s: the commands run concurrently.
func sortedLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "")
}

func TestExecWatch(t *testing.T) {
	child := os.Args[0]
	for _, form := range []struct {
		name string
		args []string
	}{
		{"key first", []string{"--recursive", "d", "--", child, "one", "-x"}},
		{"options after the key", []string{"d", "--recursive", "--", child, "one", "-x"}},
		{"key last", []string{"--recursive", child, "one", "x", "d"}},
	} {
		t.Run(form.name, func(t *testing.T) {
			intr := make(chan os.Signal, 1)
			s := newStub(t).on("GET /v2/keys/d", keys(200, 9, eventSetA), keys(200, 9, eventMkdir), keys(200, 9, eventDeleteA), interruptOn(intr))
			got := execWatch(t, s, intr, form.args...)
			args := `["one" "-x"]`
			if form.name == "key last" {
				args = `["one" "x"]`
			}
			wantOut := sortedLines("action=set index=10 key=/d/a value=\"1\" args=" + args + "\n" +
				"action=delete index=12 key=/d/a value=\"\" args=" + args + "\n")
			if sortedLines(got.stdout) != wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", got.stdout, wantOut)
			}
			if strings.Count(got.stderr, "child stderr\n") != 2 || !strings.Contains(got.stderr, "Ignored dir /d/sub change") {
				t.Errorf("stderr %q", got.stderr)
			}
			if got.code != 0 {
				t.Errorf("exit code %d", got.code)
			}
		})
	}
}

func TestExecWatchAfterIndexStartsTwoLater(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/d", answer{status: 400, header: map[string]string{"X-Etcd-Index": "50"},
		body: `{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [12/9]","index":50}`})
	got := execWatch(t, s, nil, "--after-index", "7", "d", "--", os.Args[0])
	check(t, got, "", "Error:  401: The event in requested index is outdated and cleared (the requested history has been cleared [12/9]) [50]\n", exitServerError)
	if !slices.Equal(s.got(), []string{"GET /v2/keys/d?recursive=false&wait=true&waitIndex=9"}) {
		t.Errorf("requests %q", s.got())
	}
}

func TestExecWatchCommandFails(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/d", keys(200, 9, eventSetA))
	got := execWatch(t, s, nil, "d", "--", "/nonexistent/command")
	// No newline, as etcdctl prints it.
	check(t, got, "", "fork/exec /nonexistent/command: no such file or directory", exitBadArgs)
}

func TestExecWatchArgs(t *testing.T) {
	tests := []struct {
		args []string
		key  string
		argv []string
		ok   bool
	}{
		{[]string{"k", "--", "cmd", "a"}, "k", []string{"cmd", "a"}, true},
		{[]string{"cmd", "a", "k"}, "k", []string{"cmd", "a"}, true},
		// Whatever follows a later "--" starts at the third argument, as in etcdctl.
		{[]string{"k", "x", "--", "cmd"}, "k", []string{"--", "cmd"}, true},
		{[]string{"--", "cmd", "k"}, "k", []string{"--", "cmd"}, true},
		{[]string{"k"}, "", nil, false},
		{[]string{"k", "--"}, "", nil, false}, // etcdctl 2.3.8 crashes at the first event here
	}
	for _, tt := range tests {
		key, argv, err := execWatchArgs(tt.args)
		if (err == nil) != tt.ok || key != tt.key || !slices.Equal(argv, tt.argv) {
			t.Errorf("execWatchArgs(%q) = %q, %q, %v", tt.args, key, argv, err)
		}
	}
	s := newStub(t)
	check(t, run(runOpts{}, ep(s.URL, "exec-watch", "k", "--")...), "", "Error:  key and command to exec required\n", exitBadArgs)
}
