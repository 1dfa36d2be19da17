package wal

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"v2etcd/raft"
)

func testSnapshot(index, term uint64, size int) raft.Snapshot {
	return raft.Snapshot{
		Metadata: raft.SnapshotMetadata{Index: index, Term: term, ConfState: raft.ConfState{Voters: []uint64{1, 2, 3}}},
		Data:     entryData(index, term, size),
	}
}

func equalSnapshots(a, b raft.Snapshot) bool {
	return a.Metadata.Index == b.Metadata.Index && a.Metadata.Term == b.Metadata.Term &&
		slicesEqual(a.Metadata.ConfState.Voters, b.Metadata.ConfState.Voters) && bytes.Equal(a.Data, b.Data)
}

func slicesEqual(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSnapshotSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	s := NewSnapshotter(dir, nil)
	if _, err := s.Load(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Load with no directory: %v", err)
	}
	snaps := []raft.Snapshot{testSnapshot(10, 1, 1000), testSnapshot(20, 2, 0), testSnapshot(30, 2, 70000)}
	for _, snap := range snaps {
		if err := s.SaveSnap(snap); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveSnap(raft.Snapshot{}); err == nil {
		t.Fatal("saved an empty snapshot")
	}
	got, err := s.Load()
	if err != nil || !equalSnapshots(got, snaps[2]) {
		t.Fatalf("Load = %+v, %v", got.Metadata, err)
	}
	got, err = s.LoadNewestAvailable([]SnapshotMarker{{0, 0}, {10, 1}, {20, 2}})
	if err != nil || !equalSnapshots(got, snaps[1]) {
		t.Fatalf("LoadNewestAvailable = %+v, %v", got.Metadata, err)
	}
	if _, err := s.LoadNewestAvailable([]SnapshotMarker{{20, 3}}); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("LoadNewestAvailable with no match: %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, SnapName(2, 30)))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("snapshot file mode %v", st.Mode().Perm())
	}
	if SnapName(2, 0x2711) != "0000000000000002-0000000000002711.snap" {
		t.Errorf("SnapName = %s", SnapName(2, 0x2711))
	}
}

func TestSnapshotDamageFallsBack(t *testing.T) {
	logger, logs := newTestLogger()
	dir := t.TempDir()
	s := NewSnapshotter(dir, logger)
	older, newer := testSnapshot(10, 1, 5000), testSnapshot(20, 1, 5000)
	for _, snap := range []raft.Snapshot{older, newer} {
		if err := s.SaveSnap(snap); err != nil {
			t.Fatal(err)
		}
	}
	newest := filepath.Join(dir, SnapName(1, 20))
	data, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	// Flip each of a spread of bytes (header, data, trailer): the file must
	// be set aside and the older one used.
	for _, off := range []int{0, 9, 14, len(data) / 2, len(data) - 10, len(data) - 1} {
		d := append([]byte(nil), data...)
		d[off] ^= 0x40
		if err := os.WriteFile(newest, d, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoadNewestAvailable([]SnapshotMarker{{0, 0}, {10, 1}, {20, 1}})
		if err != nil || !equalSnapshots(got, older) {
			t.Fatalf("flip at %d: got %+v, %v; want the older snapshot", off, got.Metadata, err)
		}
		if _, err := os.Stat(newest + brokenExt); err != nil {
			t.Fatalf("flip at %d: no .broken file: %v", off, err)
		}
		os.Remove(newest + brokenExt)
	}
	if !strings.Contains(logs.String(), "damaged") {
		t.Errorf("no log line about the damaged snapshot:\n%s", logs)
	}

	// Damaged, with no older snapshot the WAL covers: a clear error that is
	// not ErrNoSnapshot.
	d := append([]byte(nil), data...)
	d[len(d)/2] ^= 1
	os.WriteFile(newest, d, 0o600)
	_, err = s.LoadNewestAvailable([]SnapshotMarker{{20, 1}})
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNoSnapshot) || !strings.Contains(err.Error(), newest) {
		t.Fatalf("damaged snapshot, WAL covers nothing older: %v", err)
	}
	// Damaged, but the WAL covers the log from its start.
	os.Rename(newest+brokenExt, newest)
	_, err = s.LoadNewestAvailable([]SnapshotMarker{{0, 0}, {20, 1}})
	if !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("damaged snapshot, WAL covers all: %v", err)
	}
	// An I/O error is not damage: the file is left alone.
	os.Rename(newest+brokenExt, newest)
	if err := os.Chmod(newest, 0); err == nil && os.Getuid() != 0 {
		if _, err := s.Load(); err == nil || errors.Is(err, ErrCorrupt) {
			t.Fatalf("unreadable snapshot: %v", err)
		}
		if _, err := os.Stat(newest); err != nil {
			t.Fatal("an unreadable snapshot was renamed")
		}
	}
}

