package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"v2etcd/raft"
	"v2etcd/wal"
)

// TestBackup copies a member's data directory: the snapshot as it is, the
// WAL after it with the same hard state and entries, under new IDs.
func TestBackup(t *testing.T) {
	src := t.TempDir()
	w, err := wal.Create(filepath.Join(src, "member", "wal"), wal.Metadata{MemberID: 1, ClusterID: 2}, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ents []raft.Entry
	for i := uint64(1); i <= 10; i++ {
		ents = append(ents, raft.Entry{Term: 2, Index: i, Data: []byte{byte(i)}})
	}
	hs := raft.HardState{Term: 2, Vote: 1, Commit: 10}
	if err := w.Save(hs, ents); err != nil {
		t.Fatal(err)
	}
	snap := raft.Snapshot{Metadata: raft.SnapshotMetadata{Index: 6, Term: 2, ConfState: raft.ConfState{Voters: []uint64{1}}}, Data: []byte("store")}
	if err := wal.NewSnapshotter(filepath.Join(src, "member", "snap"), nil).SaveSnap(snap); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveSnapshot(wal.SnapshotMarker{Index: 6, Term: 2}); err != nil {
		t.Fatal(err)
	}
	// The member keeps running (its WAL stays locked) while we copy it.
	defer w.Close()

	dst := filepath.Join(t.TempDir(), "backup")
	out := run(runOpts{}, "backup", "--data-dir", src, "--backup-dir", dst)
	check(t, out, "", "", 0)

	got, err := wal.NewSnapshotter(filepath.Join(dst, "member", "snap"), nil).Load()
	if err != nil || string(got.Data) != "store" || got.Metadata.Index != 6 {
		t.Fatalf("backup snapshot: %+v %v", got.Metadata, err)
	}
	bw, err := wal.Open(filepath.Join(dst, "member", "wal"), wal.SnapshotMarker{Index: 6, Term: 2}, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer bw.Close()
	md, bhs, bents, err := bw.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if md.MemberID == 1 || md.ClusterID == 2 || md.MemberID == 0 || md.ClusterID == 0 {
		t.Errorf("backup kept or zeroed the IDs: %+v", md)
	}
	if bhs.Term != hs.Term || bhs.Commit != hs.Commit || !reflect.DeepEqual(bents, ents[6:]) {
		t.Errorf("backup WAL: %+v %+v", bhs, bents)
	}

	// A second backup into the same directory is refused; so is a source
	// that is not a data directory. Both fail on one log line, exit 1.
	for _, args := range [][]string{
		{"backup", "--data-dir", src, "--backup-dir", dst},
		{"backup", "--data-dir", filepath.Join(src, "nothing"), "--backup-dir", t.TempDir()},
		{"backup"},
	} {
		r := run(runOpts{}, args...)
		if r.code != exitBadArgs || r.stdout != "" || !strings.Contains(r.stderr, " I | ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d stdout %q stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}
