package main

import (
	"context"
	"io"

	"v2etcd/peer"
	"v2etcd/raft"
	"v2etcd/wal"
)

// The server is the transport's peer.Raft: messages from peers go into the
// raft loop's inbound channel, and reports from the transport are run by
// the raft loop.

// Process hands a message received from a peer to the raft loop.
func (s *server) Process(ctx context.Context, m raft.Message) error {
	select {
	case s.recvc <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopping:
		return errStopped
	}
}

// ReportUnreachable tells raft a peer could not be reached; it is a hint,
// so it is dropped rather than waited for when the raft loop is busy.
func (s *server) ReportUnreachable(id uint64) {
	select {
	case s.reportc <- func(r *raft.Raft) { r.ReportUnreachable(id) }:
	default:
	}
}

// ReportSnapshot tells raft how sending a snapshot went. It must arrive, or
// the follower would stay waiting for a snapshot for ever.
func (s *server) ReportSnapshot(id uint64, ok bool) {
	select {
	case s.reportc <- func(r *raft.Raft) { r.ReportSnapshot(id, ok) }:
	case <-s.stopping:
	}
}

// IsRemoved reports whether id was removed from the cluster.
func (s *server) IsRemoved(id peer.ID) bool { return s.cluster.IsRemoved(id) }

// SelfRemoved is called when a peer answers that this member was removed.
func (s *server) SelfRemoved(by peer.ID) {
	s.log.Info("a peer says this member was removed from the cluster", "peer", by.String())
	s.removedSelf()
}

// snapshotStore lets the transport stream snapshot files to and from peers.
type snapshotStore struct{ snap *wal.Snapshotter }

func (ss snapshotStore) Open(meta raft.SnapshotMetadata) (io.ReadCloser, int64, error) {
	r, err := ss.snap.OpenSnap(meta.Term, meta.Index)
	if err != nil {
		return nil, 0, err
	}
	return r, r.Size, nil
}

func (ss snapshotStore) Save(meta raft.SnapshotMetadata, r io.Reader, size int64) error {
	return ss.snap.SaveSnapFrom(meta, r, size)
}
