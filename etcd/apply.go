package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"

	"v2etcd/kv"
	"v2etcd/peer"
	"v2etcd/raft"
	"v2etcd/wal"
)

// The apply goroutine takes committed entries in log order and applies them:
// client requests to the store (waking the client that proposed each one),
// membership changes to the store, the cluster view and raft. It runs apart
// from the raft loop so that applying never delays heartbeats, and every
// --snapshot-count entries it snapshots the store.

// applyItem is one batch handed over by the raft loop: a snapshot to load
// (from the leader) and/or committed entries.
type applyItem struct {
	snapshot *raft.Snapshot
	entries  []raft.Entry
}

// applyQueue is an unbounded queue from the raft loop to the apply
// goroutine, so the raft loop never blocks on a slow apply.
type applyQueue struct {
	mu     sync.Mutex
	items  []applyItem
	closed bool
	signal chan struct{} // capacity 1: "there is something"
}

func newApplyQueue() *applyQueue { return &applyQueue{signal: make(chan struct{}, 1)} }

func (q *applyQueue) push(it applyItem) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// take waits for items and returns all of them; nil once closed and empty.
func (q *applyQueue) take() []applyItem {
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		closed := q.closed
		q.mu.Unlock()
		if len(items) > 0 || closed {
			return items
		}
		<-q.signal
	}
}

func (q *applyQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// applier is the apply goroutine's own state.
type applier struct {
	index, term uint64         // last applied entry
	snapIndex   uint64         // index of the last snapshot taken or loaded
	confState   raft.ConfState // membership at index
	snapping    sync.WaitGroup // a snapshot being written
}

func (s *server) applyLoop() {
	defer close(s.applyDone)
	for {
		items := s.queue.take()
		if items == nil {
			return
		}
		for _, it := range items {
			if it.snapshot != nil {
				s.applySnapshot(it.snapshot)
			}
			for i := range it.entries {
				s.applyEntry(&it.entries[i])
			}
		}
		s.appliedIndex.Store(s.ap.index)
		s.applied.Set(s.ap.index)
		s.maybeSnapshot()
	}
}

func (s *server) applyEntry(e *raft.Entry) {
	if e.Index <= s.ap.index {
		return // already in the store (loaded from a snapshot)
	}
	switch e.Type {
	case raft.EntryNormal:
		if len(e.Data) > 0 {
			s.applyRequest(e)
		}
	case raft.EntryConfChange:
		var cc raft.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			s.log.Error("skipping an undecodable conf change entry", "index", e.Index, "err", err)
		} else {
			s.applyConfChange(&cc)
		}
	}
	s.ap.index, s.ap.term = e.Index, e.Term
}

func (s *server) applyRequest(e *raft.Entry) {
	var req kv.Request
	if err := req.Unmarshal(e.Data); err != nil {
		// Every member skips the same entry, so they stay identical.
		s.log.Error("skipping an undecodable entry", "index", e.Index, "err", err)
		return
	}
	ev, err := s.store.Apply(&req)
	if err == nil && strings.HasPrefix(req.Path, "/0/") {
		s.cluster.noteWrite(req.Path, req.Val)
	}
	s.w.Trigger(req.ID, result{ev: ev, err: err})
}

// applyConfChange validates a membership change against the membership at
// this point of the log, and when it is valid applies it to raft, the store
// and the cluster view. An invalid change (a removed ID, an existing ID or
// URL) is refused the same way on every member; its proposer gets the error.
func (s *server) applyConfChange(cc *raft.ConfChange) {
	var ctx confChangeContext
	if len(cc.Context) > 0 {
		if err := json.Unmarshal(cc.Context, &ctx); err != nil {
			s.log.Error("skipping a conf change with an unreadable context", "err", err)
			s.w.Trigger(cc.ID, result{err: err})
			return
		}
	}
	id := peer.ID(cc.NodeID)
	kind := map[raft.ConfChangeType]confChangeKind{
		raft.ConfChangeAddNode: confAdd, raft.ConfChangeRemoveNode: confRemove, raft.ConfChangeUpdateNode: confUpdate,
	}[cc.Type]
	err := s.cluster.checkConfChange(kind, id, ctx.PeerURLs)
	if err == nil {
		s.ap.confState = s.applyToRaft(*cc)
		switch kind {
		case confAdd:
			err = s.cluster.applyAdd(s.store, id, ctx.PeerURLs)
			if err == nil && id != s.id {
				s.tr.AddPeer(id, ctx.PeerURLs)
			}
			s.log.Info("added member", "id", id.String(), "peerURLs", strings.Join(ctx.PeerURLs, ","), "cluster", s.clusterID.String())
		case confRemove:
			err = s.cluster.applyRemove(s.store, id)
			s.log.Info("removed member", "id", id.String(), "cluster", s.clusterID.String())
			if id == s.id {
				s.removedSelf()
			} else {
				s.tr.RemovePeer(id)
			}
		case confUpdate:
			err = s.cluster.applyUpdate(s.store, id, ctx.PeerURLs)
			if err == nil && id != s.id {
				s.tr.UpdatePeer(id, ctx.PeerURLs)
			}
			s.log.Info("updated member", "id", id.String(), "peerURLs", strings.Join(ctx.PeerURLs, ","))
		}
	}
	s.w.Trigger(cc.ID, result{err: err})
}

