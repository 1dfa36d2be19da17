package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// The seven levels etcd logs at. slog names four of them; NOTICE, CRITICAL
// and TRACE sit between and around them. A CRITICAL line is followed by exit
// status 1; the caller, not the handler, exits.
const (
	levelTrace    = slog.Level(-8)
	levelDebug    = slog.LevelDebug // -4
	levelInfo     = slog.LevelInfo  // 0
	levelNotice   = slog.Level(2)
	levelWarning  = slog.LevelWarn  // 4
	levelError    = slog.LevelError // 8
	levelCritical = slog.Level(12)
)

// pkgKey is the attribute that names the package a line comes from, as in
// logger.With(pkgKey, "etcdserver"). Lines without it are from defaultLogPkg.
const (
	pkgKey        = "pkg"
	defaultLogPkg = "etcdmain"
)

// logTimeLayout is the time stamp every line starts with, local time with
// microseconds.
const logTimeLayout = "2006-01-02 15:04:05.000000"

// levelLetter returns the one-letter name of the etcd level l falls in: the
// highest level that is not above l.
func levelLetter(l slog.Level) byte {
	switch {
	case l >= levelCritical:
		return 'C'
	case l >= levelError:
		return 'E'
	case l >= levelWarning:
		return 'W'
	case l >= levelNotice:
		return 'N'
	case l >= levelInfo:
		return 'I'
	case l >= levelDebug:
		return 'D'
	}
	return 'T'
}

// logHandler is a slog.Handler that writes etcd's log format, one line per
// record:
//
//	2016-06-10 16:53:22.042458 I | etcdserver: message key=value ...
//
// The package comes from a "pkg" attribute (given to With or to the call);
// other attributes follow the message as key=value, keys inside groups
// written group.key, values quoted when they hold spaces or other special
// characters. Each package has a minimum level (see setLevels). The line is
// stamped with the handler's clock, not the record's time, so tests can fix
// it. A logHandler and everything derived from it with With and WithGroup
// share one writer, one clock and one level table, and are safe for
// concurrent use: each line is written with a single Write under a lock.
type logHandler struct {
	sink   *logSink
	pkg    string // "" means not given
	attrs  string // preformatted " k=v" pairs from WithAttrs
	groups string // open group names, each followed by '.'
}

type logSink struct {
	mu     sync.Mutex
	w      io.Writer
	now    func() time.Time
	levels atomic.Pointer[logLevels]
}

// logLevels is an immutable table of minimum levels: one per package named
// in pkgs, base for every other package.
type logLevels struct {
	base slog.Level
	pkgs map[string]slog.Level
	min  slog.Level // the lowest level in the table
}

func (t *logLevels) forPkg(pkg string) slog.Level {
	if l, ok := t.pkgs[pkg]; ok {
		return l
	}
	return t.base
}

// newLogHandler returns a handler writing to w with INFO as every package's
// level. now is the clock for time stamps (time.Now when nil).
func newLogHandler(w io.Writer, now func() time.Time) *logHandler {
	if now == nil {
		now = time.Now
	}
	s := &logSink{w: w, now: now}
	h := &logHandler{sink: s}
	h.setLevels(levelInfo, nil)
	return h
}

// setLevels replaces the level table shared by h and every handler derived
// from it: base for all packages, except those listed in pkgs.
func (h *logHandler) setLevels(base slog.Level, pkgs map[string]slog.Level) {
	t := &logLevels{base: base, pkgs: make(map[string]slog.Level, len(pkgs)), min: base}
	for p, l := range pkgs {
		t.pkgs[p] = l
		t.min = min(t.min, l)
	}
	h.sink.levels.Store(t)
}

// Enabled reports whether a record at level l may be written. When the
// handler does not know its package yet (it may come with the record), it
// answers for the lowest level of any package and Handle decides.
func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool {
	t := h.sink.levels.Load()
	if h.pkg == "" {
		return l >= t.min
	}
	return l >= t.forPkg(h.pkg)
}

