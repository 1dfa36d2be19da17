package raft

import (
	"fmt"
	"strings"
)

// The checker of TestSimulation: the safety properties of Raft, checked
// after every step, and liveness once the faults are healed.

// afterStep runs the checks that need the node's state after any input.
func (s *sim) afterStep(n *simNode) {
	if n.r == nil || s.err != nil {
		return
	}
	r := n.r
	if l := &r.log; l.applied > l.applying || l.applying > l.committed || l.committed > l.lastIndex() ||
		l.stabled > l.persisting || l.persisting > l.lastIndex() {
		s.fail("node %d: log positions out of order: %+v", n.id, *l)
		return
	}
	if r.role != n.role {
		if r.role == Leader {
			s.stats.elections++
			s.checkNewLeader(n)
		}
		if (r.role == Candidate || r.role == PreCandidate) && !r.isVoter(r.id) {
			s.fail("node %d campaigns but is not in its configuration %v", n.id, r.voters)
		}
		s.tracef("n%d became %v at term %d (last %d/%d, commit %d, voters %v)", n.id, r.role, r.term,
			r.log.lastIndex(), r.log.lastTerm(), r.log.committed, r.voters)
		n.role = r.role
	}
	if r.role == Leader {
		pending := 0
		for i := max(r.log.applied+1, r.log.firstIndex()); i <= r.log.lastIndex(); i++ {
			if r.log.entry(i).Type == EntryConfChange {
				pending++
			}
		}
		if pending > 1 {
			s.fail("leader %d holds %d conf changes not yet applied", n.id, pending)
		}
		if lead, ok := s.leaders[r.term]; ok && lead != n.id {
			s.fail("two leaders in term %d: %d and %d", r.term, lead, n.id)
		}
		s.leaders[r.term] = n.id
	}
	if c := r.log.committed; c > n.lastCommit {
		for i := max(n.lastCommit+1, r.log.firstIndex()); i <= c; i++ {
			t, _ := r.log.term(i)
			if want, ok := s.committedTerm[i]; ok && want != t {
				s.fail("node %d commits entry %d of term %d, but an entry of term %d committed there", n.id, i, t, want)
				return
			}
			s.committedTerm[i] = t
		}
		if c > s.maxCommitted {
			s.stats.committed += int(c - s.maxCommitted)
			s.maxCommitted = c
		}
		n.lastCommit = c
	}
}

// checkNewLeader checks Leader Completeness (§5.4): a new leader holds every
// committed entry.
func (s *sim) checkNewLeader(n *simNode) {
	l := &n.r.log
	c := s.maxCommitted
	if c <= l.prevIndex {
		return
	}
	if t, ok := l.term(c); !ok || t != s.committedTerm[c] {
		s.fail("node %d became leader of term %d without committed entry %d (term %d); its log ends at %d/%d",
			n.id, n.r.term, c, s.committedTerm[c], l.lastIndex(), l.lastTerm())
	}
}

// checkReady checks Log Matching on every entry about to be persisted: an
// (index, term) pair always stands for the same log prefix, and a committed
// entry is never replaced.
func (s *sim) checkReady(n *simNode, rd *Ready) {
	for i := range rd.Entries {
		e := &rd.Entries[i]
		var prevTerm uint64
		if i > 0 {
			prevTerm = rd.Entries[i-1].Term
		} else {
			var ok bool
			if prevTerm, ok = n.r.log.term(e.Index - 1); !ok {
				s.fail("node %d persists entry %d without knowing the term before it", n.id, e.Index)
				return
			}
		}
		parent, ok := s.chain[[2]uint64{e.Index - 1, prevTerm}]
		if !ok {
			s.fail("node %d persists entry %d/%d after an entry %d/%d never seen", n.id, e.Index, e.Term, e.Index-1, prevTerm)
			return
		}
		h := chainHash(parent, e, 0)
		key := [2]uint64{e.Index, e.Term}
		if old, ok := s.chain[key]; ok && old != h {
			s.fail("log matching violated: node %d's entry %d/%d differs from another log's", n.id, e.Index, e.Term)
			return
		}
		s.chain[key] = h
		// A stale leader may append to its own log at indexes committed
		// elsewhere; what must never happen is that a member holding the
		// committed entry replaces it.
		if t, ok := s.committedTerm[e.Index]; ok && t != e.Term && n.disk.termAt(e.Index) == t {
			s.fail("node %d overwrites committed entry %d (term %d) with term %d", n.id, e.Index, t, e.Term)
			return
		}
	}
}

