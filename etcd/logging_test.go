package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestLogger() (*slog.Logger, *logHandler, *bytes.Buffer) {
	var buf bytes.Buffer
	h := newLogHandler(&buf, fixedNow)
	return slog.New(h), h, &buf
}

func TestLogLineFormat(t *testing.T) {
	log, h, buf := newTestLogger()
	h.setLevels(levelTrace, nil)
	ctx := context.Background()
	log.Log(ctx, levelTrace, "t")
	log.Debug("d")
	log.Info("i")
	log.Log(ctx, levelNotice, "n")
	log.Warn("w")
	log.Error("e")
	log.Log(ctx, levelCritical, "c")
	log.With(pkgKey, "etcdserver").Info("name = default")
	log.Info("etcd Version: 2.2.5", pkgKey, "etcdmain")
	log.Info("ends with a newline\n")
	want := withStamps([]string{
		"T | etcdmain: t",
		"D | etcdmain: d",
		"I | etcdmain: i",
		"N | etcdmain: n",
		"W | etcdmain: w",
		"E | etcdmain: e",
		"C | etcdmain: c",
		"I | etcdserver: name = default",
		"I | etcdmain: etcd Version: 2.2.5",
		"I | etcdmain: ends with a newline",
	})
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestLevelLetter(t *testing.T) {
	tests := []struct {
		l    slog.Level
		want byte
	}{
		{-100, 'T'}, {levelTrace, 'T'}, {-5, 'T'}, {levelDebug, 'D'}, {-1, 'D'},
		{levelInfo, 'I'}, {1, 'I'}, {levelNotice, 'N'}, {3, 'N'}, {levelWarning, 'W'},
		{levelError, 'E'}, {11, 'E'}, {levelCritical, 'C'}, {100, 'C'},
	}
	for _, tt := range tests {
		if got := levelLetter(tt.l); got != tt.want {
			t.Errorf("levelLetter(%d) = %c, want %c", tt.l, got, tt.want)
		}
	}
}

type stringer struct{}

func (stringer) String() string { return "from String" }

func TestLogAttributes(t *testing.T) {
	log, _, buf := newTestLogger()
	tests := []struct {
		log  func()
		want string
	}{
		{func() { log.Info("m", "k", "v", "n", 3) }, "I | etcdmain: m k=v n=3"},
		{func() { log.Info("m", "k", "two words", "e", "") }, `I | etcdmain: m k="two words" e=""`},
		{func() { log.Info("m", "k", `a="b"`, "nl", "x\ny") }, `I | etcdmain: m k="a=\"b\"" nl="x\ny"`},
		{func() { log.Info("m", "d", 1500*time.Millisecond, "ok", true) }, "I | etcdmain: m d=1.5s ok=true"},
		{func() { log.Info("m", "err", errors.New("no such file")) }, `I | etcdmain: m err="no such file"`},
		{func() { log.Info("m", "s", stringer{}) }, `I | etcdmain: m s="from String"`},
		{func() { log.Info("m", "at", time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)) }, "I | etcdmain: m at=2020-01-02T03:04:05.000000006Z"},
		{func() { log.Info("m", slog.Group("peer", "id", "8e9e05c52164694d", "n", 1)) }, "I | etcdmain: m peer.id=8e9e05c52164694d peer.n=1"},
		{func() { log.Info("m", slog.Group("empty")) }, "I | etcdmain: m"},
		{func() { log.Info("m", slog.Attr{}) }, "I | etcdmain: m"},
		{func() { log.With("member", "a").Info("m", "x", 1) }, "I | etcdmain: m member=a x=1"},
		{func() { log.With(pkgKey, "raft", "term", 2).With("lead", "b").Info("m") }, "I | raft: m term=2 lead=b"},
		{func() { log.WithGroup("g").Info("m", "k", 1, pkgKey, "in-group") }, "I | etcdmain: m g.k=1 g.pkg=in-group"},
		{func() { log.WithGroup("g").With(pkgKey, "grouped").WithGroup("h").Info("m", "k", 1) }, "I | etcdmain: m g.pkg=grouped g.h.k=1"},
		{func() { log.WithGroup("").Info("m", "k", 1) }, "I | etcdmain: m k=1"},
		{func() { log.With(pkgKey, "a").Info("m", pkgKey, "b") }, "I | b: m"},
		{func() { log.Info("m", slog.Any("lazy", slog.AnyValue(slog.IntValue(7)))) }, "I | etcdmain: m lazy=7"},
	}
	for i, tt := range tests {
		buf.Reset()
		tt.log()
		if got, want := buf.String(), stamp+tt.want+"\n"; got != want {
			t.Errorf("case %d: got %q, want %q", i, got, want)
		}
	}
}

