package raft

import (
	"errors"
	"slices"
	"testing"
)

// Tests of §5.1 (terms and roles), §5.2 (leader election), §5.4.1 (the
// election restriction), pre-vote and CheckQuorum. Each test is named after
// the claim it checks; the claim is quoted or paraphrased in its comment.

// §5.1: "When servers start up, they begin as followers."
func TestServersStartAsFollowers(t *testing.T) {
	configs := map[string]Config{
		"new cluster": {ID: 1, Peers: []uint64{1, 2, 3}},
		"joiner":      {ID: 4},
		"restart": {ID: 2, HardState: HardState{Term: 5, Vote: 1, Commit: 1},
			Entries: []Entry{{Index: 1, Term: 5}}, ConfState: &ConfState{Voters: []uint64{1, 2}}},
	}
	for name, c := range configs {
		r, err := New(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.role != Follower || r.lead != None {
			t.Errorf("%s: role %v, leader %d; want a follower without a leader", name, r.role, r.lead)
		}
	}
}

// §5.1: "If one server's current term is smaller than the other's, then it
// updates its current term to the larger value. If a candidate or leader
// discovers that its term is out of date, it immediately reverts to
// follower state."
func TestNewerTermMakesFollower(t *testing.T) {
	roles := []Role{Follower, PreCandidate, Candidate, Leader}
	msgs := []struct {
		typ      MessageType
		wantLead uint64 // the sender leads the new term if it is a leader's message
	}{
		{MsgApp, 2}, {MsgHeartbeat, 2}, {MsgSnap, 2}, {MsgVote, None}, {MsgAppResp, None}, {MsgVoteResp, None},
	}
	for _, role := range roles {
		for _, tt := range msgs {
			m := newMember(t, 1, []uint64{1, 2, 3}, nil, withPreVote(true))
			makeRole(t, m, role)
			term := m.term
			msg := Message{Type: tt.typ, From: 2, To: 1, Term: term + 1}
			if tt.typ == MsgSnap {
				msg.Snapshot = &Snapshot{Metadata: SnapshotMetadata{Index: 1, Term: 1}}
			}
			if err := m.Step(msg); err != nil {
				t.Fatal(err)
			}
			if m.term != term+1 || m.role != Follower || m.lead != tt.wantLead {
				t.Errorf("%v stepping %v of term %d: term %d, role %v, leader %d; want term %d, follower, leader %d",
					role, tt.typ, term+1, m.term, m.role, m.lead, term+1, tt.wantLead)
			}
		}
	}
}

// makeRole puts a member of an idle three-member cluster into role.
func makeRole(t *testing.T, m *testMember, role Role) {
	t.Helper()
	switch role {
	case PreCandidate:
		m.hup(campaignElection)
	case Candidate:
		m.campaign(campaignElection)
	case Leader:
		m.campaign(campaignElection)
		m.Step(Message{Type: MsgVoteResp, From: 2, To: 1, Term: m.term})
	}
	if m.role != role {
		t.Fatalf("could not make a %v, got %v", role, m.role)
	}
	takeMessages(m)
}

// §5.1: "If a server receives a request with a stale term number, it
// rejects the request." A stale append changes nothing, and its answer
// carries the newer term (Figure 2: AppendEntries returns currentTerm "for
// leader to update itself"); a stale vote request gets a refusal carrying
// the newer term too ("for candidate to update itself").
func TestStaleTermMessagesIgnored(t *testing.T) {
	for _, preVote := range []bool{false, true} {
		m := newMember(t, 1, []uint64{1, 2, 3}, []uint64{1, 1}, withPreVote(preVote), withTerm(3))
		ents := []Entry{{Index: 3, Term: 2}}
		m.Step(Message{Type: MsgApp, From: 2, To: 1, Term: 2, Index: 2, LogTerm: 1, Entries: ents, Commit: 2})
		if m.log.lastIndex() != 2 || m.log.committed != 0 || m.term != 3 || m.vote != None {
			t.Errorf("preVote=%v: a stale message changed the member: last %d commit %d term %d vote %d",
				preVote, m.log.lastIndex(), m.log.committed, m.term, m.vote)
		}
		msgs := takeMessages(m)
		if len(msgs) != 1 || msgs[0].Type != MsgAppResp || msgs[0].To != 2 || msgs[0].Term != 3 {
			t.Errorf("preVote=%v: want one MsgAppResp of term 3 to the stale leader, got %+v", preVote, msgs)
		}
		for _, typ := range []MessageType{MsgVote, MsgPreVote} {
			m.Step(Message{Type: typ, From: 3, To: 1, Term: 2, Index: 9, LogTerm: 2})
			msgs = takeMessages(m)
			if len(msgs) != 1 || !msgs[0].Reject || msgs[0].Term != 3 || m.vote != None || m.term != 3 {
				t.Errorf("%v for an old term: answers %+v, vote %d, term %d; want a refusal carrying term 3",
					typ, msgs, m.vote, m.term)
			}
		}
	}
}

// §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry
// no log entries) to all followers in order to maintain their authority."
// The heartbeat carries the commit index, capped at what the follower holds.
func TestLeaderSendsHeartbeats(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	nw.propose(1, "x")
	l := nw.members[1]
	l.progress[3].match = 1 // pretend member 3 only holds entry 1
	for range l.heartbeatTimeout {
		l.Tick()
	}
	hb := filterMessages(takeMessages(l), MsgHeartbeat)
	if len(hb) != 2 {
		t.Fatalf("want a heartbeat to each follower, got %+v", hb)
	}
	for _, m := range hb {
		want := l.log.committed
		if m.To == 3 {
			want = 1
		}
		if len(m.Entries) != 0 || m.Commit != want || m.Term != l.term {
			t.Errorf("heartbeat %+v: want no entries, commit %d, term %d", m, want, l.term)
		}
	}
}

// §5.2: "If a follower receives no communication over a period of time
// called the election timeout, then it assumes there is no viable leader
// and begins an election": it increments its term, votes for itself and
// asks every other member for its vote, describing its log.
func TestFollowerStartsElectionOnTimeout(t *testing.T) {
	m := newMember(t, 1, []uint64{1, 2, 3}, []uint64{1, 2}, withPreVote(false))
	for range 2 * m.electionTimeout {
		m.Tick()
	}
	if m.role != Candidate || m.term != 3 || m.vote != 1 {
		t.Fatalf("role %v term %d vote %d; want candidate of term 3 voting for itself", m.role, m.term, m.vote)
	}
	votes := filterMessages(takeMessages(m), MsgVote)
	if len(votes) != 2 {
		t.Fatalf("want vote requests to 2 and 3, got %+v", votes)
	}
	for _, v := range votes {
		if v.Term != 3 || v.Index != 2 || v.LogTerm != 2 {
			t.Errorf("vote request %+v: want term 3, last index 2, last term 2", v)
		}
	}
}

// §5.2: "Raft uses randomized election timeouts to ensure that split votes
// are rare ... election timeouts are chosen randomly from a fixed interval."
// Ours is [T, 2T). Members sharing a seed still draw different timeouts.
func TestElectionTimeoutRandomized(t *testing.T) {
	seen := map[int]bool{}
	for seed := range uint64(200) {
		m := newMember(t, 1, []uint64{1, 2, 3}, nil, withPreVote(false), withSeed(seed))
		ticks := 0
		for m.role == Follower {
			m.Tick()
			ticks++
		}
		if ticks < m.electionTimeout || ticks >= 2*m.electionTimeout {
			t.Fatalf("seed %d: campaigned after %d ticks, outside [%d, %d)", seed, ticks, m.electionTimeout, 2*m.electionTimeout)
		}
		seen[ticks] = true
	}
	if len(seen) < DefaultElectionTick/2 {
		t.Errorf("only %d distinct timeouts in 200 seeds", len(seen))
	}
	differ := false
	for id := uint64(2); id <= 10; id++ {
		a := newMember(t, 1, []uint64{1}, nil, withSeed(7))
		b := newMember(t, id, []uint64{id}, nil, withSeed(7))
		differ = differ || a.randomizedElectionTimeout != b.randomizedElectionTimeout
	}
	if !differ {
		t.Error("members with the same seed draw the same timeouts")
	}
}

// §5.2: "A candidate wins an election if it receives votes from a majority
// of the servers in the full cluster for the same term"; it loses (and
// waits as a follower) once a majority refused.
func TestCandidateWinsWithMajority(t *testing.T) {
	tests := []struct {
		size    int
		grant   []uint64
		reject  []uint64
		outcome Role
	}{
		{1, nil, nil, Leader},
		{3, []uint64{2}, nil, Leader},
		{3, nil, []uint64{2}, Candidate},
		{3, nil, []uint64{2, 3}, Follower},
		{5, []uint64{2}, nil, Candidate},
		{5, []uint64{2, 3}, nil, Leader},
		{5, []uint64{2}, []uint64{3, 4}, Candidate},
		{5, nil, []uint64{3, 4, 5}, Follower},
		{4, []uint64{2}, []uint64{3}, Candidate},
		{4, []uint64{2, 3}, nil, Leader},
	}
	for _, tt := range tests {
		var voters []uint64
		for i := 1; i <= tt.size; i++ {
			voters = append(voters, uint64(i))
		}
		m := newMember(t, 1, voters, nil, withPreVote(false))
		m.campaign(campaignElection)
		for _, id := range tt.grant {
			m.Step(Message{Type: MsgVoteResp, From: id, To: 1, Term: m.term})
		}
		for _, id := range tt.reject {
			m.Step(Message{Type: MsgVoteResp, From: id, To: 1, Term: m.term, Reject: true})
		}
		if m.role != tt.outcome {
			t.Errorf("%d members, granted by %v, refused by %v: %v, want %v", tt.size, tt.grant, tt.reject, m.role, tt.outcome)
		}
	}
}

// §5.2: "Each server will vote for at most one candidate in a given term,
// on a first-come-first-served basis." The vote is persisted (it is in the
// hard state, with MustSync) before the answer may leave.
func TestFollowerVotesAtMostOncePerTerm(t *testing.T) {
	m := newMember(t, 1, []uint64{1, 2, 3}, nil, withPreVote(false))
	m.Ready() // nothing yet
	steps := []struct {
		from   uint64
		reject bool
	}{
		{2, false}, // first come
		{3, true},  // same term, another candidate
		{2, false}, // the same candidate again (a retry) is granted again
	}
	for _, s := range steps {
		m.Step(Message{Type: MsgVote, From: s.from, To: 1, Term: 1})
		rd := m.Ready()
		if len(rd.Messages) != 1 || rd.Messages[0].Type != MsgVoteResp || rd.Messages[0].Reject != s.reject {
			t.Fatalf("vote request from %d: answers %+v, want reject=%v", s.from, rd.Messages, s.reject)
		}
		if !s.reject && !NeedsPersist(rd.Messages[0]) {
			t.Errorf("a granted vote may leave before it is persisted")
		}
		m.Advance(rd)
	}
	if m.vote != 2 {
		t.Errorf("vote = %d, want 2", m.vote)
	}

	m = newMember(t, 1, []uint64{1, 2, 3}, nil, withPreVote(false))
	m.Step(Message{Type: MsgVote, From: 2, To: 1, Term: 4})
	rd := m.Ready()
	if rd.HardState != (HardState{Term: 4, Vote: 2}) || !rd.MustSync {
		t.Errorf("after voting: hard state %+v, MustSync %v; want {4 2 0} with MustSync", rd.HardState, rd.MustSync)
	}
}

// §5.2: "If the AppendEntries RPC is from a leader whose term is at least
// as large as the candidate's current term, then the candidate recognizes
// the leader as legitimate and returns to follower state. If the term in
// the RPC is smaller than the candidate's current term, then the candidate
// rejects the RPC and continues in candidate state."
func TestCandidateFollowsLeaderOfItsTerm(t *testing.T) {
	for _, typ := range []MessageType{MsgApp, MsgHeartbeat} {
		m := newMember(t, 1, []uint64{1, 2, 3}, nil, withPreVote(false), withTerm(1))
		m.campaign(campaignElection) // term 2
		m.Step(Message{Type: typ, From: 3, To: 1, Term: 1})
		if m.role != Candidate {
			t.Errorf("%v of an older term: role %v, want candidate", typ, m.role)
		}
		m.Step(Message{Type: typ, From: 3, To: 1, Term: 2})
		if m.role != Follower || m.lead != 3 || m.term != 2 {
			t.Errorf("%v of its term: role %v, leader %d, term %d; want follower of 3 in term 2", typ, m.role, m.lead, m.term)
		}
	}
}

// §5.2: "If many followers become candidates at the same time, votes could
// be split so that no candidate obtains a majority. When this happens, each
// candidate will time out and start a new election by incrementing its term."
func TestCandidateStartsNewElectionAfterTimeout(t *testing.T) {
	m := newMember(t, 1, []uint64{1, 2, 3}, nil, withPreVote(false))
	m.campaign(campaignElection)
	m.Step(Message{Type: MsgVoteResp, From: 2, To: 1, Term: 1, Reject: true}) // split: 2 voted for 3
	for range 2 * m.electionTimeout {
		m.Tick()
	}
	if m.role != Candidate || m.term != 2 {
		t.Errorf("after a split vote: role %v term %d; want candidate of term 2", m.role, m.term)
	}
}

// §5.2: in a cluster whose members all time out, the randomized timeouts
// elect exactly one leader, that every member then follows.
func TestClusterElectsOneLeader(t *testing.T) {
	for _, size := range []int{1, 3, 5} {
		nw := newNetwork(t, size)
		for ticks := 0; nw.leader() == None; ticks++ {
			if ticks > 10*DefaultElectionTick {
				t.Fatalf("%d members: no leader after %d ticks", size, ticks)
			}
			nw.tickAll(1)
		}
		lead := nw.leader()
		for id, m := range nw.members {
			if (m.role == Leader) != (id == lead) || m.lead != lead {
				t.Errorf("%d members: member %d is %v following %d; leader is %d", size, id, m.role, m.lead, lead)
			}
		}
	}
}

// §5.4.1: "Raft determines which of two logs is more up-to-date by
// comparing the index and term of the last entries in the logs. If the logs
// have last entries with different terms, then the log with the later term
// is more up-to-date. If the logs end with the same term, then whichever
// log is longer is more up-to-date." A voter denies its vote to a candidate
// whose log is less up-to-date than its own.
func TestVoterRejectsLessUpToDateCandidate(t *testing.T) {
	voterLog := []uint64{1, 2, 2} // last index 3, last term 2
	tests := []struct {
		lastIndex, lastTerm uint64
		grant               bool
	}{
		{3, 2, true},  // the same
		{4, 2, true},  // same term, longer
		{2, 2, false}, // same term, shorter
		{1, 3, true},  // later term, even if shorter
		{9, 1, false}, // earlier term, even if longer
		{0, 0, false}, // empty
	}
	for _, tt := range tests {
		for _, typ := range []MessageType{MsgVote, MsgPreVote} {
			m := newMember(t, 1, []uint64{1, 2, 3}, voterLog)
			m.Step(Message{Type: typ, From: 2, To: 1, Term: 5, Index: tt.lastIndex, LogTerm: tt.lastTerm})
			msgs := takeMessages(m)
			if len(msgs) != 1 || msgs[0].Reject == tt.grant {
				t.Errorf("%v from a log ending %d/%d: answers %+v, want grant=%v", typ, tt.lastIndex, tt.lastTerm, msgs, tt.grant)
			}
		}
	}
}

// §5.4.1: "Raft uses the voting process to prevent a candidate from winning
// an election unless its log contains all committed entries." Entry 3 is
// committed on members 1 and 2; member 3 lacks it and cannot win, member 1
// can.
func TestLeaderHasAllCommittedEntries(t *testing.T) {
	ids := []uint64{1, 2, 3}
	nw := &network{t: t, members: map[uint64]*testMember{}, cut: map[[2]uint64]bool{}}
	nw.add(newMember(t, 1, ids, []uint64{1, 1, 1}, withPreVote(false), withCommit(3)))
	nw.add(newMember(t, 2, ids, []uint64{1, 1, 1}, withPreVote(false), withCommit(3)))
	nw.add(newMember(t, 3, ids, []uint64{1, 1}, withPreVote(false), withCommit(2)))
	nw.campaign(3)
	if nw.members[3].role == Leader {
		t.Fatal("member 3, missing a committed entry, was elected")
	}
	nw.campaign(1)
	if nw.leader() != 1 {
		t.Fatal("member 1 was not elected")
	}
	if err := sameLogs(nw, 1, 2, 3); err != nil {
		t.Error(err)
	}
}

// Pre-vote (thesis §9.6): a member that cannot win does not raise its term,
// however often it times out.
func TestPreVoteDoesNotRaiseTerm(t *testing.T) {
	nw := newNetwork(t, 3, withPreVote(true))
	nw.campaign(1)
	nw.isolate(3)
	term := nw.members[3].term
	nw.tick(3, 10*nw.members[3].electionTimeout)
	if m := nw.members[3]; m.term != term || m.vote == 3 {
		t.Errorf("isolated member: term %d vote %d; want term %d and no vote for itself", m.term, m.vote, term)
	}
}

// Pre-vote (thesis §9.6): a member that was cut off and rejoins does not
// depose a healthy leader: its pre-vote fails because its log is behind.
func TestPreVoteRejoiningMemberDoesNotDisrupt(t *testing.T) {
	nw := newNetwork(t, 3, withPreVote(true))
	nw.campaign(1)
	nw.isolate(3)
	nw.propose(1, "while 3 is away")
	nw.tick(3, 3*nw.members[3].electionTimeout)
	nw.heal()
	nw.campaign(3) // its election timer fires as it rejoins
	if nw.leader() != 1 || nw.members[1].term != 1 {
		t.Errorf("leader %d term %d after member 3 rejoined; want 1 in term 1", nw.leader(), nw.members[1].term)
	}
	// Without pre-vote, the rejoining member's higher term deposes the leader.
	nw = newNetwork(t, 3, withPreVote(false))
	nw.campaign(1)
	nw.isolate(3)
	nw.propose(1, "while 3 is away")
	nw.tick(3, 3*nw.members[3].electionTimeout)
	nw.heal()
	nw.campaign(3)
	if nw.members[1].role == Leader && nw.members[1].term == 1 {
		t.Error("without pre-vote the rejoining member should have disrupted the leader")
	}
}

// Pre-vote (thesis §9.6): a pre-vote changes neither the voter's term nor
// its vote, and a won pre-vote is followed by a real election in the next
// term.
func TestPreVoteThenVote(t *testing.T) {
	nw := newNetwork(t, 3, withPreVote(true))
	nw.campaign(1)
	if nw.leader() != 1 || nw.members[1].term != 1 {
		t.Fatalf("leader %d term %d; want 1 in term 1", nw.leader(), nw.members[1].term)
	}
	types := map[MessageType]int{}
	for _, m := range nw.trace {
		types[m.Type]++
	}
	if types[MsgPreVote] != 2 || types[MsgVote] != 2 {
		t.Errorf("traffic %v: want 2 pre-votes then 2 votes", types)
	}

	m := newMember(t, 2, []uint64{1, 2, 3}, nil, withTerm(3))
	m.Step(Message{Type: MsgPreVote, From: 1, To: 2, Term: 4})
	if msgs := takeMessages(m); len(msgs) != 1 || msgs[0].Reject || msgs[0].Term != 4 {
		t.Errorf("pre-vote answer %+v; want a grant for term 4", msgs)
	}
	if m.term != 3 || m.vote != None {
		t.Errorf("after granting a pre-vote: term %d vote %d; want 3 and none", m.term, m.vote)
	}
}

// CheckQuorum (thesis §6.2): "a leader steps down if an election timeout
// elapses without a successful round of heartbeats to a majority of its
// cluster". Ours steps down as soon as it has not heard from a quorum for
// an election timeout.
func TestCheckQuorumLeaderStepsDown(t *testing.T) {
	nw := newNetwork(t, 3, withCheckQuorum)
	nw.campaign(1)
	l := nw.members[1]
	nw.tick(1, 5*l.electionTimeout) // heartbeats are answered: stays leader
	if l.role != Leader {
		t.Fatal("a leader with a quorum stepped down")
	}
	nw.isolate(1)
	ticks := 0
	for l.role == Leader {
		nw.tick(1, 1)
		ticks++
	}
	if ticks > l.electionTimeout {
		t.Errorf("stepped down after %d ticks without a quorum, want at most %d", ticks, l.electionTimeout)
	}
	if l.term != 1 || l.lead != None {
		t.Errorf("after stepping down: term %d leader %d", l.term, l.lead)
	}
}

// CheckQuorum's leader lease (thesis §4.2.3): a member that heard from a
// leader within the election timeout ignores vote requests, so a member
// that was cut off cannot depose the leader. Once the lease runs out, it
// votes again.
func TestLeaderLeaseIgnoresDisruptiveVotes(t *testing.T) {
	nw := newNetwork(t, 3, withCheckQuorum)
	nw.campaign(1)
	f := nw.members[2]
	f.Step(Message{Type: MsgVote, From: 3, To: 2, Term: 5, Index: 99, LogTerm: 9})
	if msgs := takeMessages(f); len(msgs) != 0 || f.term != 1 {
		t.Fatalf("within the lease: answered %+v, term %d; want silence and term 1", msgs, f.term)
	}
	for range f.electionTimeout {
		f.Tick() // no word from the leader: the lease runs out
	}
	f.Step(Message{Type: MsgVote, From: 3, To: 2, Term: 5, Index: 99, LogTerm: 9})
	if msgs := takeMessages(f); len(msgs) != 1 || msgs[0].Reject || f.term != 5 {
		t.Errorf("after the lease: answered %+v, term %d; want a granted vote in term 5", msgs, f.term)
	}
}

// Without the CheckQuorum lease, a member that rejoins with a newer term
// (it campaigned alone with pre-vote off) makes the old leader step down
// through the answer to the leader's next append or heartbeat.
func TestStaleLeaderLearnsNewerTerm(t *testing.T) {
	nw := newNetwork(t, 3, withCheckQuorum, withPreVote(false))
	nw.campaign(1)
	nw.isolate(3)
	nw.campaign(3) // term 2, alone
	nw.heal()
	nw.tick(1, nw.members[1].heartbeatTimeout)
	if l := nw.members[1]; l.role == Leader && l.term == 1 {
		t.Error("the leader of term 1 did not step down after hearing of term 2")
	}
	for ticks := 0; nw.leader() == None || nw.members[nw.leader()].term < 2; ticks++ {
		if ticks > 20*DefaultElectionTick {
			t.Fatal("no leader of a newer term")
		}
		nw.tickAll(1)
	}
}

// A member does not campaign while a committed membership change is not
// applied: it might not be a voter any more.
func TestNoCampaignWithUnappliedConfChange(t *testing.T) {
	cc := ConfChange{Type: ConfChangeRemoveNode, NodeID: 1}
	m := newMember(t, 1, []uint64{1, 2, 3}, nil, withPreVote(false))
	m.log.append(Entry{Index: 1, Term: 1, Type: EntryConfChange, Data: cc.AppendTo(nil)})
	m.log.committed = 1
	m.hup(campaignElection)
	if m.role != Follower {
		t.Fatalf("campaigned with an unapplied conf change: %v", m.role)
	}
	rd := m.Ready()
	m.ApplyConfChange(cc)
	m.Advance(rd)
	for range 2 * m.electionTimeout {
		m.Tick()
	}
	if m.role != Follower {
		t.Errorf("a removed member campaigned: %v", m.role)
	}
	if err := m.Propose([]byte("x")); !errors.Is(err, ErrProposalDropped) {
		t.Errorf("Propose without a leader: %v, want ErrProposalDropped", err)
	}
	if !slices.Equal(m.ConfState().Voters, []uint64{2, 3}) {
		t.Errorf("voters %v", m.ConfState().Voters)
	}
}
