package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"v2etcd/kv"
	"v2etcd/peer"
	"v2etcd/raft"
	"v2etcd/wal"
)

// memberState is everything a member starts from: its identity, its log,
// its store and membership, and the raft restart state.
type memberState struct {
	id, clusterID peer.ID
	wal           *wal.WAL
	snap          *wal.Snapshotter
	store         *kv.Store
	cluster       *cluster
	raft          raft.Config // restart fields filled in
	snapIndex     uint64      // index of the snapshot the store was loaded from
	snapTerm      uint64
	confState     raft.ConfState
	// seedPeers are members to reach before the log says who they are: the
	// live members a joining member fetched.
	seedPeers []*peer.Member
}

func (c *Config) snapDir() string { return filepath.Join(c.memberDir(), "snap") }

// walOptions are the options of the member's WAL. With V2ETCD_WAL_SYNC_LOG
// set, every fsync is recorded in that file (see walsynclog.go).
func (c *Config) walOptions(log *slog.Logger) wal.Options {
	o := wal.Options{MaxSegments: int(c.MaxWALs), Logger: log.With(pkgKey, "wal")}
	if c.walSyncLog != nil {
		o.OnSync = c.walSyncLog.record
	}
	return o
}

// bootstrapNewMember creates the data directory of a member of a new
// cluster: the WAL, holding as its first entries one committed
// ConfChangeAddNode per initial member (term 1, in ID order, each carrying
// the member's peer URLs), so every member of the new cluster starts from
// the same log. Applying those entries writes the membership into the store.
func bootstrapNewMember(c *Config, self peer.ID, members []*peer.Member, log *slog.Logger) (*memberState, error) {
	ids := make([]peer.ID, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	cid := peer.ClusterID(ids)
	if err := os.MkdirAll(c.memberDir(), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create member directory: %w", err)
	}
	w, err := wal.Create(c.walDir(), wal.Metadata{MemberID: uint64(self), ClusterID: uint64(cid)}, c.walOptions(log))
	if err != nil {
		return nil, err
	}
	ents := make([]raft.Entry, len(members))
	for i, m := range members {
		ctx, _ := json.Marshal(confChangeContext{ID: m.ID.String(), PeerURLs: m.PeerURLs.Strings()})
		cc := raft.ConfChange{Type: raft.ConfChangeAddNode, NodeID: uint64(m.ID), Context: ctx}
		ents[i] = raft.Entry{Term: 1, Index: uint64(i + 1), Type: raft.EntryConfChange, Data: cc.AppendTo(nil)}
	}
	hs := raft.HardState{Term: 1, Commit: uint64(len(ents))}
	if err := w.Save(hs, ents); err != nil {
		w.Close()
		return nil, err
	}
	st := &memberState{
		id: self, clusterID: cid, wal: w,
		snap:    wal.NewSnapshotter(c.snapDir(), log.With(pkgKey, "snap")),
		store:   kv.New(),
		cluster: newCluster(cid),
	}
	st.raft.HardState, st.raft.Entries = hs, ents
	return st, nil
}

// restartMember opens an existing data directory: the newest snapshot the
// WAL can replay from, then the WAL after it. The member and cluster IDs
// come from the WAL only; bootstrap flags are not used.
func restartMember(c *Config, log *slog.Logger) (*memberState, error) {
	snap := wal.NewSnapshotter(c.snapDir(), log.With(pkgKey, "snap"))
	markers, err := wal.Markers(c.walDir())
	if err != nil {
		return nil, err
	}
	s, err := snap.LoadNewestAvailable(markers)
	if err != nil && !errors.Is(err, wal.ErrNoSnapshot) {
		return nil, err
	}
	at := wal.SnapshotMarker{Index: s.Metadata.Index, Term: s.Metadata.Term}
	w, err := wal.Open(c.walDir(), at, c.walOptions(log))
	if err != nil {
		return nil, err
	}
	md, hs, ents, err := w.ReadAll()
	if err != nil {
		w.Close()
		return nil, err
	}
	st := &memberState{
		id: peer.ID(md.MemberID), clusterID: peer.ID(md.ClusterID), wal: w, snap: snap,
		store: kv.New(), cluster: newCluster(peer.ID(md.ClusterID)),
		snapIndex: s.Metadata.Index, snapTerm: s.Metadata.Term, confState: s.Metadata.ConfState,
	}
	if s.Metadata.Index > 0 {
		if err := st.store.Recover(s.Data); err != nil {
			w.Close()
			return nil, fmt.Errorf("etcdserver: recover store from snapshot %s: %w", wal.SnapName(s.Metadata.Term, s.Metadata.Index), err)
		}
		if err := st.cluster.recover(st.store); err != nil {
			w.Close()
			return nil, err
		}
		meta := s.Metadata
		st.raft.Snapshot = &meta
		st.raft.Applied = meta.Index
	}
	st.raft.HardState, st.raft.Entries = hs, ents
	return st, nil
}
