package raft

import (
	"bytes"
	"fmt"
)

// Leader election (§5.2), with the two refinements from Ongaro's thesis
// that keep a cluster stable when members are cut off and come back:
// pre-vote (§9.6) and CheckQuorum with its leader lease (§6.2).

// campaignKind says why a member campaigns.
type campaignKind uint8

const (
	campaignPreElection campaignKind = iota // ask first whether we could win
	campaignElection                        // a normal election (§5.2)
	campaignTransfer                        // the leader asked us to take over
)

// transferContext marks the vote requests of a leader transfer, which
// members grant even during their leader lease.
var transferContext = []byte("transfer")

func isTransferCampaign(m Message) bool {
	return m.Type == MsgVote && bytes.Equal(m.Context, transferContext)
}

// Tick advances the member's clock by one tick. The caller calls it at a
// fixed interval; every timeout is counted in ticks.
func (r *Raft) Tick() {
	r.ticks++
	if r.role == Leader {
		r.tickLeader()
	} else {
		r.tickElection()
	}
}

// tickElection is a follower's or candidate's clock: when the randomized
// election timeout passes without word from a leader, campaign (§5.2).
func (r *Raft) tickElection() {
	r.electionElapsed++
	if r.promotable() && r.electionElapsed >= r.randomizedElectionTimeout {
		r.electionElapsed = 0
		r.step(Message{Type: MsgHup, From: r.id})
	}
}

// tickLeader is the leader's clock: heartbeats every heartbeat timeout
// (§5.2), the CheckQuorum test, and the deadline of a leadership transfer.
func (r *Raft) tickLeader() {
	r.heartbeatElapsed++
	r.electionElapsed++
	if r.electionElapsed >= r.electionTimeout {
		r.electionElapsed = 0
		if r.leadTransferee != None {
			r.logger.Info("leadership transfer timed out", "to", fmt.Sprintf("%x", r.leadTransferee), "term", r.term)
			r.leadTransferee = None
		}
	}
	if r.checkQuorum && !r.quorumActive() {
		r.logger.Info("stepping down: no quorum heard from within an election timeout", "term", r.term)
		r.becomeFollower(r.term, None)
		return
	}
	if r.heartbeatElapsed >= r.heartbeatTimeout {
		r.heartbeatElapsed = 0
		r.step(Message{Type: MsgBeat, From: r.id})
	}
}

// quorumActive reports whether a quorum of voters (the leader included)
// answered within the last election timeout.
func (r *Raft) quorumActive() bool {
	active := 0
	for _, id := range r.voters {
		if id == r.id || r.progress[id].recentlyActive(r.ticks, r.electionTimeout) {
			active++
		}
	}
	return active >= r.quorum()
}

func (pr *progress) recentlyActive(now uint64, window int) bool {
	return now-pr.lastHeard < uint64(window)
}

// promotable reports whether this member may campaign: only voters may.
func (r *Raft) promotable() bool { return r.isVoter(r.id) }

// hup starts an election, unless this member is not a voter, or has a
// committed conf change or a received snapshot it has not applied yet (its
// idea of the membership might be out of date).
func (r *Raft) hup(kind campaignKind) {
	switch {
	case !r.promotable():
		r.logger.Debug("not campaigning: not a voter", "term", r.term)
		return
	case r.log.hasConfChangeToApply():
		r.logger.Info("not campaigning: a committed conf change is not applied yet", "term", r.term)
		return
	case r.log.snapshot != nil:
		r.logger.Info("not campaigning: a received snapshot is not applied yet", "term", r.term)
		return
	}
	if kind == campaignElection && r.preVote {
		kind = campaignPreElection
	}
	r.campaign(kind)
}

// campaign asks every voter for its vote: in the next term, or, for a
// pre-vote, whether it would vote in the next term. The member votes for
// itself first (§5.2).
func (r *Raft) campaign(kind campaignKind) {
	var voteType MessageType
	var term uint64
	if kind == campaignPreElection {
		r.becomePreCandidate()
		voteType, term = MsgPreVote, r.term+1
	} else {
		r.becomeCandidate()
		voteType, term = MsgVote, r.term
	}
	r.votes[r.id] = true
	if r.tally() == voteWon {
		r.wonVote() // a single-member cluster
		return
	}
	var ctx []byte
	if kind == campaignTransfer {
		ctx = transferContext
	}
	for _, id := range r.voters {
		if id != r.id {
			r.send(Message{Type: voteType, To: id, Term: term,
				Index: r.log.lastIndex(), LogTerm: r.log.lastTerm(), Context: ctx})
		}
	}
}

