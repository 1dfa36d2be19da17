package main

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"v2etcd/peer"
	"v2etcd/raft"
	"v2etcd/wal"
)

// The raft loop is the only goroutine that touches the *raft.Raft. It feeds
// raft its inputs (ticks, messages from peers, proposals, read requests,
// conf changes, compaction) and after each input drains every Ready:
//
//  1. messages that do not depend on this Ready being durable go out first
//     (a leader's appends may travel while its own disk write happens);
//  2. the hard state and entries are written with one wal.Save, one fsync;
//  3. the remaining messages (votes, append acknowledgements) go out;
//  4. committed entries are queued for the apply goroutine, which never
//     blocks this loop;
//  5. read states are matched to the quorum reads waiting for them.
//
// On one member the commit that Advance produces comes out in the very next
// Ready, so a write is answered one fsync after it arrives; while that fsync
// runs, new proposals queue up and share the next one.

// proposal is a client write on its way into the log.
type proposal struct {
	id   uint64
	data []byte
}

// confProposal is a membership change on its way into the log.
type confProposal struct {
	cc   raft.ConfChange
	errc chan error
}

// confApply asks the raft loop to apply an accepted conf change.
type confApply struct {
	cc    raft.ConfChange
	reply chan raft.ConfState
}

func (s *server) raftLoop() {
	defer close(s.raftDone)
	tick := time.NewTicker(s.tickInterval)
	defer tick.Stop()
	for s.r.HasReady() { // a restart or a new cluster may have entries to apply at once
		if err := s.handleReady(); err != nil {
			s.fatal("cannot write to the WAL", err)
			return
		}
	}
	ticks := 0
	for {
		// While no leader is known, proposals and reads wait in their
		// channels (until their clients time out), as etcd holds them.
		propc, readc := s.propc, s.readNotify
		if s.lead.Load() == raft.None {
			propc, readc = nil, nil
		}
		select {
		case <-tick.C:
			s.r.Tick()
			if ticks++; ticks%s.cfg.electionTicks() == 0 && s.lead.Load() != raft.None {
				s.reproposeConfChanges()
			}
		case m := <-s.recvc:
			s.step(m)
			// Step everything already queued before the next Ready: a
			// follower then persists all the appends that arrived during
			// its last fsync with one fsync, instead of one each.
			for n := len(s.recvc); n > 0; n-- {
				s.step(<-s.recvc)
			}
		case p := <-propc:
			s.propose(p)
			for n := len(propc); n > 0; n-- { // everything already queued joins this batch
				s.propose(<-propc)
			}
		case <-readc:
			s.startRead()
		case p := <-s.confc:
			p.errc <- s.r.ProposeConfChange(p.cc)
		case a := <-s.confApplyc:
			a.reply <- s.r.ApplyConfChange(a.cc)
		case meta := <-s.compactc:
			if err := s.r.Compact(meta); err != nil {
				s.log.Warn("raft log compaction failed", "index", meta.Index, "err", err)
			}
		case f := <-s.reportc:
			f(s.r)
		case <-s.stopping:
			s.failPendingReads(errStopped)
			return
		}
		for s.r.HasReady() {
			if err := s.handleReady(); err != nil {
				s.fatal("cannot write to the WAL", err)
				return
			}
		}
	}
}

// step hands a message from a peer to raft.
func (s *server) step(m raft.Message) {
	if err := s.r.Step(m); err != nil {
		s.log.Debug("ignored a raft message", "type", m.Type.String(), "from", peer.ID(m.From).String(), "err", err)
	}
}

func (s *server) propose(p proposal) {
	if err := s.r.Propose(p.data); err != nil {
		s.metrics.proposalsFailed.With().Inc()
		s.w.Trigger(p.id, result{err: errProposalDropped})
	}
}