func TestSnapshotStreaming(t *testing.T) {
	src := NewSnapshotter(t.TempDir(), nil)
	dst := NewSnapshotter(t.TempDir(), nil)
	snap := testSnapshot(50, 3, 1<<20+123)
	if err := src.SaveSnap(snap); err != nil {
		t.Fatal(err)
	}
	r, err := src.OpenSnap(3, 50)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size != int64(len(snap.Data)) || r.Metadata.Index != 50 {
		t.Fatalf("reader says %d bytes, %+v", r.Size, r.Metadata)
	}
	// Stream in small, odd-sized reads, as a peer transport might.
	if err := dst.SaveSnapFrom(r.Metadata, iotest.OneByteReader(io.LimitReader(r, 1000)), 1000); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r, _ = src.OpenSnap(3, 50)
	if err := dst.SaveSnapFrom(r.Metadata, iotest.HalfReader(r), r.Size); err != nil {
		t.Fatal(err)
	}
	r.Close()
	got, err := dst.Load()
	if err != nil || !equalSnapshots(got, snap) {
		t.Fatalf("streamed snapshot: %+v, %v", got.Metadata, err)
	}
	// Size unknown: read to EOF.
	dst2 := NewSnapshotter(t.TempDir(), nil)
	if err := dst2.SaveSnapFrom(snap.Metadata, bytes.NewReader(snap.Data), -1); err != nil {
		t.Fatal(err)
	}
	if got, err := dst2.Load(); err != nil || !equalSnapshots(got, snap) {
		t.Fatalf("streamed to EOF: %v", err)
	}
	// A stream cut short leaves nothing behind.
	dst3 := NewSnapshotter(t.TempDir(), nil)
	err = dst3.SaveSnapFrom(snap.Metadata, bytes.NewReader(snap.Data[:100]), int64(len(snap.Data)))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short stream: %v", err)
	}
	if names := listDir(t, dst3.dir); len(names) != 0 {
		t.Fatalf("short stream left %v", names)
	}
	// A damaged file streams its data, then fails instead of io.EOF.
	path := filepath.Join(src.dir, SnapName(3, 50))
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 1
	os.WriteFile(path, data, 0o600)
	r, err = src.OpenSnap(3, 50)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("streaming a damaged snapshot: %v", err)
	}
	if _, err := src.OpenSnap(3, 51); err == nil {
		t.Fatal("opened a missing snapshot")
	}
}

func TestSnapshotPurge(t *testing.T) {
	s := NewSnapshotter(t.TempDir(), nil)
	for i := uint64(1); i <= 7; i++ {
		if err := s.SaveSnap(testSnapshot(i*10, 1, 10)); err != nil {
			t.Fatal(err)
		}
	}
	leftover := filepath.Join(s.dir, SnapName(1, 80)+".123"+tmpExt)
	os.WriteFile(leftover, []byte("partial"), 0o600)
	os.WriteFile(filepath.Join(s.dir, SnapName(1, 5)+brokenExt), []byte("x"), 0o600)
	if err := s.Purge(0); err != nil {
		t.Fatal(err)
	}
	if names, _ := s.snapNames(); len(names) != 7 {
		t.Fatalf("Purge(0) left %d snapshots", len(names))
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("Purge left a temporary file")
	}
	if err := s.Purge(5); err != nil {
		t.Fatal(err)
	}
	names, _ := s.snapNames()
	if len(names) != 5 || names[0] != SnapName(1, 30) {
		t.Fatalf("Purge(5) left %v", names)
	}
	if _, err := os.Stat(filepath.Join(s.dir, SnapName(1, 5)+brokenExt)); err != nil {
		t.Fatal("Purge removed a .broken file")
	}
}

// gatedReader returns first, then blocks until gate is closed, then returns
// rest.
type gatedReader struct {
	first, rest []byte
	started     chan struct{}
	gate        chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if len(g.first) > 0 {
		n := copy(p, g.first)
		g.first = g.first[n:]
		if len(g.first) == 0 {
			close(g.started)
		}
		return n, nil
	}
	<-g.gate
	if len(g.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

// TestSnapshotPurgeDuringSave checks that Purge leaves alone the temporary
// file of a save in progress (a snapshot streaming in from a peer).
func TestSnapshotPurgeDuringSave(t *testing.T) {
	s := NewSnapshotter(t.TempDir(), nil)
	snap := testSnapshot(40, 2, 4<<20)
	g := &gatedReader{first: snap.Data[:1000], rest: snap.Data[1000:], started: make(chan struct{}), gate: make(chan struct{})}
	done := make(chan error)
	go func() { done <- s.SaveSnapFrom(snap.Metadata, g, -1) }()
	<-g.started
	if err := s.Purge(1); err != nil {
		t.Fatal(err)
	}
	close(g.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil || !equalSnapshots(got, snap) {
		t.Fatalf("Load after a save that Purge ran during: %v", err)
	}
	if names := listDir(t, s.dir); len(names) != 1 {
		t.Fatalf("directory holds %v", names)
	}
}