// handleVoteRequest answers RequestVote (§5.2, §5.4.1) and its pre-vote
// variant. Terms have already been reconciled by step: a real vote request
// from a newer term made us a follower of that term.
//
// A member grants its vote if it has not voted for someone else in this
// term (one vote per term, persisted through Ready.HardState before the
// answer is sent) and the candidate's log is at least as up-to-date as its
// own. A pre-vote is granted on the log check alone when it is for a later
// term, and changes nothing: it promises no vote.
func (r *Raft) handleVoteRequest(m Message) {
	respType := MsgVoteResp
	if m.Type == MsgPreVote {
		respType = MsgPreVoteResp
	}
	canVote := r.vote == m.From ||
		(r.vote == None && r.lead == None) ||
		(m.Type == MsgPreVote && m.Term > r.term)
	if canVote && r.log.isUpToDate(m.Index, m.LogTerm) {
		r.send(Message{Type: respType, To: m.From, Term: m.Term})
		if m.Type == MsgVote {
			r.electionElapsed = 0
			r.vote = m.From
		}
		return
	}
	r.send(Message{Type: respType, To: m.From, Term: r.term, Reject: true})
}

// handleVoteResponse counts an answer to our (pre-)vote request.
func (r *Raft) handleVoteResponse(m Message) {
	if (r.role == Candidate) != (m.Type == MsgVoteResp) {
		return // an answer to the other phase
	}
	if _, ok := r.votes[m.From]; !ok {
		r.votes[m.From] = !m.Reject
	}
	switch r.tally() {
	case voteWon:
		r.wonVote()
	case voteLost:
		// A pre-candidate keeps its term; a candidate keeps the term it
		// entered. Either way someone else may win: follow and wait.
		r.becomeFollower(r.term, None)
	}
}

// wonVote moves on after a quorum granted our (pre-)vote.
func (r *Raft) wonVote() {
	if r.role == PreCandidate {
		r.campaign(campaignElection)
		return
	}
	r.becomeLeader()
}

type voteResult uint8

const (
	votePending voteResult = iota
	voteWon
	voteLost
)

// tally counts the votes of the current configuration's voters.
func (r *Raft) tally() voteResult {
	granted, rejected := 0, 0
	for _, id := range r.voters {
		if v, ok := r.votes[id]; ok {
			if v {
				granted++
			} else {
				rejected++
			}
		}
	}
	switch q := r.quorum(); {
	case granted >= q:
		return voteWon
	case rejected > len(r.voters)-q:
		return voteLost
	}
	return votePending
}

// reset prepares for a new role in term: a new term clears the vote, and
// everything that belonged to the previous role is forgotten.
func (r *Raft) reset(term uint64) {
	if r.term != term {
		r.term = term
		r.vote = None
	}
	r.lead = None
	r.electionElapsed = 0
	r.heartbeatElapsed = 0
	r.randomizedElectionTimeout = r.electionTimeout + r.rand.IntN(r.electionTimeout)
	clear(r.votes)
	r.progress = nil
	r.leadTransferee = None
	r.reads.reset()
	r.appendsDue = false
}

// becomeFollower makes this member a follower in term, of lead (None if
// unknown).
func (r *Raft) becomeFollower(term, lead uint64) {
	was := r.role
	oldTerm := r.term
	r.reset(term)
	r.role = Follower
	r.lead = lead
	if was != Follower || oldTerm != term {
		r.logger.Info("became follower", "term", term, "leader", fmt.Sprintf("%x", lead))
	}
}

// becomePreCandidate starts a pre-vote: unlike becomeCandidate it changes
// neither the term nor the vote, so a member that cannot win leaves no trace.
func (r *Raft) becomePreCandidate() {
	r.role = PreCandidate
	r.lead = None
	clear(r.votes)
	r.electionElapsed = 0
	r.randomizedElectionTimeout = r.electionTimeout + r.rand.IntN(r.electionTimeout)
	r.logger.Info("became pre-candidate", "term", r.term)
}

// becomeCandidate enters a new term and votes for itself (§5.2).
func (r *Raft) becomeCandidate() {
	r.reset(r.term + 1)
	r.vote = r.id
	r.role = Candidate
	r.logger.Info("became candidate", "term", r.term)
}

// becomeLeader takes over after winning an election: fresh progress for every
// voter (Figure 2: nextIndex = last log index + 1, matchIndex = 0), and an
// empty entry of the new term, which commits the entries of earlier terms
// with it (§5.4.2) and lets ReadIndex answer (§8).
func (r *Raft) becomeLeader() {
	r.reset(r.term)
	r.role = Leader
	r.lead = r.id
	r.progress = make(map[uint64]*progress, len(r.voters))
	next := r.log.lastIndex() + 1
	for _, id := range r.voters {
		r.progress[id] = newProgress(next, r.maxInflight, r.ticks)
	}
	if pr := r.progress[r.id]; pr != nil {
		pr.match = r.log.stabled
		pr.becomeReplicate()
	}
	r.appendEntries(Entry{})
	// No conf change may be proposed before this entry is applied: by then
	// every conf change of earlier terms in the log has been applied, and
	// the leader has committed an entry of its own term.
	r.pendingConfIndex = r.log.lastIndex()
	r.logger.Info("became leader", "term", r.term)
}
