package raft

import "fmt"

// Leadership transfer (§3.10 of Ongaro's thesis), used for a graceful
// shutdown or to move load. The leader stops accepting proposals, brings
// the chosen member's log up to date, then sends it MsgTimeoutNow: the
// member campaigns at once, without a pre-vote and past the other members'
// leader lease, and wins because its log is as up-to-date as any. If that
// has not happened within an election timeout, the leader gives up and
// accepts proposals again.

// TransferLeader asks the leader to hand leadership to member to. On a
// follower the request is forwarded to the leader. It returns an error when
// no leader is known, or (on the leader) when to is not a voter.
func (r *Raft) TransferLeader(to uint64) error {
	return r.step(Message{Type: MsgTransferLeader, From: r.id, Index: to})
}

// handleTransferLeader is the leader receiving a transfer request; the
// member to hand over to travels in m.Index.
func (r *Raft) handleTransferLeader(m Message) error {
	to := m.Index
	switch {
	case to == r.id:
		return nil // already the leader
	case !r.isVoter(to):
		if m.From != r.id {
			return nil // forwarded: the member that asked cannot be told
		}
		return fmt.Errorf("raft: cannot transfer leadership to %x: not a voter", to)
	case r.leadTransferee == to:
		return nil // already under way
	}
	r.logger.Info("transferring leadership", "to", fmt.Sprintf("%x", to), "term", r.term)
	r.leadTransferee = to
	r.electionElapsed = 0 // the transfer's deadline: one election timeout
	if r.progress[to].match == r.log.lastIndex() {
		r.sendTimeoutNow(to)
	} else {
		r.appendsDue = true // catch it up first; see handleAppendResponse
	}
	return nil
}

// sendTimeoutNow tells the transferee its log is up to date: campaign now.
func (r *Raft) sendTimeoutNow(to uint64) {
	r.send(Message{Type: MsgTimeoutNow, To: to})
}

// handleTimeoutNow is the transferee starting its election.
func (r *Raft) handleTimeoutNow(m Message) {
	r.logger.Info("campaigning at the leader's request", "from", fmt.Sprintf("%x", m.From), "term", r.term)
	r.hup(campaignTransfer)
}
