package raft

import "slices"

// Status is a snapshot of a member's state, for monitoring and debugging.
type Status struct {
	ID        uint64
	Term      uint64
	Vote      uint64
	Lead      uint64
	Role      Role
	Commit    uint64
	Applied   uint64
	LastIndex uint64
	// Voters is the current configuration.
	Voters []uint64
	// LeadTransferee is the member leadership is being handed to, or None.
	LeadTransferee uint64
	// Progress describes each voter's replication, on the leader only.
	Progress map[uint64]ProgressStatus
}

// ProgressStatus is the leader's view of one member's log.
type ProgressStatus struct {
	Match, Next uint64
	State       ProgressState
	// RecentActive reports whether the member answered within the last
	// election timeout (the leader itself always counts as active).
	RecentActive bool
	// Paused reports whether the leader is holding back appends.
	Paused bool
	// PendingSnapshot is the index of the snapshot sent, in StateSnapshot.
	PendingSnapshot uint64
	// Inflight is the number of unacknowledged appends in StateReplicate.
	Inflight int
}

// Status returns the member's current state.
func (r *Raft) Status() Status {
	s := Status{
		ID: r.id, Term: r.term, Vote: r.vote, Lead: r.lead, Role: r.role,
		Commit: r.log.committed, Applied: r.log.applied, LastIndex: r.log.lastIndex(),
		Voters: slices.Clone(r.voters), LeadTransferee: r.leadTransferee,
	}
	if r.role == Leader {
		s.Progress = make(map[uint64]ProgressStatus, len(r.progress))
		for id, pr := range r.progress {
			s.Progress[id] = ProgressStatus{
				Match: pr.match, Next: pr.next, State: pr.state,
				RecentActive:    id == r.id || pr.recentlyActive(r.ticks, r.electionTimeout),
				Paused:          id != r.id && pr.paused(),
				PendingSnapshot: pr.pendingSnapshot,
				Inflight:        pr.inflight.count,
			}
		}
	}
	return s
}
