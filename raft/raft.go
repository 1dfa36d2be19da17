package raft

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
)

// Role is what a member currently is (§5.1). PreCandidate is the pre-vote
// phase that precedes a real candidacy when pre-vote is enabled.
type Role uint8

const (
	Follower     Role = iota // follows a leader, or waits for one
	PreCandidate             // asks whether it could win before campaigning
	Candidate                // campaigns for votes in a new term
	Leader                   // accepts proposals and replicates the log
)

func (r Role) String() string {
	switch r {
	case Follower:
		return "follower"
	case PreCandidate:
		return "pre-candidate"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// ErrProposalDropped is returned (wrapped, with the reason) when a proposal,
// read or transfer request cannot be accepted now: no leader is known, a
// leadership transfer is under way, or a configuration change is already
// pending. Nothing was added to the log; the caller can fail fast and retry.
var ErrProposalDropped = errors.New("raft: proposal dropped")

// ErrInvalidMessage is wrapped by the errors Step returns for messages that
// cannot have come from a correct member: raft ignores them.
var ErrInvalidMessage = errors.New("raft: invalid message")

// Raft is one member of a Raft cluster: a deterministic state machine. It is
// not safe for concurrent use; the caller serializes all calls.
type Raft struct {
	id uint64

	// Persistent state (Figure 2): currentTerm and votedFor. The log is in
	// log; all three reach the caller through Ready to be persisted.
	term uint64
	vote uint64
	log  raftLog

	role Role
	lead uint64 // the leader of the current term, or None if unknown

	// voters is the configuration: the IDs of the voting members, sorted.
	voters []uint64
	// progress holds, on the leader only, one entry per voter.
	progress map[uint64]*progress
	// votes holds the answers collected by a (pre-)candidate.
	votes map[uint64]bool

	// snapshot is the metadata of the latest snapshot the caller registered
	// with Compact or received from a leader: what the leader sends to a
	// follower that needs compacted entries.
	snapshot SnapshotMetadata

	// pendingConfIndex is the index of the latest conf change the leader
	// appended. No other may be proposed until it has been applied (§6).
	pendingConfIndex uint64
	// leadTransferee is the member leadership is being handed to, or None.
	leadTransferee uint64
	// reads holds the leader's ReadIndex requests waiting for confirmation.
	reads readQueue

	// Time, in ticks. electionElapsed counts ticks since the last election
	// timeout reset (for a follower, since it last heard from the leader).
	ticks                     uint64
	electionElapsed           int
	heartbeatElapsed          int
	electionTimeout           int
	heartbeatTimeout          int
	randomizedElectionTimeout int

	preVote        bool
	checkQuorum    bool
	maxMsgSize     uint64
	maxInflight    int
	catchUpEntries uint64
	rand           *rand.Rand
	logger         *slog.Logger

	// Output waiting for the next Ready.
	msgs       []Message
	readStates []ReadState
	// appendsDue is set when followers may need appends; they are built
	// when the caller next asks for a Ready, so that every proposal made
	// in between travels in one message.
	appendsDue bool

	// What the previous Ready reported, to tell what changed.
	prevSoft SoftState
	prevHard HardState

	matchBuf []uint64 // scratch space for computing the commit index
}

// New returns a member configured by c: a brand-new cluster's member when
// c.Peers is set, a restarted one when c carries persisted state, and
// otherwise a member joining an existing cluster.
func New(c Config) (*Raft, error) {
	c = c.withDefaults()
	ents, err := c.validate()
	if err != nil {
		return nil, err
	}
	r := &Raft{
		id:               c.ID,
		lead:             None,
		votes:            map[uint64]bool{},
		electionTimeout:  c.ElectionTick,
		heartbeatTimeout: c.HeartbeatTick,
		preVote:          !c.DisablePreVote,
		checkQuorum:      c.CheckQuorum,
		maxMsgSize:       c.MaxSizePerMsg,
		maxInflight:      c.MaxInflightMsgs,
		catchUpEntries:   c.CatchUpEntries,
		rand:             rand.New(rand.NewPCG(c.Seed, c.ID)),
		logger:           c.Logger.With("raft", fmt.Sprintf("%x", c.ID)),
	}
	if len(c.Peers) > 0 {
		r.bootstrap(c.Peers)
	} else {
		r.restart(&c, ents)
	}
	r.becomeFollower(r.term, None)
	r.prevSoft = r.softState()
	return r, nil
}

// bootstrap starts the log of a new cluster: one committed conf change per
// peer, at term 1. The entries are not yet persisted: they come out of the
// first Ready like any others, and the caller applies them (applying an
// AddNode for a member already present changes nothing).
func (r *Raft) bootstrap(peers []uint64) {
	r.voters = slices.Sorted(slices.Values(peers))
	for i, id := range r.voters {
		cc := ConfChange{Type: ConfChangeAddNode, NodeID: id}
		r.log.append(Entry{Term: 1, Index: uint64(i + 1), Type: EntryConfChange, Data: cc.AppendTo(nil)})
	}
	r.term = 1
	r.log.committed = uint64(len(r.voters))
}

// restart loads persisted state that c.validate accepted.
func (r *Raft) restart(c *Config, ents []Entry) {
	if c.Snapshot != nil {
		r.snapshot = cloneMetadata(*c.Snapshot)
		r.log.prevIndex, r.log.prevTerm = c.Snapshot.Index, c.Snapshot.Term
		r.voters = slices.Sorted(slices.Values(c.Snapshot.ConfState.Voters))
	}
	if c.ConfState != nil {
		r.voters = slices.Sorted(slices.Values(c.ConfState.Voters))
	}
	r.log.entries = slices.Clone(ents)
	r.log.stabled = r.log.lastIndex()
	r.log.persisting = r.log.stabled
	r.log.committed = max(c.HardState.Commit, r.log.prevIndex)
	r.log.applied = max(c.Applied, r.log.prevIndex)
	r.log.applying = r.log.applied
	r.term, r.vote = c.HardState.Term, c.HardState.Vote
	r.prevHard = r.hardState() // already persisted
}

func cloneMetadata(m SnapshotMetadata) SnapshotMetadata {
	m.ConfState.Voters = slices.Clone(m.ConfState.Voters)
	return m
}

func (r *Raft) hardState() HardState {
	return HardState{Term: r.term, Vote: r.vote, Commit: r.log.committed}
}

func (r *Raft) softState() SoftState { return SoftState{Lead: r.lead, Role: r.role} }

// Step feeds a message from another member into the state machine. It
// returns an error, and changes nothing, for a message no correct member
// sends (wrong recipient, malformed entries, a type that only exists
// locally); messages that are merely stale are ignored without error.
func (r *Raft) Step(m Message) error {
	if err := r.checkMessage(&m); err != nil {
		return err
	}
	return r.step(m)
}

// checkMessage rejects what a correct peer never sends.
func (r *Raft) checkMessage(m *Message) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %v from %x: "+format, append([]any{ErrInvalidMessage, m.Type, m.From}, args...)...)
	}
	switch {
	case m.Type >= msgTypeCount:
		return bad("unknown type")
	case m.Type == MsgHup || m.Type == MsgBeat || m.Type == MsgSnapStatus || m.Type == MsgUnreachable:
		return bad("a local message cannot come from the network")
	case m.To != r.id:
		return bad("addressed to %x, this member is %x", m.To, r.id)
	case m.From == None || m.From == r.id:
		return bad("impossible sender")
	case m.Type == MsgSnap && (m.Snapshot.IsEmpty() || m.Snapshot.Metadata.Term == 0):
		return bad("no snapshot")
	case m.Term == 0 && m.Type != MsgProp && m.Type != MsgReadIndex && m.Type != MsgTransferLeader:
		return bad("no term")
	}
	if m.Snapshot != nil && !validVoters(m.Snapshot.Metadata.ConfState.Voters) {
		return bad("snapshot membership %v has zero or a duplicate", m.Snapshot.Metadata.ConfState.Voters)
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if m.Type == MsgApp {
			switch {
			case e.Index != m.Index+1+uint64(i):
				return bad("entry %d at position %d does not follow index %d", e.Index, i, m.Index)
			case e.Term == 0 || e.Term > m.Term || (i == 0 && e.Term < m.LogTerm) || (i > 0 && e.Term < m.Entries[i-1].Term):
				return bad("entry %d has an impossible term %d", e.Index, e.Term)
			}
		}
		if e.Type > EntryConfChange {
			return bad("entry %d has unknown type %v", e.Index, e.Type)
		}
	}
	return nil
}