// checkApplied checks State Machine Safety: every member that applied an
// index holds the same state there.
func (s *sim) checkApplied(n *simNode) {
	if h, ok := s.appliedHash[n.sm.index]; ok && h != n.sm.hash {
		s.fail("node %d applied different entries up to %d than another member", n.id, n.sm.index)
		return
	}
	s.appliedHash[n.sm.index] = n.sm.hash
}

// checkRead checks that a read index covers every write committed before
// the read was asked.
func (s *sim) checkRead(n *simNode, rs ReadState) {
	rq, ok := s.reads[string(rs.RequestCtx)]
	if !ok || rq.node != n.id {
		s.fail("node %d got an answer to a read it did not ask: %q", n.id, rs.RequestCtx)
		return
	}
	if rs.Index < rq.minIndex {
		s.fail("node %d: read %q answered with index %d, but %d had committed before it was asked",
			n.id, rs.RequestCtx, rs.Index, rq.minIndex)
	}
	s.stats.reads++ // (a duplicated message can answer a read twice)
}

// healAndCheckLiveness ends the faults, then requires that a leader is
// elected and that a new proposal commits on every voter in bounded time.
func (s *sim) healAndCheckLiveness() {
	s.faulty = false
	s.p.maxDelay = 1
	clear(s.cut)
	for _, id := range s.sortedIDs() {
		if n := s.nodes[id]; n.r == nil {
			s.start(n)
		}
	}
	s.tracef("healed everything")
	et := s.p.cfg.ElectionTick
	var lead *simNode
	deadline := s.tick + simHealTicks*et
	for ; s.tick < deadline && s.err == nil; s.tick++ {
		s.runTick()
		if lead = s.stableLeader(); lead != nil {
			break
		}
	}
	if s.err != nil {
		return
	}
	if lead == nil {
		s.fail("no leader %d ticks after healing:\n%s", simHealTicks*et, s.statuses())
		return
	}
	// The leader may hold a backlog of entries appended while it could not
	// reach a quorum; draining it takes at most a tick per entry (a round
	// trip is under a tick now, and carries at least one entry).
	backlog := int(lead.r.log.lastIndex() - lead.r.log.committed)
	data := []byte(fmt.Sprintf("final-%d", s.seed))
	deadline = s.tick + simCommitTicks*et + backlog
	var index uint64 // where the proposal landed in the leader's log
	for ; s.tick < deadline && s.err == nil; s.tick++ {
		lead = s.stableLeader()
		if lead != nil && index == 0 {
			if err := lead.r.Propose(data); err == nil {
				index = lead.r.log.lastIndex()
			}
		}
		s.runTick()
		if index > 0 && s.allVotersApplied(&index, data) {
			return
		}
	}
	if s.err == nil {
		s.fail("a proposal made after healing did not commit on every voter within %d ticks:\n%s",
			simCommitTicks*et, s.statuses())
	}
}

// statuses describes every live node, for failure reports.
func (s *sim) statuses() string {
	var status []string
	for _, n := range s.live() {
		status = append(status, fmt.Sprintf("%+v", n.r.Status()))
	}
	return strings.Join(status, "\n")
}

// stableLeader returns the leader that every live voter of its
// configuration follows, if any. (A removed member may still believe it
// leads an old term, cut off by the others.)
func (s *sim) stableLeader() *simNode {
	for _, lead := range s.live() {
		if lead.r.role != Leader {
			continue
		}
		followed := true
		for _, id := range lead.r.voters {
			n := s.nodes[id]
			if n.r == nil || n.r.lead != lead.id || n.r.term != lead.r.term {
				followed = false
			}
		}
		if followed {
			return lead
		}
	}
	return nil
}

// allVotersApplied reports whether the entry at index is committed with
// data and every voter of the leader's configuration applied it.
func (s *sim) allVotersApplied(indexp *uint64, data []byte) bool {
	index := *indexp
	lead := s.stableLeader()
	if lead == nil {
		return false
	}
	if l := &lead.r.log; index > l.lastIndex() || (index > l.prevIndex && string(l.entry(index).Data) != string(data)) {
		// The proposal was lost with the leader that took it (never
		// committed, then replaced): legitimate, propose again.
		*indexp = 0
		return false
	}
	if lead.sm.index < index {
		return false
	}
	for _, id := range lead.r.voters {
		if s.nodes[id].sm.index < index {
			return false
		}
	}
	return true
}