// handleReady persists, sends and hands on one Ready batch.
func (s *server) handleReady() error {
	rd := s.r.Ready()
	if !rd.HardState.IsEmpty() {
		s.term.Store(rd.HardState.Term)
		s.committed.Store(rd.HardState.Commit)
	}
	if rd.SoftState != nil {
		s.softStateChanged(rd.SoftState)
	}
	var afterSync []raft.Message
	early := rd.Messages[:0:0]
	for _, m := range rd.Messages {
		if raft.NeedsPersist(m) {
			afterSync = append(afterSync, m)
		} else {
			early = append(early, m)
		}
	}
	if len(early) > 0 {
		s.tr.Send(early)
	}
	if rd.Snapshot != nil {
		if err := s.persistReceivedSnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	if !rd.HardState.IsEmpty() || len(rd.Entries) > 0 {
		start := time.Now()
		if err := s.wal.Save(rd.HardState, rd.Entries); err != nil {
			return err
		}
		if rd.MustSync {
			s.metrics.fsyncSeconds.With().Observe(time.Since(start).Seconds())
		}
	}
	if len(afterSync) > 0 {
		s.tr.Send(afterSync)
	}
	if rd.Snapshot != nil || len(rd.CommittedEntries) > 0 {
		s.queue.push(applyItem{snapshot: rd.Snapshot, entries: rd.CommittedEntries})
	}
	for _, rs := range rd.ReadStates {
		s.readStateArrived(rs)
	}
	if last, ok := mustApplyBeforeAdvance(rd); ok && !s.waitApplied(last) {
		return nil // stopping
	}
	s.r.Advance(rd)
	return nil
}

// mustApplyBeforeAdvance reports whether rd holds a membership change (a
// conf-change entry, or a snapshot with its configuration), and the index
// the apply goroutine must reach first. Raft counts a conf change as
// applied at Advance and then accepts the next one, and a snapshot's
// configuration replaces raft's at Advance: so the changes before must be
// in raft's configuration, or declined, by then (see raft.Ready).
func mustApplyBeforeAdvance(rd raft.Ready) (uint64, bool) {
	var last uint64
	must := rd.Snapshot != nil
	if must {
		last = rd.Snapshot.Metadata.Index
	}
	for _, e := range rd.CommittedEntries {
		if e.Type == raft.EntryConfChange {
			must = true
		}
	}
	if n := len(rd.CommittedEntries); n > 0 {
		last = max(last, rd.CommittedEntries[n-1].Index)
	}
	return last, must
}

// waitApplied waits until the apply goroutine has applied index, serving
// its ApplyConfChange requests meanwhile (it makes them while applying the
// very entries waited for). It returns false if the server is stopping.
func (s *server) waitApplied(index uint64) bool {
	done := s.applied.Wait(index)
	for {
		select {
		case <-done:
			return true
		case a := <-s.confApplyc:
			a.reply <- s.r.ApplyConfChange(a.cc)
		case <-s.stopping:
			return false
		}
	}
}

// persistReceivedSnapshot makes a snapshot sent by the leader durable
// before raft's state moves past it: the file (unless the transport already
// saved it on arrival), then a marker in the WAL.
func (s *server) persistReceivedSnapshot(snap *raft.Snapshot) error {
	m := snap.Metadata
	if len(snap.Data) > 0 {
		if err := s.snap.SaveSnap(*snap); err != nil {
			return err
		}
	}
	return s.wal.SaveSnapshot(wal.SnapshotMarker{Index: m.Index, Term: m.Term})
}

// softStateChanged publishes the leader and role for readers, and starts
// the leader's duties when this member wins.
func (s *server) softStateChanged(ss *raft.SoftState) {
	old := peer.ID(s.lead.Swap(ss.Lead))
	s.isLeader.Store(ss.Role == raft.Leader)
	s.stats.setState(ss.Role, peer.ID(ss.Lead))
	if old != peer.ID(ss.Lead) {
		s.failPendingReads(errLeaderChanged)
		if ss.Lead != raft.None {
			s.metrics.leaderChanges.With().Inc()
			s.log.Info("elected leader", "leader", peer.ID(ss.Lead).String(), "term", s.term.Load())
		} else {
			s.log.Info("lost the leader", "previous", old.String())
		}
	}
	if ss.Role == raft.Leader {
		s.becameLeader()
	}
}

// reproposeConfChanges proposes again, once per election timeout, this
// member's membership changes that were not applied yet (see
// server.confChange): one lost with a dead leader reaches the new one. One
// still on its way is refused by the leader (one pending change at a time).
func (s *server) reproposeConfChanges() {
	s.pendingConfMu.Lock()
	ccs := make([]raft.ConfChange, 0, len(s.pendingConf))
	for _, cc := range s.pendingConf {
		ccs = append(ccs, cc)
	}
	s.pendingConfMu.Unlock()
	for _, cc := range ccs {
		s.r.ProposeConfChange(cc)
	}
}

// readBatch is every quorum read that arrived between two ReadIndex
// requests: one heartbeat round answers them all.
type readBatch struct {
	id   uint64
	done chan struct{}
	err  error
}

type readBatches struct {
	mu      sync.Mutex
	next    *readBatch            // collecting readers; guarded by mu
	seq     uint64                // raft loop only
	pending map[uint64]*readBatch // sent to raft, waiting for the read state; raft loop only
}

// join returns the batch a new reader joins.
func (rb *readBatches) join() *readBatch {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.next == nil {
		rb.next = &readBatch{done: make(chan struct{})}
	}
	return rb.next
}

// startRead sends the collecting batch to raft as one ReadIndex request.
func (s *server) startRead() {
	s.reads.mu.Lock()
	b := s.reads.next
	s.reads.next = nil
	s.reads.mu.Unlock()
	if b == nil {
		return
	}
	s.reads.seq++
	b.id = s.reads.seq
	// The leader tells pending requests apart by their context alone, so it
	// must be unique across the cluster: this member's ID, then the batch.
	ctx := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(s.id)), b.id)
	if err := s.r.ReadIndex(ctx); err != nil {
		b.err = errProposalDropped
		close(b.done)
		return
	}
	s.reads.pending[b.id] = b
}

