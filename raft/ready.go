package raft

import "slices"

// SoftState is volatile state worth showing: who leads, and our role.
type SoftState struct {
	Lead uint64
	Role Role
}

// Ready is a batch of work for the caller. Raft never does I/O: everything
// it wants done is collected into a Ready, which the caller carries out and
// then acknowledges with Advance.
//
// The persistence contract. For each Ready, in this order:
//
//  1. Persist Snapshot (if any), then Entries, then HardState, and fsync if
//     MustSync is set. A Snapshot replaces the whole persisted log: no entry
//     persisted before it may come back on a restart, not even one past its
//     index (it may conflict with the leader's log). Entries replace any
//     persisted entries at the same indexes and after them (a follower's
//     log can be cut back, §5.3).
//  2. Send Messages. A message for which NeedsPersist is true (a vote, a
//     vote granted, an append acknowledged) promises something about this
//     member's disk and must not leave before step 1 is done. Every other
//     message may be sent before or during step 1: this is how a leader
//     sends its appends while it writes the same entries to its own disk
//     (§10.2.1 of Ongaro's thesis). That is safe because the leader counts
//     its own copy towards a quorum only after Advance.
//  3. Apply: load Snapshot into the state machine (if any), then apply
//     CommittedEntries in order, calling ApplyConfChange for each conf
//     change the caller accepts. Serve ReadStates once applied reaches their
//     index.
//  4. Call Advance(rd).
//
// A caller that applies on another goroutine may call Advance before the
// normal entries are applied, as etcd's server does, but not before it has
// called ApplyConfChange for (or declined) every conf change among
// CommittedEntries: raft's configuration, the rule that only one change is
// pending, and the refusal to campaign with a change unapplied all take
// Advance to mean that conf changes up to there are applied. Raft also
// takes a received Snapshot's membership at Advance.
//
// Commit-index changes alone do not need an fsync: a member that forgets
// its commit index after a crash learns it again from the leader.
//
// Several Readys may be outstanding (taken but not yet advanced), as long
// as the caller carries them out one after the other, in the order it got
// them, each up to its Advance.
type Ready struct {
	// SoftState is the new soft state, or nil if unchanged.
	SoftState *SoftState
	// HardState is the state to persist (term, vote, commit), or the zero
	// HardState if unchanged.
	HardState HardState
	// Snapshot is a snapshot received from the leader, to persist and then
	// load into the state machine; nil if none. Its Data is whatever the
	// transport delivered with the message.
	Snapshot *Snapshot
	// Entries are log entries to persist.
	Entries []Entry
	// Messages are messages to send, each to its To member.
	Messages []Message
	// CommittedEntries are entries to apply to the state machine.
	CommittedEntries []Entry
	// ReadStates are answers to ReadIndex requests.
	ReadStates []ReadState
	// MustSync reports whether step 1 must end with an fsync: true when
	// there are entries or a snapshot, or the term or vote changed.
	MustSync bool
}

// NeedsPersist reports whether m may only be sent once the Ready that
// carried it is durable: it is a vote request (it counts the candidate's
// vote for itself), a granted vote, or an append acknowledgement.
func NeedsPersist(m Message) bool {
	switch m.Type {
	case MsgVote, MsgAppResp:
		return true
	case MsgVoteResp:
		return !m.Reject
	}
	return false
}

// flush builds the messages that are built lazily, so that everything that
// happened since the last Ready travels together.
func (r *Raft) flush() {
	r.flushAppends()
	r.flushReads()
}

// HasReady reports whether Ready would return anything.
func (r *Raft) HasReady() bool {
	r.flush()
	l := &r.log
	return r.softState() != r.prevSoft ||
		r.hardState() != r.prevHard ||
		(l.snapshot != nil && !l.snapshotOut) ||
		l.persisting < l.lastIndex() ||
		len(r.msgs) > 0 ||
		(l.applying < l.committed && l.snapshot == nil) ||
		len(r.readStates) > 0
}

// Ready returns the work that accumulated since the previous Ready.
func (r *Raft) Ready() Ready {
	r.flush()
	var rd Ready
	l := &r.log
	if ss := r.softState(); ss != r.prevSoft {
		r.prevSoft = ss
		rd.SoftState = &SoftState{Lead: ss.Lead, Role: ss.Role}
	}
	if hs := r.hardState(); hs != r.prevHard {
		rd.HardState = hs
		rd.MustSync = hs.Term != r.prevHard.Term || hs.Vote != r.prevHard.Vote
		r.prevHard = hs
	}
	if l.snapshot != nil && !l.snapshotOut {
		rd.Snapshot = l.snapshot
		l.snapshotOut = true
		rd.MustSync = true
	}
	if last := l.lastIndex(); l.persisting < last {
		rd.Entries = l.span(l.persisting+1, last+1)
		l.persisting = last
		rd.MustSync = true
	}
	rd.Messages, r.msgs = r.msgs, nil
	// While a received snapshot is not yet applied, the entries after it
	// wait: the caller applies the snapshot, and raft takes its membership
	// (Advance), before any conf change that follows it.
	if l.applying < l.committed && l.snapshot == nil {
		rd.CommittedEntries = l.span(l.applying+1, l.committed+1)
		l.applying = l.committed
	}
	rd.ReadStates, r.readStates = r.readStates, nil
	return rd
}

// Advance tells raft that the caller has carried out rd: persisted it, sent
// its messages and applied its committed entries.
func (r *Raft) Advance(rd Ready) {
	l := &r.log
	if rd.Snapshot != nil {
		if l.snapshot == rd.Snapshot {
			// The caller loaded the snapshot: its membership is the
			// membership now (§6 changes take effect when applied).
			l.snapshot, l.snapshotOut = nil, false
			r.voters = slices.Sorted(slices.Values(rd.Snapshot.Metadata.ConfState.Voters))
		}
		l.applied = max(l.applied, rd.Snapshot.Metadata.Index)
	}
	if n := len(rd.Entries); n > 0 {
		// Entries replaced since this Ready was built are not durable:
		// only advance if the last one is still in the log.
		e := &rd.Entries[n-1]
		if e.Index > l.stabled && l.matchTerm(e.Index, e.Term) {
			l.stabled = e.Index
		}
	}
	if n := len(rd.CommittedEntries); n > 0 {
		l.applied = max(l.applied, rd.CommittedEntries[n-1].Index)
	}
	if r.role == Leader {
		// The leader's own copy counts towards a quorum only now that it is
		// durable.
		if pr := r.progress[r.id]; pr != nil && pr.acknowledge(l.stabled) {
			if r.maybeCommit() {
				r.releasePendingReads()
			}
		}
	}
}