func TestParseLogLevel(t *testing.T) {
	tests := []struct {
		in   []string
		want slog.Level
	}{
		{[]string{"CRITICAL", "C"}, levelCritical},
		{[]string{"ERROR", "E", "0"}, levelError},
		{[]string{"WARNING", "W", "1"}, levelWarning},
		{[]string{"NOTICE", "N", "2"}, levelNotice},
		{[]string{"INFO", "I", "3"}, levelInfo},
		{[]string{"DEBUG", "D", "4"}, levelDebug},
		{[]string{"TRACE", "T", "5"}, levelTrace},
	}
	for _, tt := range tests {
		for _, s := range tt.in {
			got, err := parseLogLevel(s)
			if err != nil || got != tt.want {
				t.Errorf("parseLogLevel(%q) = %v, %v; want %v", s, got, err, tt.want)
			}
		}
	}
	for _, bad := range []string{"", "debug", "Info", "6", "-1", "WARN", "X"} {
		if _, err := parseLogLevel(bad); err == nil {
			t.Errorf("parseLogLevel(%q) accepted", bad)
		}
	}
}

func TestParseLogPackageLevels(t *testing.T) {
	got, err := parseLogPackageLevels("etcdserver=DEBUG,*=W,raft=5")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]slog.Level{"etcdserver": levelDebug, "*": levelWarning, "raft": levelTrace}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	bad := []struct{ in, err string }{
		{"etcdmain", `"etcdmain" is not of the form package=LEVEL`},
		{"a=I,b", `"b" is not of the form package=LEVEL`},
		{"a=I,", `"" is not of the form package=LEVEL`},
		{"a=b=c", `"a=b=c" is not of the form package=LEVEL`},
		{"etcdmain=debug", `unknown log level "debug" (want CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG or TRACE, their first letters, or 0 to 5 for ERROR to TRACE)`},
	}
	for _, tt := range bad {
		if _, err := parseLogPackageLevels(tt.in); err == nil || err.Error() != tt.err {
			t.Errorf("parseLogPackageLevels(%q) error %v, want %q", tt.in, err, tt.err)
		}
	}
}

func TestSetupLogging(t *testing.T) {
	tests := []struct {
		name      string
		debug     bool
		pkgLevels string
		shown     string // letters of the lines written, per package, see below
		warning   string
	}{
		// Each case logs D, I, N and W lines from etcdmain, etcdserver and raft.
		{name: "default", shown: "etcdmain:INW etcdserver:INW raft:INW"},
		{name: "debug", debug: true, shown: "etcdmain:DINW etcdserver:DINW raft:DINW"},
		{name: "one package", pkgLevels: "etcdserver=DEBUG", shown: "etcdmain:INW etcdserver:DINW raft:INW"},
		{name: "star", pkgLevels: "*=W", shown: "etcdmain:W etcdserver:W raft:W"},
		{name: "star then package", pkgLevels: "*=E,etcdmain=I", shown: "etcdmain:INW etcdserver: raft:"},
		{name: "package then star", pkgLevels: "etcdmain=E,*=I", shown: "etcdmain: etcdserver:INW raft:INW"},
		{name: "digits", pkgLevels: "raft=2", shown: "etcdmain:INW etcdserver:INW raft:NW"},
		{name: "unknown package", pkgLevels: "nosuch=D", shown: "etcdmain:INW etcdserver:INW raft:INW"},
		{name: "debug and packages", debug: true, pkgLevels: "raft=W", shown: "etcdmain:DINW etcdserver:DINW raft:W"},
		{
			name: "bad string keeps the defaults", pkgLevels: "etcdmain=debug", shown: "etcdmain:INW etcdserver:INW raft:INW",
			warning: `W | etcdmain: cannot use --log-package-levels "etcdmain=debug": unknown log level "debug" (want CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG or TRACE, their first letters, or 0 to 5 for ERROR to TRACE); keeping the default levels`,
		},
		{
			name: "bad string keeps --debug", debug: true, pkgLevels: "a=I,b", shown: "etcdmain:DINW etcdserver:DINW raft:DINW",
			warning: `W | etcdmain: cannot use --log-package-levels "a=I,b": "b" is not of the form package=LEVEL; keeping the default levels`,
		},
	}
	for _, tt := range tests {
		log, h, buf := newTestLogger()
		h.setLevels(levelCritical, nil) // setupLogging must replace whatever was there
		setupLogging(h, log, tt.debug, tt.pkgLevels)
		warning := strings.TrimSuffix(strings.TrimPrefix(buf.String(), stamp), "\n")
		if warning != tt.warning {
			t.Errorf("%s: warning %q, want %q", tt.name, warning, tt.warning)
		}
		var shown []string
		for _, pkg := range []string{"etcdmain", "etcdserver", "raft"} {
			buf.Reset()
			for _, l := range []slog.Level{levelDebug, levelInfo, levelNotice, levelWarning} {
				log.With(pkgKey, pkg).Log(context.Background(), l, "x")
			}
			letters := ""
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if line != "" {
					letters += string(line[len(stamp)])
				}
			}
			shown = append(shown, pkg+":"+letters)
		}
		if got := strings.Join(shown, " "); got != tt.shown {
			t.Errorf("%s: shown %q, want %q", tt.name, got, tt.shown)
		}
	}
}

