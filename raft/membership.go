package raft

import (
	"fmt"
	"slices"
)

// Membership changes (§6), one server at a time: each change adds or
// removes a single voter, so any quorum of the old configuration overlaps
// any quorum of the new one and no two leaders can be elected in one term.
//
// A change travels as an EntryConfChange entry and takes effect on each
// member when the caller applies that entry and calls ApplyConfChange, not
// when it is appended. The caller may decline a change it finds invalid by
// not calling ApplyConfChange; every member declines the same ones, since
// they apply the same log. Safety then needs two rules, both enforced by
// the leader:
//
//   - at most one change is pending: a new one is refused until the previous
//     one (tracked by its log index, pendingConfIndex) has been applied;
//   - a new leader accepts no change until it has applied the empty entry of
//     its term, that is, until every change from earlier terms has been
//     applied and it has committed an entry of its own term.

// isVoter reports whether id is a voter of the current configuration.
func (r *Raft) isVoter(id uint64) bool {
	_, found := slices.BinarySearch(r.voters, id)
	return found
}

// quorum is the number of voters that make a majority.
func (r *Raft) quorum() int { return len(r.voters)/2 + 1 }

// ProposeConfChange proposes a membership change. It returns
// ErrProposalDropped when there is no leader, when the leader is handing over
// leadership, and (on the leader) when another change is still pending.
func (r *Raft) ProposeConfChange(cc ConfChange) error {
	if cc.Type > ConfChangeUpdateNode || cc.NodeID == None {
		return fmt.Errorf("raft: invalid conf change %v of member %x", cc.Type, cc.NodeID)
	}
	e := Entry{Type: EntryConfChange, Data: cc.AppendTo(nil)}
	return r.step(Message{Type: MsgProp, From: r.id, Entries: []Entry{e}})
}

// checkConfChangeProposal reports why the leader cannot append a conf
// change entry now.
func (r *Raft) checkConfChangeProposal(data []byte) error {
	var cc ConfChange
	if err := cc.Unmarshal(data); err != nil {
		return fmt.Errorf("raft: undecodable conf change: %w", err)
	}
	if r.pendingConfIndex > r.log.applied {
		return fmt.Errorf("%w: the conf change at index %d is not applied yet", ErrProposalDropped, r.pendingConfIndex)
	}
	return nil
}

// ApplyConfChange applies a committed membership change to raft's
// configuration and returns the new configuration. The caller calls it
// when it applies the conf change entry, in log order, and only for changes
// it accepts. Adding a voter that is present, or removing one that is
// absent, changes nothing.
//
// On the leader, a new voter starts being probed at once, a removed one is
// forgotten (and the quorum shrinks, which may commit entries), and if the
// leader itself was removed it steps down: the change is committed, so the
// remaining members can elect a leader among themselves.
func (r *Raft) ApplyConfChange(cc ConfChange) ConfState {
	if cc.NodeID != None {
		switch cc.Type {
		case ConfChangeAddNode:
			r.addVoter(cc.NodeID)
		case ConfChangeRemoveNode:
			r.removeVoter(cc.NodeID)
		}
	}
	return r.ConfState()
}

// ConfState returns the current configuration.
func (r *Raft) ConfState() ConfState {
	return ConfState{Voters: slices.Clone(r.voters)}
}

func (r *Raft) addVoter(id uint64) {
	i, found := slices.BinarySearch(r.voters, id)
	if found {
		return
	}
	r.voters = slices.Insert(r.voters, i, id)
	r.logger.Info("added a voter", "member", fmt.Sprintf("%x", id), "voters", len(r.voters))
	if r.role == Leader {
		r.progress[id] = newProgress(r.log.lastIndex()+1, r.maxInflight, r.ticks)
		r.appendsDue = true
	}
}

func (r *Raft) removeVoter(id uint64) {
	i, found := slices.BinarySearch(r.voters, id)
	if !found {
		return
	}
	r.voters = slices.Delete(r.voters, i, i+1)
	r.logger.Info("removed a voter", "member", fmt.Sprintf("%x", id), "voters", len(r.voters))
	if r.role != Leader {
		return
	}
	if id == r.id {
		r.logger.Info("stepping down: this member was removed", "term", r.term)
		r.becomeFollower(r.term, None)
		return
	}
	delete(r.progress, id)
	if r.leadTransferee == id {
		r.leadTransferee = None
	}
	// A smaller quorum may commit entries, and confirm reads, already.
	if r.maybeCommit() {
		r.releasePendingReads()
	}
	r.reads.recount(r)
}
