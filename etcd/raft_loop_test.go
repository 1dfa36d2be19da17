package main

import (
	"testing"

	"v2etcd/raft"
)

// TestMustApplyBeforeAdvance checks which Ready batches make the raft loop
// wait for the apply goroutine before Advance, and up to which index.
func TestMustApplyBeforeAdvance(t *testing.T) {
	normal := func(i uint64) raft.Entry { return raft.Entry{Term: 1, Index: i, Type: raft.EntryNormal} }
	conf := func(i uint64) raft.Entry { return raft.Entry{Term: 1, Index: i, Type: raft.EntryConfChange} }
	snap := &raft.Snapshot{Metadata: raft.SnapshotMetadata{Index: 7, Term: 1}}
	tests := []struct {
		name string
		rd   raft.Ready
		last uint64
		must bool
	}{
		{"nothing", raft.Ready{}, 0, false},
		{"normal entries only", raft.Ready{CommittedEntries: []raft.Entry{normal(1), normal(2)}}, 2, false},
		{"a conf change in the middle", raft.Ready{CommittedEntries: []raft.Entry{normal(3), conf(4), normal(5)}}, 5, true},
		{"a snapshot alone", raft.Ready{Snapshot: snap}, 7, true},
		{"a snapshot and entries after it", raft.Ready{Snapshot: snap, CommittedEntries: []raft.Entry{normal(8)}}, 8, true},
	}
	for _, tt := range tests {
		last, must := mustApplyBeforeAdvance(tt.rd)
		if must != tt.must || (must && last != tt.last) {
			t.Errorf("%s: got (%d, %v), want (%d, %v)", tt.name, last, must, tt.last, tt.must)
		}
	}
}
