package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"v2etcd/raft"
	"v2etcd/wal"
)

// TestWALSyncLog runs a member's WAL options with V2ETCD_WAL_SYNC_LOG set:
// every fsync appends "<segment> <offset>", the last line names the last
// segment and the end of what was written, and the variable unset records
// nothing.
func TestWALSyncLog(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "sync.log")
	var buf bytes.Buffer
	log := slog.New(newLogHandler(&buf, fixedNow))
	sl, err := openWALSyncLog([]string{"PATH=/bin", walSyncLogEnv + "=" + logFile}, log)
	if err != nil || sl == nil {
		t.Fatalf("open: %v, %v", sl, err)
	}
	defer sl.Close()
	cfg := mustParse(t, []string{"--data-dir", filepath.Join(dir, "m.etcd")})
	cfg.walSyncLog = sl
	w, err := wal.Create(cfg.walDir(), wal.Metadata{MemberID: 1}, cfg.walOptions(log))
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 5; i++ {
		ent := raft.Entry{Term: 1, Index: i, Type: raft.EntryNormal, Data: []byte("entry " + strconv.FormatUint(i, 10))}
		if err := w.Save(raft.HardState{Term: 1, Commit: i}, []raft.Entry{ent}); err != nil {
			t.Fatal(err)
		}
	}
	segs, err := filepath.Glob(filepath.Join(cfg.walDir(), "*.wal"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments: %v, %v", segs, err)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 6 { // Create, then one per Save
		t.Fatalf("%d lines, want 6:\n%s", len(lines), b)
	}
	var last int64
	for _, line := range lines {
		seg, off, ok := strings.Cut(line, " ")
		n, err := strconv.ParseInt(off, 10, 64)
		if !ok || err != nil || seg != segs[0] || n <= last {
			t.Fatalf("line %q: want %q and an offset past %d", line, segs[0], last)
		}
		last = n
	}
	// The WAL replays whole when its segment is cut at the last offset.
	w.Close()
	if err := os.Truncate(segs[0], last); err != nil {
		t.Fatal(err)
	}
	r, err := wal.Open(cfg.walDir(), wal.SnapshotMarker{}, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, ents, err := r.ReadAll(); err != nil || len(ents) != 5 {
		t.Fatalf("replay after a cut at %d: %d entries, %v", last, len(ents), err)
	}
	if buf.Len() != 0 {
		t.Errorf("logged: %s", buf.String())
	}
}

func TestWALSyncLogEnv(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, environ := range [][]string{nil, {"PATH=/bin"}, {walSyncLogEnv + "="}} {
		if sl, err := openWALSyncLog(environ, log); sl != nil || err != nil {
			t.Errorf("%q: %v, %v; want nothing", environ, sl, err)
		}
	}
	if cfg := mustParse(t, nil); cfg.walOptions(log).OnSync != nil {
		t.Error("OnSync set without the variable")
	}
	bad := filepath.Join(t.TempDir(), "missing", "sync.log")
	_, err := openWALSyncLog([]string{walSyncLogEnv + "=" + bad}, log)
	if err == nil || !strings.HasPrefix(err.Error(), "etcd: "+walSyncLogEnv+": ") || !strings.Contains(err.Error(), bad) {
		t.Errorf("a file that cannot be created: %v", err)
	}
	var nilLog *walSyncLog
	if err := nilLog.Close(); err != nil {
		t.Errorf("closing no log: %v", err)
	}
}

// TestWALSyncLogWriteError: a line that cannot be written is reported
// once, as an error the tests reading the file see in the output.
func TestWALSyncLogWriteError(t *testing.T) {
	var buf bytes.Buffer
	sl, err := openWALSyncLog([]string{walSyncLogEnv + "=" + filepath.Join(t.TempDir(), "sync.log")}, slog.New(newLogHandler(&buf, fixedNow)))
	if err != nil {
		t.Fatal(err)
	}
	sl.f.Close() // every write now fails
	sl.record("/wal/0.wal", 64)
	sl.record("/wal/0.wal", 128)
	if got := strings.Count(buf.String(), "cannot record a WAL sync"); got != 1 || !strings.Contains(buf.String(), " E | ") {
		t.Errorf("logged %d times:\n%s", got, buf.String())
	}
	if err := sl.Close(); err != nil {
		t.Errorf("closing again: %v", err)
	}
}