func TestLogLevelPerRecordPackage(t *testing.T) {
	log, h, buf := newTestLogger()
	h.setLevels(levelWarning, map[string]slog.Level{"raft": levelDebug})
	if !h.Enabled(context.Background(), levelDebug) {
		t.Fatal("a handler without a package must let DEBUG through to Handle, since raft wants it")
	}
	log.Debug("kept", pkgKey, "raft")
	log.Debug("dropped", pkgKey, "etcdserver")
	log.Debug("dropped too")
	log.Warn("kept too")
	want := withStamps([]string{"D | raft: kept", "W | etcdmain: kept too"})
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if h.WithAttrs([]slog.Attr{slog.String(pkgKey, "etcdserver")}).Enabled(context.Background(), levelInfo) {
		t.Error("etcdserver at WARNING is enabled for INFO")
	}
}

func TestLogSharedLevels(t *testing.T) {
	log, h, buf := newTestLogger()
	child := log.With(pkgKey, "etcdserver")
	h.setLevels(levelError, nil)
	child.Warn("hidden")
	if buf.Len() != 0 {
		t.Fatalf("a derived logger ignored new levels: %q", buf.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLogWriteError(t *testing.T) {
	h := newLogHandler(failingWriter{}, fixedNow)
	r := slog.NewRecord(time.Time{}, levelInfo, "m", 0)
	if err := h.Handle(context.Background(), r); err == nil || err.Error() != "disk full" {
		t.Fatalf("Handle error = %v", err)
	}
}

func TestLogDefaultClock(t *testing.T) {
	var buf bytes.Buffer
	before := time.Now().Truncate(time.Microsecond)
	slog.New(newLogHandler(&buf, nil)).Info("m")
	after := time.Now()
	stamped, err := time.ParseInLocation(logTimeLayout, buf.String()[:len(logTimeLayout)], time.Local)
	if err != nil {
		t.Fatal(err)
	}
	if stamped.Before(before) || stamped.After(after) {
		t.Errorf("time stamp %v not between %v and %v", stamped, before, after)
	}
}

// TestLogConcurrent checks that lines written at the same time never mix
// (run with -race to check the handler's locking too).
func TestLogConcurrent(t *testing.T) {
	log, h, buf := newTestLogger()
	const goroutines, lines = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With(pkgKey, fmt.Sprintf("pkg%d", g))
			for i := range lines {
				l.Info("line", "i", i)
				if i == lines/2 {
					h.setLevels(levelInfo, map[string]slog.Level{"other": levelDebug})
				}
			}
		}()
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(got) != goroutines*lines {
		t.Fatalf("%d lines, want %d", len(got), goroutines*lines)
	}
	seen := map[string]bool{}
	for _, line := range got {
		var g, i int
		if _, err := fmt.Sscanf(line, stamp+"I | pkg%d: line i=%d", &g, &i); err != nil {
			t.Fatalf("mixed line %q: %v", line, err)
		}
		seen[line] = true
	}
	if len(seen) != goroutines*lines {
		t.Fatalf("%d distinct lines, want %d", len(seen), goroutines*lines)
	}
}