// validVoters reports whether a membership lists no zero and no duplicate.
func validVoters(voters []uint64) bool {
	sorted := slices.Sorted(slices.Values(voters))
	return !slices.Contains(sorted, None) && len(slices.Compact(sorted)) == len(voters)
}

// step is Step without the checks; the caller's local inputs (Tick,
// Propose, ReadIndex...) enter here too.
//
// It applies the rule that comes first in Figure 2 for all servers: a
// message from a newer term makes this member adopt that term and become a
// follower; a message from an older term is stale and is ignored. Then it
// dispatches on the role.
func (r *Raft) step(m Message) error {
	switch {
	case m.Term == 0:
		// A local input, or a request forwarded to the leader (proposals,
		// reads, transfers): these carry no term.
	case m.Term > r.term:
		if !r.stepNewerTerm(m) {
			return nil
		}
	case m.Term < r.term:
		r.stepOlderTerm(m)
		return nil
	}

	switch m.Type {
	case MsgHup:
		if r.role != Leader {
			r.hup(campaignElection)
		}
		return nil
	case MsgVote, MsgPreVote:
		r.handleVoteRequest(m)
		return nil
	}
	switch r.role {
	case Leader:
		return r.stepLeader(m)
	case Candidate, PreCandidate:
		return r.stepCandidate(m)
	}
	return r.stepFollower(m)
}

