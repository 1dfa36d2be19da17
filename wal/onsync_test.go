package wal

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"v2etcd/raft"
)

// syncReport is one call of Options.OnSync.
type syncReport struct {
	path string
	off  int64
}

// TestOnSync checks the hook the fault tests rely on: after every write
// that returns, the last report names the last segment and the offset
// where the next write goes; cutting that segment anywhere at or past the
// offset (what a power cut can leave) keeps every saved entry, and cutting
// before it loses the last write.
func TestOnSync(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	var reports []syncReport
	opts := Options{SegmentSize: 4096, OnSync: func(path string, off int64) {
		reports = append(reports, syncReport{path, off})
	}}
	w, err := Create(dir, Metadata{MemberID: 1}, opts)
	if err != nil {
		t.Fatal(err)
	}
	lastIs := func(what string) {
		t.Helper()
		want := syncReport{w.segs[len(w.segs)-1].path, w.off}
		if len(reports) == 0 || reports[len(reports)-1] != want {
			t.Fatalf("after %s: last report %v, want %v", what, reports[len(reports)-1:], want)
		}
	}
	lastIs("Create")

	rng := rand.New(rand.NewPCG(1, 2))
	var m logModel
	for i := 0; i < 60; i++ {
		ents := makeEntries(uint64(len(m.ents))+1, 1+rng.IntN(4), 1, rng.IntN(200))
		m.append(ents)
		m.hs = raft.HardState{Term: 1, Vote: 1, Commit: uint64(len(m.ents))}
		if err := w.Save(m.hs, ents); err != nil {
			t.Fatal(err)
		}
		lastIs("Save")
		// A commit-only change writes nothing and reports nothing.
		n := len(reports)
		if err := w.Save(raft.HardState{Term: 1, Vote: 1, Commit: m.hs.Commit}, nil); err != nil {
			t.Fatal(err)
		}
		if len(reports) != n {
			t.Fatalf("a Save that wrote nothing reported %v", reports[n:])
		}
	}
	if len(w.segs) < 3 {
		t.Fatalf("only %d segments: the test should cross cuts", len(w.segs))
	}
	// Offsets only grow within a segment.
	for i := 1; i < len(reports); i++ {
		if reports[i].path == reports[i-1].path && reports[i].off <= reports[i-1].off {
			t.Fatalf("report %d went back: %v after %v", i, reports[i], reports[i-1])
		}
	}
	// Make sure the last write did not cut, so the last report ends a write.
	for w.off+512 >= opts.SegmentSize {
		ents := makeEntries(uint64(len(m.ents))+1, 1, 1, 10)
		m.append(ents)
		if err := w.Save(m.hs, ents); err != nil {
			t.Fatal(err)
		}
	}
	ents := makeEntries(uint64(len(m.ents))+1, 2, 1, 100)
	m.append(ents)
	before := w.off
	if err := w.Save(m.hs, ents); err != nil {
		t.Fatal(err)
	}
	last := reports[len(reports)-1]
	// Leave the WAL as a killed process does: open, nothing more written.
	crashed := copyDir(t, dir)
	w.Close()
	seg := filepath.Join(crashed, filepath.Base(last.path))
	st, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int64{last.off, last.off + 1, last.off + rng.Int64N(st.Size()-last.off), st.Size()} {
		d := copyDir(t, crashed)
		if err := os.Truncate(filepath.Join(d, filepath.Base(last.path)), cut); err != nil {
			t.Fatal(err)
		}
		_, _, got := mustReplay(t, d, SnapshotMarker{}, Options{SegmentSize: opts.SegmentSize})
		if !equalEntries(got, m.ents) {
			t.Fatalf("cut at %d (synced to %d): replayed %s, want %s", cut, last.off, describeEntries(got), describeEntries(m.ents))
		}
	}
	// Cutting inside the last write loses it: the offset is not too high.
	// (Not at its last byte: that may be frame padding, whose loss keeps
	// the record whole.)
	mid := before + (last.off-before)/2
	d := copyDir(t, crashed)
	if err := os.Truncate(filepath.Join(d, filepath.Base(last.path)), mid); err != nil {
		t.Fatal(err)
	}
	_, _, got := mustReplay(t, d, SnapshotMarker{}, Options{SegmentSize: opts.SegmentSize})
	if want := m.ents[:len(m.ents)-2]; !equalEntries(got, want) || before >= last.off {
		t.Fatalf("cut at %d, inside the last write [%d, %d): replayed %s, want %s", mid, before, last.off, describeEntries(got), describeEntries(want))
	}
}