// Handle formats r as one line and writes it, unless r's package is set to a
// level above r's.
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	pkg := h.pkg
	var extra strings.Builder
	r.Attrs(func(a slog.Attr) bool {
		if h.groups == "" && a.Key == pkgKey {
			pkg = a.Value.Resolve().String()
			return true
		}
		appendAttr(&extra, h.groups, a)
		return true
	})
	if pkg == "" {
		pkg = defaultLogPkg
	}
	if r.Level < h.sink.levels.Load().forPkg(pkg) {
		return nil
	}

	var b strings.Builder
	b.WriteString(h.sink.now().Format(logTimeLayout))
	b.WriteByte(' ')
	b.WriteByte(levelLetter(r.Level))
	b.WriteString(" | ")
	b.WriteString(pkg)
	b.WriteString(": ")
	b.WriteString(strings.TrimSuffix(r.Message, "\n"))
	b.WriteString(h.attrs)
	b.WriteString(extra.String())
	b.WriteByte('\n')

	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	_, err := io.WriteString(h.sink.w, b.String())
	return err
}

// WithAttrs returns a handler that adds attrs to every line; a top-level
// "pkg" attribute sets the package instead.
func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		if h.groups == "" && a.Key == pkgKey {
			c.pkg = a.Value.Resolve().String()
			continue
		}
		appendAttr(&b, h.groups, a)
	}
	c.attrs = b.String()
	return &c
}

// WithGroup returns a handler that writes later attributes as name.key.
func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups = h.groups + name + "."
	return &c
}

// appendAttr writes " prefix+key=value" for a, and one such pair per member
// of a group value. Empty attributes and empty groups write nothing.
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		sub := prefix
		if a.Key != "" {
			sub = prefix + a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, sub, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(quoteIfNeeded(prefix + a.Key))
	b.WriteByte('=')
	b.WriteString(quoteIfNeeded(formatValue(a.Value)))
}

func formatValue(v slog.Value) string {
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
		if s, ok := v.Any().(fmt.Stringer); ok {
			return s.String()
		}
	}
	return v.String()
}

// quoteIfNeeded quotes s (Go syntax) when it is empty or holds white space,
// '=', '"', control characters or invalid UTF-8, so key=value pairs stay
// readable and unambiguous.
func quoteIfNeeded(s string) string {
	if s == "" || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == '=' || r == '"' || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// parseLogLevel parses one level as --log-package-levels writes it: the
// name, its letter, or for ERROR to TRACE the digits 0 to 5. Upper case only,
// as in etcd.
func parseLogLevel(s string) (slog.Level, error) {
	switch s {
	case "CRITICAL", "C":
		return levelCritical, nil
	case "ERROR", "E", "0":
		return levelError, nil
	case "WARNING", "W", "1":
		return levelWarning, nil
	case "NOTICE", "N", "2":
		return levelNotice, nil
	case "INFO", "I", "3":
		return levelInfo, nil
	case "DEBUG", "D", "4":
		return levelDebug, nil
	case "TRACE", "T", "5":
		return levelTrace, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG or TRACE, their first letters, or 0 to 5 for ERROR to TRACE)", s)
}

// parseLogPackageLevels parses the --log-package-levels value: comma-separated
// pkg=LEVEL items. The package "*" stands for every package.
func parseLogPackageLevels(s string) (map[string]slog.Level, error) {
	out := make(map[string]slog.Level)
	for item := range strings.SplitSeq(s, ",") {
		parts := strings.Split(item, "=")
		if len(parts) != 2 {
			return nil, fmt.Errorf("%q is not of the form package=LEVEL", item)
		}
		l, err := parseLogLevel(parts[1])
		if err != nil {
			return nil, err
		}
		out[parts[0]] = l
	}
	return out, nil
}

// setupLogging sets h's levels from the logging flags: INFO for every
// package, DEBUG with --debug, then the --log-package-levels settings ("*"
// first, for every package, then the named packages, whatever their order).
// A value that does not parse is logged as a warning on log and the levels
// from --debug stay.
func setupLogging(h *logHandler, log *slog.Logger, debug bool, pkgLevels string) {
	base := levelInfo
	if debug {
		base = levelDebug
	}
	h.setLevels(base, nil)
	if pkgLevels == "" {
		return
	}
	levels, err := parseLogPackageLevels(pkgLevels)
	if err != nil {
		log.Warn(fmt.Sprintf("cannot use --log-package-levels %q: %v; keeping the default levels", pkgLevels, err))
		return
	}
	if l, ok := levels["*"]; ok {
		base = l
		delete(levels, "*")
	}
	h.setLevels(base, levels)
}
