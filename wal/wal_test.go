package wal

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"v2etcd/raft"
)

func TestCreateSaveReplay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		segSize  int64
		maxBatch int
	}{
		{"one segment", 1 << 20, 8},
		{"many segments", 4096, 8},
		{"segment per write", 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := buildWAL(t, 1, 60, tc.maxBatch, Options{SegmentSize: tc.segSize})
			md, hs, ents := mustReplay(t, b.dir, SnapshotMarker{}, Options{SegmentSize: tc.segSize})
			if md != b.md {
				t.Errorf("metadata %+v, want %+v", md, b.md)
			}
			if hs != b.final.hs {
				t.Errorf("hard state %+v, want %+v", hs, b.final.hs)
			}
			if !equalEntries(ents, b.final.ents) {
				t.Errorf("replayed %s, want %s", describeEntries(ents), describeEntries(b.final.ents))
			}
		})
	}
}

func TestReplayThenAppend(t *testing.T) {
	opts := Options{SegmentSize: 2048}
	b := buildWAL(t, 2, 30, 4, opts)
	w, err := Open(b.dir, SnapshotMarker{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Save(raft.HardState{Term: 9, Vote: 2}, nil); err == nil {
		t.Fatal("Save before ReadAll succeeded")
	}
	_, _, ents, err := w.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := w.ReadAll(); err == nil {
		t.Fatal("second ReadAll succeeded")
	}
	m := b.final.clone()
	more := makeEntries(uint64(len(ents))+1, 50, 9, 100)
	m.append(more)
	m.hs = raft.HardState{Term: 9, Vote: 2, Commit: uint64(len(m.ents))}
	if err := w.Save(m.hs, more); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, hs, got := mustReplay(t, b.dir, SnapshotMarker{}, opts)
	if hs != m.hs || !equalEntries(got, m.ents) {
		t.Fatalf("replayed %+v %s, want %+v %s", hs, describeEntries(got), m.hs, describeEntries(m.ents))
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "member", "wal")
	w, err := Create(dir, Metadata{MemberID: 1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("WAL directory has mode %v, want 0700", st.Mode().Perm())
	}
	if _, err := Create(dir, Metadata{MemberID: 1}, Options{}); !errors.Is(err, ErrExist) {
		t.Fatalf("Create on an open WAL: %v, want ErrExist", err)
	}
	w.Close()
	if _, err := Create(dir, Metadata{MemberID: 1}, Options{}); !errors.Is(err, ErrExist) {
		t.Fatalf("Create on an existing WAL: %v, want ErrExist", err)
	}
	// A directory that exists, perhaps a mount point, holding other files
	// and a leftover of an interrupted Create: the WAL is made in it and
	// the other files are left alone.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "precious"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, segmentName(0, 0)+tmpExt), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if Exist(other) {
		t.Fatal("Exist is true without a segment")
	}
	w, err = Create(other, Metadata{MemberID: 7}, Options{})
	if err != nil {
		t.Fatalf("Create in a directory with other files: %v", err)
	}
	w.Close()
	md, _, _ := mustReplay(t, other, SnapshotMarker{}, Options{})
	if md.MemberID != 7 || !Exist(other) || Exist(filepath.Join(other, "missing")) {
		t.Fatal("Create or Exist is wrong")
	}
	if names := listDir(t, other); strings.Join(names, " ") != "0000000000000000-0000000000000000.wal LOCK precious" {
		t.Fatalf("directory holds %v", names)
	}
}

func TestLockIsExclusive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Metadata{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, SnapshotMarker{}, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open: %v, want ErrLocked naming %s", err, dir)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	w, err = Open(dir, SnapshotMarker{}, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	w.Close()
}

func TestSyncPolicy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Metadata{}, Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Save(raft.HardState{Term: 1, Vote: 1}, makeEntries(1, 3, 1, 10)); err != nil {
		t.Fatal(err)
	}
	off := w.off
	// Only the commit index changes: nothing is written yet.
	if err := w.Save(raft.HardState{Term: 1, Vote: 1, Commit: 3}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Save(raft.HardState{}, nil); err != nil {
		t.Fatal(err)
	}
	if w.off != off {
		t.Fatalf("a commit-only Save wrote %d bytes", w.off-off)
	}
	// A crash now loses the commit index, harmlessly.
	crashed := copyDir(t, dir)
	_, hs, _ := mustReplay(t, crashed, SnapshotMarker{}, Options{})
	if hs.Commit != 0 {
		t.Fatalf("commit %d survived a crash before any write", hs.Commit)
	}
	// A vote change is written at once, with the pending commit.
	if err := w.Save(raft.HardState{Term: 2, Vote: 2, Commit: 3}, nil); err != nil {
		t.Fatal(err)
	}
	if w.off == off {
		t.Fatal("a term change was not written")
	}
	if err := w.Save(raft.HardState{Term: 2, Vote: 2, Commit: 4}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, hs, ents := mustReplay(t, dir, SnapshotMarker{}, Options{})
	if want := (raft.HardState{Term: 2, Vote: 2, Commit: 4}); hs != want || len(ents) != 3 {
		t.Fatalf("after Close: %+v and %d entries, want %+v and 3", hs, len(ents), want)
	}
}

func TestSaveRejectsBadEntries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Metadata{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Save(raft.HardState{Term: 1}, makeEntries(1, 10, 1, 5)); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveSnapshot(SnapshotMarker{Index: 5, Term: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ents []raft.Entry
		want string
	}{
		{"index 0", []raft.Entry{{Index: 0, Term: 1}}, "index 0"},
		{"gap", makeEntries(12, 1, 1, 0), "gap"},
		{"not consecutive", append(makeEntries(11, 1, 1, 0), makeEntries(13, 1, 1, 0)...), "consecutive"},
		{"below marker", makeEntries(5, 1, 2, 0), "snapshot marker"},
	} {
		if err := w.Save(raft.HardState{}, tc.ents); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Save returned %v, want an error about %q", tc.name, err, tc.want)
		}
	}
	if err := w.SaveSnapshot(SnapshotMarker{Index: 4, Term: 1}); err == nil {
		t.Error("SaveSnapshot accepted a marker older than the newest one")
	}
	// The WAL is still usable after refused input.
	if err := w.Save(raft.HardState{}, makeEntries(11, 1, 1, 0)); err != nil {
		t.Fatal(err)
	}
}

func TestSegmentFiles(t *testing.T) {
	opts := Options{SegmentSize: 4096}
	b := buildWAL(t, 3, 80, 6, opts)
	segs, err := listSegments(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 3 {
		t.Fatalf("only %d segments", len(segs))
	}
	for i, seg := range segs {
		st, err := os.Stat(seg.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", seg.path, st.Mode().Perm())
		}
		if filepath.Base(seg.path) != segmentName(uint64(i), seg.first) {
			t.Errorf("segment %d is named %s", i, filepath.Base(seg.path))
		}
		last := i == len(segs)-1
		// Sealed segments end exactly after their last batch; the last
		// one is preallocated.
		if last && st.Size() < opts.SegmentSize {
			t.Errorf("last segment is %d bytes, want at least %d", st.Size(), opts.SegmentSize)
		}
		if !last {
			var end int64
			for _, bp := range b.batches {
				if bp.path == seg.path {
					end = bp.end
				}
			}
			if st.Size() != end {
				t.Errorf("sealed %s is %d bytes, want %d", seg.path, st.Size(), end)
			}
		}
	}
	// A segment's first index is the last index + 1 when it was cut.
	for i, bp := range b.batches[:len(b.batches)-1] {
		next := b.batches[i+1]
		if next.seg != bp.seg {
			if want := uint64(len(bp.model.ents)) + 1; segs[next.seg].first != want {
				t.Errorf("segment %d starts at index %d, want %d", next.seg, segs[next.seg].first, want)
			}
		}
	}
	for _, name := range listDir(t, b.dir) {
		if strings.HasSuffix(name, tmpExt) {
			t.Errorf("leftover %s", name)
		}
	}
}

func TestOpenRemovesLeftoverTemporarySegment(t *testing.T) {
	b := buildWAL(t, 4, 5, 2, Options{})
	tmp := filepath.Join(b.dir, segmentName(1, 99)+tmpExt)
	if err := os.WriteFile(tmp, []byte("half made"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustReplay(t, b.dir, SnapshotMarker{}, Options{})
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover temporary segment not removed: %v", err)
	}
}

func TestSnapshotMarkers(t *testing.T) {
	opts := Options{SegmentSize: 2048}
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Metadata{MemberID: 1}, opts)
	if err != nil {
		t.Fatal(err)
	}
	var m logModel
	for i := 0; i < 10; i++ {
		ents := makeEntries(uint64(len(m.ents))+1, 10, 1, 50)
		m.append(ents)
		m.hs = raft.HardState{Term: 1, Commit: uint64(len(m.ents))}
		if err := w.Save(m.hs, ents); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			if err := w.SaveSnapshot(SnapshotMarker{Index: 45, Term: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	markers, err := Markers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []SnapshotMarker{{0, 0}, {45, 1}}; len(markers) != 2 || markers[0] != want[0] || markers[1] != want[1] {
		t.Fatalf("Markers = %v, want %v", markers, want)
	}
	_, hs, ents := mustReplay(t, dir, SnapshotMarker{Index: 45, Term: 1}, opts)
	if hs != m.hs || !equalEntries(ents, m.after(45)) {
		t.Fatalf("replay from 45: %+v %s, want %+v %s", hs, describeEntries(ents), m.hs, describeEntries(m.after(45)))
	}
	if _, _, _, err := replayAll(t, dir, SnapshotMarker{Index: 45, Term: 2}, opts); !errors.Is(err, ErrSnapshotMismatch) {
		t.Fatalf("replay from a marker with the wrong term: %v", err)
	}
	if _, _, _, err := replayAll(t, dir, SnapshotMarker{Index: 50, Term: 1}, opts); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("replay from a missing marker: %v", err)
	}
}

func TestSaveSnapshotRaisesCommit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Metadata{}, Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Save(raft.HardState{Term: 1, Commit: 2}, makeEntries(1, 10, 1, 5)); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveSnapshot(SnapshotMarker{Index: 8, Term: 1}); err != nil {
		t.Fatal(err)
	}
	// Crash without Close.
	crashed := copyDir(t, dir)
	w.Close()
	_, hs, ents := mustReplay(t, crashed, SnapshotMarker{Index: 8, Term: 1}, Options{})
	if hs.Commit != 8 || len(ents) != 2 {
		t.Fatalf("after a snapshot at 8: commit %d and %s", hs.Commit, describeEntries(ents))
	}
}

// TestSnapshotReplacesLog covers a follower whose uncommitted tail
// conflicts with a snapshot sent by the leader: raft drops its whole log,
// and replay must not bring the dropped entries back.
func TestSnapshotReplacesLog(t *testing.T) {
	opts := Options{SegmentSize: 1024}
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Metadata{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Save(raft.HardState{Term: 1, Commit: 5}, makeEntries(1, 20, 1, 30)); err != nil {
		t.Fatal(err)
	}
	// The leader of term 3 sends a snapshot at 15 (term 2 there).
	snap := SnapshotMarker{Index: 15, Term: 2}
	if err := w.SaveSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	crashed := copyDir(t, dir)
	_, hs, ents := mustReplay(t, crashed, snap, opts)
	if len(ents) != 0 || hs.Commit != 15 {
		t.Fatalf("replay right after the snapshot: commit %d, %s; want commit 15 and no entries", hs.Commit, describeEntries(ents))
	}
	more := makeEntries(16, 3, 3, 30)
	if err := w.Save(raft.HardState{Term: 3, Commit: 17}, more); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, ents = mustReplay(t, dir, snap, opts)
	if !equalEntries(ents, more) {
		t.Fatalf("replay: %s, want %s", describeEntries(ents), describeEntries(more))
	}
	// Replaying from before the snapshot would mix the two logs.
	if _, _, _, err := replayAll(t, dir, SnapshotMarker{}, opts); !errors.Is(err, ErrSnapshotMismatch) {
		t.Fatalf("replay from 0 across a replaced log: %v", err)
	}
	if markers, err := Markers(dir); err != nil || len(markers) != 1 || markers[0] != snap {
		t.Fatalf("Markers = %v, %v; want only %v", markers, err, snap)
	}
	// A snapshot that matches the log keeps the entries after it.
	w, err = Open(dir, snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := w.ReadAll(); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveSnapshot(SnapshotMarker{Index: 17, Term: 3}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, _, ents = mustReplay(t, dir, SnapshotMarker{Index: 17, Term: 3}, opts)
	if !equalEntries(ents, more[2:]) {
		t.Fatalf("replay from a matching snapshot: %s", describeEntries(ents))
	}
}

func TestReleaseAndPurge(t *testing.T) {
	for _, max := range []int{0, 1, 3} {
		opts := Options{SegmentSize: 1024, MaxSegments: max}
		dir := filepath.Join(t.TempDir(), "wal")
		w, err := Create(dir, Metadata{}, opts)
		if err != nil {
			t.Fatal(err)
		}
		var m logModel
		for i := 0; i < 40; i++ {
			ents := makeEntries(uint64(len(m.ents))+1, 3, 1, 60)
			m.append(ents)
			m.hs = raft.HardState{Term: 1, Commit: uint64(len(m.ents))}
			if err := w.Save(m.hs, ents); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.ReleaseTo(100); err == nil {
			t.Fatal("ReleaseTo beyond the newest marker succeeded")
		}
		before := len(w.segs)
		snap := SnapshotMarker{Index: 100, Term: 1}
		if err := w.SaveSnapshot(snap); err != nil {
			t.Fatal(err)
		}
		if err := w.ReleaseTo(snap.Index); err != nil {
			t.Fatal(err)
		}
		segs, err := listSegments(dir)
		if err != nil {
			t.Fatal(err)
		}
		cover := coveringSegment(segs, snap.Index)
		switch {
		case max == 0 && len(segs) < before:
			t.Errorf("max 0: %d of %d segments left", len(segs), before)
		case max > 0 && len(segs) > max && cover > 0:
			t.Errorf("max %d: %d segments left, %d of them released", max, len(segs), cover)
		case cover < 0:
			t.Errorf("max %d: the segment covering the snapshot was deleted", max)
		}
		w.Close()
		_, _, ents := mustReplay(t, dir, snap, opts)
		if !equalEntries(ents, m.after(snap.Index)) {
			t.Errorf("max %d: replay after purge: %s", max, describeEntries(ents))
		}
		if max > 0 {
			if _, _, _, err := replayAll(t, dir, SnapshotMarker{}, opts); !errors.Is(err, ErrSnapshotNotFound) {
				t.Errorf("max %d: replay from a released marker: %v", max, err)
			}
		}
	}
}

func TestMissingOrSwappedSegment(t *testing.T) {
	opts := Options{SegmentSize: 1024}
	b := buildWAL(t, 5, 40, 3, opts)
	segs, err := listSegments(b.dir)
	if err != nil || len(segs) < 4 {
		t.Fatalf("%d segments, %v", len(segs), err)
	}
	t.Run("missing", func(t *testing.T) {
		dir := copyDir(t, b.dir)
		if err := os.Remove(filepath.Join(dir, filepath.Base(segs[2].path))); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := replayAll(t, dir, SnapshotMarker{}, opts)
		wantCorrupt(t, err, filepath.Join(dir, filepath.Base(segs[3].path)), 0)
	})
	t.Run("renamed", func(t *testing.T) {
		dir := copyDir(t, b.dir)
		old := filepath.Join(dir, filepath.Base(segs[2].path))
		renamed := filepath.Join(dir, segmentName(2, segs[2].first+1))
		if err := os.Rename(old, renamed); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := replayAll(t, dir, SnapshotMarker{}, opts)
		wantCorrupt(t, err, renamed, 0)
	})
	t.Run("replaced by another WAL's segment", func(t *testing.T) {
		dir := copyDir(t, b.dir)
		other := buildWAL(t, 6, 40, 3, opts)
		osegs, _ := listSegments(other.dir)
		data, err := os.ReadFile(osegs[2].path)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(segs[2].path))
		os.Remove(dst)
		dst = filepath.Join(dir, filepath.Base(osegs[2].path))
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, _, err = replayAll(t, dir, SnapshotMarker{}, opts)
		wantCorrupt(t, err, dst, 0)
	})
	t.Run("stray file", func(t *testing.T) {
		dir := copyDir(t, b.dir)
		if err := os.WriteFile(filepath.Join(dir, "notes.wal"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir, SnapshotMarker{}, opts); err == nil || !strings.Contains(err.Error(), "notes.wal") {
			t.Fatalf("Open with a stray .wal file: %v", err)
		}
	})
}

// copyDir copies the regular files of dir into a new directory.
func copyDir(t testing.TB, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range listDir(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestReadOnly replays a WAL that another WAL holds open (and locked)
// without taking the lock or changing a byte.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, Metadata{MemberID: 7, ClusterID: 9}, Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ents := []raft.Entry{{Term: 1, Index: 1, Data: []byte("a")}, {Term: 1, Index: 2, Data: []byte("b")}}
	if err := w.Save(raft.HardState{Term: 1, Commit: 2}, ents); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveSnapshot(SnapshotMarker{Index: 1, Term: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.Save(raft.HardState{}, []raft.Entry{{Term: 1, Index: 3, Data: []byte("c")}}); err != nil {
		t.Fatal(err)
	}
	before := readDirBytes(t, dir)
	md, hs, got, err := ReadOnly(dir, SnapshotMarker{Index: 1, Term: 1})
	if err != nil {
		t.Fatal(err)
	}
	if md.MemberID != 7 || md.ClusterID != 9 || hs.Term != 1 || len(got) != 2 || got[0].Index != 2 || string(got[1].Data) != "c" {
		t.Errorf("ReadOnly: %+v %+v %+v", md, hs, got)
	}
	if _, _, _, err := ReadOnly(dir, SnapshotMarker{Index: 2, Term: 1}); !errors.Is(err, ErrSnapshotNotFound) {
		t.Errorf("ReadOnly at a marker that does not exist: %v", err)
	}
	if after := readDirBytes(t, dir); !maps.EqualFunc(before, after, bytes.Equal) {
		t.Error("ReadOnly changed the directory")
	}
}

func readDirBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}