// applyToRaft hands an accepted conf change to the raft loop and waits for
// the new configuration.
func (s *server) applyToRaft(cc raft.ConfChange) raft.ConfState {
	a := confApply{cc: cc, reply: make(chan raft.ConfState, 1)}
	select {
	case s.confApplyc <- a:
	case <-s.stopping:
		return s.ap.confState
	}
	select {
	case cs := <-a.reply:
		return cs
	case <-s.stopping:
		return s.ap.confState
	}
}

// applySnapshot replaces the store with a snapshot the leader sent.
func (s *server) applySnapshot(snap *raft.Snapshot) {
	m := snap.Metadata
	if m.Index <= s.ap.index {
		return
	}
	data := snap.Data
	if len(data) == 0 { // the transport saved the file as it arrived
		full, err := s.snap.Load()
		if err != nil || full.Metadata.Index != m.Index {
			s.fatal("cannot load the snapshot received from the leader", err)
			return
		}
		data = full.Data
	}
	if err := s.store.Recover(data); err != nil {
		s.fatal("cannot load the snapshot received from the leader", err)
		return
	}
	if err := s.cluster.recover(s.store); err != nil {
		s.fatal("cannot read the membership from the snapshot", err)
		return
	}
	s.tr.SetPeers(s.cluster.Members(), s.id)
	s.ap.index, s.ap.term, s.ap.snapIndex, s.ap.confState = m.Index, m.Term, m.Index, m.ConfState
	s.log.Info("loaded a snapshot from the leader", "index", m.Index, "term", m.Term)
}

// maybeSnapshot takes a snapshot once more than --snapshot-count entries
// were applied since the last one. The store is serialized here (it holds
// a read lock while it writes into memory); writing the file, the WAL
// marker, compacting raft's log and purging old files happen in the
// background, one snapshot at a time.
func (s *server) maybeSnapshot() {
	if s.ap.index-s.ap.snapIndex <= s.cfg.snapshotCount() || s.snapshotting.Load() {
		return
	}
	var buf bytes.Buffer
	if err := s.store.Save(&buf); err != nil {
		s.log.Error("cannot serialize the store for a snapshot", "err", err)
		return
	}
	meta := raft.SnapshotMetadata{Index: s.ap.index, Term: s.ap.term, ConfState: s.ap.confState}
	s.ap.snapIndex = meta.Index
	s.snapshotting.Store(true)
	s.ap.snapping.Add(1)
	go func() {
		defer s.ap.snapping.Done()
		defer s.snapshotting.Store(false)
		if err := s.snap.SaveSnap(raft.Snapshot{Metadata: meta, Data: buf.Bytes()}); err != nil {
			s.log.Error("cannot save a snapshot", "index", meta.Index, "err", err)
			return
		}
		if err := s.wal.SaveSnapshot(wal.SnapshotMarker{Index: meta.Index, Term: meta.Term}); err != nil {
			s.log.Error("cannot record a snapshot in the WAL", "index", meta.Index, "err", err)
			return
		}
		s.log.Info("saved snapshot", "index", meta.Index)
		select {
		case s.compactc <- meta:
		case <-s.stopping:
			return
		}
		if err := s.wal.ReleaseTo(meta.Index); err != nil {
			s.log.Warn("cannot release old WAL segments", "err", err)
		}
		if err := s.snap.Purge(int(s.cfg.MaxSnapshots)); err != nil {
			s.log.Warn("cannot purge old snapshots", "err", err)
		}
	}()
}
