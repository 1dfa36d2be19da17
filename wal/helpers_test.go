package wal

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"v2etcd/raft"
)

// entryData is the deterministic payload of entry index in term.
func entryData(index, term uint64, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(index*31 + term*7 + uint64(i))
	}
	return b
}

// makeEntries returns n entries from index first, all in term, with data of
// size bytes.
func makeEntries(first uint64, n int, term uint64, size int) []raft.Entry {
	ents := make([]raft.Entry, n)
	for i := range ents {
		idx := first + uint64(i)
		ents[i] = raft.Entry{Term: term, Index: idx, Type: raft.EntryNormal, Data: entryData(idx, term, size)}
	}
	return ents
}

// logModel is what a WAL should replay: entries with raft's overwrite rule.
type logModel struct {
	hs   raft.HardState
	ents []raft.Entry // from index 1
}

func (m *logModel) append(ents []raft.Entry) {
	if len(ents) == 0 {
		return
	}
	m.ents = append(m.ents[:ents[0].Index-1], ents...)
}

func (m logModel) clone() logModel {
	return logModel{hs: m.hs, ents: slices.Clone(m.ents)}
}

// after returns the entries after index.
func (m logModel) after(index uint64) []raft.Entry {
	if index >= uint64(len(m.ents)) {
		return nil
	}
	return m.ents[index:]
}

func equalEntries(a, b []raft.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Index != b[i].Index || a[i].Term != b[i].Term || a[i].Type != b[i].Type || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

func describeEntries(ents []raft.Entry) string {
	if len(ents) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d entries %d..%d (last term %d)", len(ents), ents[0].Index, ents[len(ents)-1].Index, ents[len(ents)-1].Term)
}

// replayAll opens dir at marker at, replays it, closes it and returns what
// it read.
func replayAll(t testing.TB, dir string, at SnapshotMarker, opts Options) (Metadata, raft.HardState, []raft.Entry, error) {
	t.Helper()
	w, err := Open(dir, at, opts)
	if err != nil {
		return Metadata{}, raft.HardState{}, nil, err
	}
	defer w.Close()
	return w.ReadAll()
}

// mustReplay is replayAll that fails the test on error.
func mustReplay(t testing.TB, dir string, at SnapshotMarker, opts Options) (Metadata, raft.HardState, []raft.Entry) {
	t.Helper()
	md, hs, ents, err := replayAll(t, dir, at, opts)
	if err != nil {
		t.Fatalf("replay %s from %+v: %v", dir, at, err)
	}
	return md, hs, ents
}

// batchPos says where one Save's batch landed.
type batchPos struct {
	seg        int // position in w.segs at the time
	path       string
	start, end int64
	model      logModel // what replay returns once this batch is durable
}

// builtWAL is a WAL written by buildWAL, closed.
type builtWAL struct {
	dir     string
	md      Metadata
	batches []batchPos
	base    logModel // the state before the first batch
	final   logModel
}

// buildWAL creates a WAL in a new directory and makes n Saves of random
// batches (1 to maxBatch entries, some overwriting the tail, with a term or
// commit change), recording where each batch landed.
func buildWAL(t testing.TB, seed uint64, n, maxBatch int, opts Options) builtWAL {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := filepath.Join(t.TempDir(), "wal")
	md := Metadata{MemberID: 0x1234, ClusterID: 0xabcd}
	w, err := Create(dir, md, opts)
	if err != nil {
		t.Fatal(err)
	}
	b := builtWAL{dir: dir, md: md}
	var m logModel
	term := uint64(1)
	for i := 0; i < n; i++ {
		last := uint64(len(m.ents))
		first := last + 1
		if last > m.hs.Commit+1 && rng.IntN(6) == 0 {
			// overwrite an uncommitted tail in a new term
			first = m.hs.Commit + 1 + rng.Uint64N(last-m.hs.Commit)
			term++
		}
		ents := makeEntries(first, 1+rng.IntN(maxBatch), term, rng.IntN(300))
		m.append(ents)
		hs := raft.HardState{Term: term, Vote: 1, Commit: min(m.hs.Commit+uint64(rng.IntN(3)), uint64(len(m.ents)))}
		m.hs = hs
		segBefore := len(w.segs) - 1
		pos := batchPos{seg: segBefore, path: w.segs[segBefore].path, start: w.off}
		if err := w.Save(hs, ents); err != nil {
			t.Fatal(err)
		}
		if len(w.segs)-1 != segBefore {
			st, err := os.Stat(pos.path)
			if err != nil {
				t.Fatal(err)
			}
			pos.end = st.Size()
		} else {
			pos.end = w.off
		}
		pos.model = m.clone()
		b.batches = append(b.batches, pos)
	}
	b.final = m
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b
}

// logBuffer is a slog handler target that tests can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

// wantCorrupt checks that err is a *CorruptError about path at offset.
func wantCorrupt(t testing.TB, err error, path string, offset int64) {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v, want a *CorruptError about %s at offset %d", err, path, offset)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("error %v does not match ErrCorrupt", err)
	}
	if ce.File != path || ce.Offset != offset {
		t.Fatalf("got %v, want damage in %s at offset %d", err, path, offset)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%s at offset %d", path, offset)) {
		t.Fatalf("message %q does not name the file and offset", err)
	}
}

// listDir returns the names in dir.
func listDir(t testing.TB, dir string) []string {
	t.Helper()
	names, err := readDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	return names
}