// stepNewerTerm handles a message whose term is greater than ours. It
// reports whether the message should still be processed.
func (r *Raft) stepNewerTerm(m Message) bool {
	if m.Type == MsgVote || m.Type == MsgPreVote {
		// The leader lease that comes with CheckQuorum: while we have heard
		// from a leader within the election timeout, a vote request can only
		// come from a member that was cut off, and granting it would depose
		// a healthy leader. A leader transfer is deliberate and exempt.
		if r.checkQuorum && r.lead != None && r.electionElapsed < r.electionTimeout && !isTransferCampaign(m) {
			r.logger.Debug("ignored a vote request during the leader lease",
				"from", fmt.Sprintf("%x", m.From), "term", m.Term)
			return false
		}
	}
	switch {
	case m.Type == MsgPreVote:
		// A pre-vote asks about a term nobody has entered yet: answer it
		// without changing ours.
	case m.Type == MsgPreVoteResp && !m.Reject:
		// A granted pre-vote carries the term we would campaign in; our
		// own term changes only if we win the pre-vote and campaign.
	case m.Type == MsgApp || m.Type == MsgHeartbeat || m.Type == MsgSnap:
		r.becomeFollower(m.Term, m.From)
	default:
		r.becomeFollower(m.Term, None)
	}
	return true
}

// stepOlderTerm answers the stale messages whose senders would otherwise
// stay stuck.
func (r *Raft) stepOlderTerm(m Message) {
	switch m.Type {
	case MsgApp, MsgHeartbeat, MsgSnap:
		// A leader of an older term: answer with our term, as Figure 2's
		// AppendEntries reply does, and it steps down. Without the answer
		// it might never learn: with pre-vote or CheckQuorum we may never
		// send it a vote request, and a member outside the configuration
		// never campaigns at all. (It is a rejection of nothing, so that if
		// it arrives late, when the sender leads our term, it changes
		// nothing.)
		r.send(Message{Type: MsgAppResp, To: m.From, Reject: true})
	case MsgVote:
		// A candidate of an older term: refuse, with our term (Figure 2's
		// RequestVote reply), so that it catches up. It may have no other
		// way to learn of the newer term if the members that know it do not
		// count it as a member yet.
		r.send(Message{Type: MsgVoteResp, To: m.From, Term: r.term, Reject: true})
	case MsgPreVote:
		// Tell a pre-candidate that is behind that it cannot win.
		r.send(Message{Type: MsgPreVoteResp, To: m.From, Term: r.term, Reject: true})
	}
}

// send queues a message for the next Ready. It stamps the current term on
// everything except vote traffic, whose term is chosen by the caller, and
// the term-less requests forwarded to the leader.
func (r *Raft) send(m Message) {
	m.From = r.id
	switch m.Type {
	case MsgVote, MsgVoteResp, MsgPreVote, MsgPreVoteResp:
	case MsgProp, MsgReadIndex, MsgTransferLeader:
		m.Term = 0
	default:
		m.Term = r.term
	}
	if r.msgs == nil {
		// Room for a message to every other member: what a leader usually sends.
		r.msgs = make([]Message, 0, max(1, len(r.voters)-1))
	}
	r.msgs = append(r.msgs, m)
}

