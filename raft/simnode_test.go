package raft

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"slices"
)

// The simulated members of TestSimulation: what each one has on disk, its
// replicated state machine, and how it starts, crashes, and carries out a
// Ready the way a careful server does.

// simDisk is what a member has made durable. Writes that need no fsync (a
// hard state whose commit index alone changed) sit in a buffer that a crash
// may or may not have flushed.
type simDisk struct {
	hs       HardState
	buffered *HardState // written without fsync
	snap     *Snapshot  // latest snapshot, with the state machine's bytes
	ents     []Entry    // entries after the snapshot
}

func (d *simDisk) empty() bool { return d.hs.IsEmpty() && d.snap == nil && len(d.ents) == 0 }

// termAt returns the term of the persisted entry at index i, or 0.
func (d *simDisk) termAt(i uint64) uint64 {
	if len(d.ents) == 0 || i < d.ents[0].Index || i > d.ents[len(d.ents)-1].Index {
		return 0
	}
	return d.ents[i-d.ents[0].Index].Term
}

// saveEntries appends ents, replacing whatever was at their indexes and after.
func (d *simDisk) saveEntries(ents []Entry) {
	if len(ents) == 0 {
		return
	}
	first := ents[0].Index
	i := len(d.ents)
	for i > 0 && d.ents[i-1].Index >= first {
		i--
	}
	d.ents = append(d.ents[:i:i], ents...)
}

// simSM is the replicated state machine: a hash chain over every applied
// entry, plus the membership it accepted. Two members with equal hashes at
// an index applied exactly the same entries up to it.
type simSM struct {
	index, term uint64
	hash        uint64
	voters      []uint64
	removed     []uint64
}

func (sm *simSM) marshal() []byte {
	b := binary.AppendUvarint(nil, sm.index)
	b = binary.AppendUvarint(b, sm.term)
	b = binary.AppendUvarint(b, sm.hash)
	for _, list := range [][]uint64{sm.voters, sm.removed} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, id := range list {
			b = binary.AppendUvarint(b, id)
		}
	}
	return b
}

func unmarshalSM(b []byte) (simSM, error) {
	var sm simSM
	var vals []uint64
	for len(b) > 0 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return sm, errors.New("bad state machine snapshot")
		}
		vals = append(vals, v)
		b = b[n:]
	}
	if len(vals) < 5 {
		return sm, errors.New("short state machine snapshot")
	}
	sm.index, sm.term, sm.hash = vals[0], vals[1], vals[2]
	nv := int(vals[3])
	sm.voters = slices.Clone(vals[4 : 4+nv])
	sm.removed = slices.Clone(vals[5+nv:])
	return sm, nil
}

func chainHash(prev uint64, e *Entry, extra byte) uint64 {
	h := fnv.New64a()
	var b [40]byte
	buf := binary.LittleEndian.AppendUint64(b[:0], prev)
	buf = binary.LittleEndian.AppendUint64(buf, e.Index)
	buf = binary.LittleEndian.AppendUint64(buf, e.Term)
	buf = append(buf, byte(e.Type), extra)
	h.Write(buf)
	h.Write(e.Data)
	return h.Sum64()
}

// simNode is one member: its raft (nil while crashed), disk and state machine.
type simNode struct {
	id          uint64
	r           *Raft
	disk        simDisk
	sm          simSM
	pending     []Ready // taken, not yet persisted and advanced
	initial     bool    // a member of the first configuration
	incarnation int     // bumped by each crash, to ignore stale snapshot reports
	lastCommit  uint64  // commit index last seen by the checker
	role        Role
}

// start boots a node from its disk: a new member of the first configuration
// when it has nothing on disk (as a server with no data directory does), a
// joiner when it was added later, and a restart otherwise.
func (s *sim) start(n *simNode) {
	c := s.p.cfg
	c.ID = n.id
	c.Seed = s.seed*31 + uint64(n.incarnation)
	n.sm = simSM{}
	if n.disk.empty() {
		if n.initial {
			c.Peers = s.peers
		}
	} else {
		c.HardState = n.disk.hs
		if n.disk.buffered != nil && s.rng.IntN(2) == 0 {
			c.HardState = *n.disk.buffered // the unsynced write happened to reach the disk
		}
		c.Entries = n.disk.ents
		if n.disk.snap != nil {
			md := n.disk.snap.Metadata
			c.Snapshot = &md
			sm, err := unmarshalSM(n.disk.snap.Data)
			if err != nil {
				s.fail("node %d: %v", n.id, err)
				return
			}
			n.sm = sm
		}
	}
	n.disk.buffered = nil
	r, err := New(c)
	if err != nil {
		s.fail("node %d cannot restart from its disk: %v", n.id, err)
		return
	}
	n.r = r
	n.role = Follower
	n.lastCommit = r.log.committed
	s.tracef("n%d started: hs=%+v snap=%d ents=%d", n.id, c.HardState, n.sm.index, len(c.Entries))
}

func (s *sim) crash(n *simNode, why string) {
	s.tracef("n%d crashed (%s)", n.id, why)
	n.r = nil
	n.pending = nil // lost: it never reached the disk
	n.incarnation++
	s.stats.crashes++
}

// takeReady takes a Ready from the node and sends at once the messages
// that do not depend on its durability. The rest of the work waits in
// n.pending until the (simulated) disk gets to it: with a slow disk, several
// Readys are outstanding, as the Ready contract allows.
func (s *sim) takeReady(n *simNode) {
	rd := n.r.Ready()
	s.checkReady(n, &rd)
	for _, m := range rd.Messages {
		if !NeedsPersist(m) {
			s.send(n, m)
		}
	}
	n.pending = append(n.pending, rd)
}