// readStateArrived releases a batch once this member has applied up to the
// index the leader confirmed.
func (s *server) readStateArrived(rs raft.ReadState) {
	if len(rs.RequestCtx) != 16 || binary.BigEndian.Uint64(rs.RequestCtx) != uint64(s.id) {
		return
	}
	id := binary.BigEndian.Uint64(rs.RequestCtx[8:])
	b := s.reads.pending[id]
	if b == nil {
		return
	}
	delete(s.reads.pending, id)
	ch := s.applied.Wait(rs.Index)
	select {
	case <-ch:
		close(b.done)
	default:
		go func() {
			select {
			case <-ch:
			case <-s.stopping:
				b.err = errStopped
			}
			close(b.done)
		}()
	}
}

// failPendingReads ends every read sent to raft and not yet answered (the
// leader changed, so the answers may never come).
func (s *server) failPendingReads(err error) {
	for id, b := range s.reads.pending {
		b.err = err
		close(b.done)
		delete(s.reads.pending, id)
	}
}

// Errors a client can get instead of a result; etcd's texts (spec v2-api §2.6).
var (
	errTimeout = errors.New("etcdserver: request timed out")
	// errTimeoutLeaderFail is the timeout of a request during which the
	// term changed: its fate is unknown, most likely lost with the leader.
	errTimeoutLeaderFail = errors.New("etcdserver: request timed out, possibly due to previous leader failure")
	errStopped           = errors.New("etcdserver: server stopped")
	errLeaderChanged     = errors.New("etcdserver: leader changed")
	errProposalDropped   = errors.New("etcdserver: request dropped by raft (no leader or leadership moving)")
)