// stepLeader handles messages while this member is the leader.
func (r *Raft) stepLeader(m Message) error {
	switch m.Type {
	case MsgBeat:
		// Carry the newest pending read, so that reads whose own round was
		// lost are still confirmed.
		r.broadcastHeartbeat(r.reads.newestContext())
		return nil
	case MsgProp:
		return r.handleProposal(m)
	case MsgReadIndex:
		r.handleReadIndex(m)
		return nil
	case MsgTransferLeader:
		return r.handleTransferLeader(m)
	}

	pr := r.progress[m.From]
	if pr == nil {
		return nil // not a member (any more): nothing to update
	}
	if m.Type == MsgAppResp || m.Type == MsgHeartbeatResp {
		pr.lastHeard = r.ticks
	}
	switch m.Type {
	case MsgAppResp:
		if !m.Reject && m.Index > r.log.lastIndex() {
			return fmt.Errorf("%w: %x acknowledges index %d, past the leader's last %d",
				ErrInvalidMessage, m.From, m.Index, r.log.lastIndex())
		}
		r.handleAppendResponse(m, pr)
	case MsgHeartbeatResp:
		r.handleHeartbeatResponse(m, pr)
	case MsgSnapStatus:
		r.handleSnapshotStatus(m, pr)
	case MsgUnreachable:
		// The transport could not deliver to this member: stop streaming
		// into the void and probe again.
		if pr.state == StateReplicate {
			pr.becomeProbe()
		}
	}
	return nil
}

// stepCandidate handles messages while campaigning (or pre-campaigning).
func (r *Raft) stepCandidate(m Message) error {
	switch m.Type {
	case MsgProp, MsgReadIndex, MsgTransferLeader:
		if m.From != r.id {
			return nil // forwarded to a member that is not the leader
		}
		return fmt.Errorf("%w: no leader (election in progress)", ErrProposalDropped)
	case MsgApp, MsgHeartbeat, MsgSnap:
		// Another member won this term (§5.2): accept it as leader.
		r.becomeFollower(m.Term, m.From)
		return r.stepFollower(m)
	case MsgVoteResp, MsgPreVoteResp:
		r.handleVoteResponse(m)
	}
	return nil
}

// stepFollower handles messages while following.
func (r *Raft) stepFollower(m Message) error {
	switch m.Type {
	case MsgProp:
		return r.forwardToLeader(m, "proposal")
	case MsgReadIndex:
		return r.forwardToLeader(m, "read")
	case MsgTransferLeader:
		return r.forwardToLeader(m, "leadership transfer")
	case MsgApp:
		r.heardFromLeader(m.From)
		return r.handleAppend(m)
	case MsgHeartbeat:
		r.heardFromLeader(m.From)
		r.handleHeartbeat(m)
	case MsgSnap:
		r.heardFromLeader(m.From)
		r.handleSnapshot(m)
	case MsgTimeoutNow:
		r.handleTimeoutNow(m)
	case MsgReadIndexResp:
		r.readStates = append(r.readStates, ReadState{Index: m.Index, RequestCtx: m.Context})
	}
	return nil
}

// heardFromLeader resets the election timer: the leader is alive (§5.2).
func (r *Raft) heardFromLeader(from uint64) {
	r.electionElapsed = 0
	r.lead = from
}

// forwardToLeader passes a local request to the leader. Requests forwarded
// by other members are dropped rather than forwarded again, so that two
// members with stale ideas of the leader cannot bounce a request forever.
func (r *Raft) forwardToLeader(m Message, what string) error {
	if m.From != r.id {
		return nil
	}
	if r.lead == None {
		return fmt.Errorf("%w: no leader to forward the %s to", ErrProposalDropped, what)
	}
	// Batch proposals: if the previous queued message already forwards
	// proposals to the same leader, add to it.
	if n := len(r.msgs); m.Type == MsgProp && n > 0 && r.msgs[n-1].Type == MsgProp && r.msgs[n-1].To == r.lead {
		r.msgs[n-1].Entries = append(r.msgs[n-1].Entries, m.Entries...)
		return nil
	}
	m.To = r.lead
	r.send(m)
	return nil
}