// finishReady carries out the oldest pending Ready the way a careful
// server does, crashing before the fsync now and then.
func (s *sim) finishReady(n *simNode) {
	rd := n.pending[0]
	n.pending = n.pending[1:]
	if s.faulty && s.chance(s.p.midReadyCrash) {
		s.crash(n, "before persisting a Ready")
		return
	}
	d := &n.disk
	if hs := rd.HardState; hs.Term == d.hs.Term && d.hs.Vote != None && hs.Vote != d.hs.Vote {
		s.fail("node %d changes its vote in term %d from %d to %d", n.id, hs.Term, d.hs.Vote, hs.Vote)
		return
	}
	if hs := rd.HardState; !hs.IsEmpty() && hs.Term < d.hs.Term {
		s.fail("node %d's term goes back from %d to %d", n.id, d.hs.Term, hs.Term)
		return
	}
	if rd.Snapshot != nil {
		// A received snapshot replaces the whole log, including entries
		// past its index: they may conflict with the leader's.
		snap := *rd.Snapshot
		d.snap = &snap
		d.ents = nil
	}
	d.saveEntries(rd.Entries)
	if !rd.HardState.IsEmpty() {
		if rd.MustSync {
			d.hs = rd.HardState
			d.buffered = nil
		} else {
			hs := rd.HardState
			d.buffered = &hs
		}
	} else if rd.MustSync && d.buffered != nil {
		d.hs, d.buffered = *d.buffered, nil // an fsync flushes earlier writes too
	}
	for _, m := range rd.Messages {
		if NeedsPersist(m) {
			s.send(n, m)
		}
	}
	if rd.Snapshot != nil {
		sm, err := unmarshalSM(rd.Snapshot.Data)
		if err != nil {
			s.fail("node %d received a bad snapshot: %v", n.id, err)
			return
		}
		if sm.index != rd.Snapshot.Metadata.Index {
			s.fail("node %d: snapshot metadata index %d, state machine at %d", n.id, rd.Snapshot.Metadata.Index, sm.index)
		}
		if !slices.Equal(sm.voters, rd.Snapshot.Metadata.ConfState.Voters) {
			s.fail("node %d: snapshot ConfState %v, state machine voters %v", n.id, rd.Snapshot.Metadata.ConfState.Voters, sm.voters)
		}
		n.sm = sm
		s.checkApplied(n)
	}
	for i := range rd.CommittedEntries {
		s.apply(n, &rd.CommittedEntries[i])
	}
	for _, rs := range rd.ReadStates {
		s.checkRead(n, rs)
	}
	n.r.Advance(rd)
	s.afterStep(n)
	s.maybeSnapshot(n)
}

// apply applies one committed entry to the node's state machine.
func (s *sim) apply(n *simNode, e *Entry) {
	if e.Index != n.sm.index+1 {
		s.fail("node %d applies entry %d after %d", n.id, e.Index, n.sm.index)
		return
	}
	var accepted byte
	if e.Type == EntryConfChange {
		var cc ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			s.fail("node %d: conf change %d: %v", n.id, e.Index, err)
			return
		}
		sm := &n.sm
		ok := false
		switch cc.Type {
		case ConfChangeAddNode:
			ok = !slices.Contains(sm.voters, cc.NodeID) && !slices.Contains(sm.removed, cc.NodeID) && len(sm.voters) < 5
		case ConfChangeRemoveNode:
			ok = slices.Contains(sm.voters, cc.NodeID) && len(sm.voters) > 2
		}
		if ok {
			accepted = 1
			cs := n.r.ApplyConfChange(cc)
			if cc.Type == ConfChangeAddNode {
				sm.voters = append(sm.voters, cc.NodeID)
				slices.Sort(sm.voters)
			} else {
				sm.voters = slices.DeleteFunc(sm.voters, func(id uint64) bool { return id == cc.NodeID })
				sm.removed = append(sm.removed, cc.NodeID)
			}
			// (While applying the bootstrap entries, a first-configuration
			// member's raft already has the whole first configuration.)
			if e.Index > uint64(len(s.peers)) && !slices.Equal(cs.Voters, sm.voters) {
				s.fail("node %d: raft's configuration %v, the state machine's %v", n.id, cs.Voters, sm.voters)
			}
			s.stats.confChanges++
			s.tracef("n%d applied %v %d at %d: voters %v", n.id, cc.Type, cc.NodeID, e.Index, cs.Voters)
		}
	}
	n.sm.hash = chainHash(n.sm.hash, e, accepted)
	n.sm.index, n.sm.term = e.Index, e.Term
	s.checkApplied(n)
}

// maybeSnapshot takes a snapshot every snapEvery applied entries.
func (s *sim) maybeSnapshot(n *simNode) {
	if n.r == nil {
		return
	}
	var last uint64
	if n.disk.snap != nil {
		last = n.disk.snap.Metadata.Index
	}
	if n.sm.index < last+s.p.snapEvery || n.sm.index != n.r.log.applied {
		return
	}
	meta := SnapshotMetadata{Index: n.sm.index, Term: n.sm.term, ConfState: ConfState{Voters: slices.Clone(n.sm.voters)}}
	n.disk.snap = &Snapshot{Metadata: meta, Data: n.sm.marshal()}
	var kept []Entry
	for _, e := range n.disk.ents {
		if e.Index > meta.Index {
			kept = append(kept, e)
		}
	}
	n.disk.ents = kept
	switch err := n.r.Compact(meta); {
	case errors.Is(err, ErrSnapshotOutOfDate):
		// Raft already has a newer snapshot: one received from the leader
		// is still on its way to the disk, in a pending Ready.
	case err != nil:
		s.fail("node %d: Compact(%+v): %v", n.id, meta, err)
	default:
		s.stats.compactions++
	}
}
