package raft

import (
	"errors"
	"slices"
	"testing"
)

// Tests of §6, cluster membership changes, one server at a time.

func addNode(id uint64) ConfChange    { return ConfChange{Type: ConfChangeAddNode, NodeID: id} }
func removeNode(id uint64) ConfChange { return ConfChange{Type: ConfChangeRemoveNode, NodeID: id} }

// A new cluster's log starts with one committed conf change per member, in
// ID order, so every member starts from the same log and a later joiner
// learns the first configuration from it.
func TestBootstrapLog(t *testing.T) {
	r, err := New(Config{ID: 2, Peers: []uint64{3, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	rd := r.Ready()
	if rd.HardState != (HardState{Term: 1, Commit: 3}) || !rd.MustSync || len(rd.Entries) != 3 || len(rd.CommittedEntries) != 3 {
		t.Fatalf("first Ready: %+v", rd)
	}
	for i, e := range rd.Entries {
		var cc ConfChange
		if err := cc.Unmarshal(e.Data); err != nil || e.Type != EntryConfChange || e.Term != 1 ||
			cc.Type != ConfChangeAddNode || cc.NodeID != uint64(i+1) {
			t.Errorf("entry %d: %+v (%+v, %v)", i, e, cc, err)
		}
	}
	if !slices.Equal(r.ConfState().Voters, []uint64{1, 2, 3}) {
		t.Errorf("voters %v", r.ConfState().Voters)
	}
}

// §6 (as etcd does it): a change takes effect on each member when that
// member applies the conf change entry. Until the leader applies "add 4",
// member 4 gets nothing and does not count; then it is caught up from the
// log and learns the whole configuration by applying it.
func TestConfChangeTakesEffectWhenApplied(t *testing.T) {
	nw := newBootstrapNetwork(t, 3)
	nw.campaign(1)
	nw.add(newJoiner(t, 4))
	l := nw.members[1]
	if err := l.ProposeConfChange(addNode(4)); err != nil {
		t.Fatal(err)
	}
	if l.progress[4] != nil || l.quorum() != 2 {
		t.Fatal("member 4 counts before the change is applied")
	}
	nw.settle()
	if l.progress[4] == nil || l.quorum() != 3 {
		t.Fatal("member 4 does not count after the change is applied")
	}
	for id := uint64(1); id <= 4; id++ {
		if got := nw.members[id].ConfState().Voters; !slices.Equal(got, []uint64{1, 2, 3, 4}) {
			t.Errorf("member %d: voters %v", id, got)
		}
	}
	if err := sameLogs(nw, 1, 2, 3, 4); err != nil {
		t.Error(err)
	}
}

// §6: a change adds or removes one server, so safety needs at most one
// change in progress. The leader refuses a second until the first is
// applied.
func TestAtMostOneConfChangePending(t *testing.T) {
	nw := newBootstrapNetwork(t, 3)
	nw.campaign(1)
	l := nw.members[1]
	nw.add(newJoiner(t, 4))
	nw.add(newJoiner(t, 5))
	if err := l.ProposeConfChange(addNode(4)); err != nil {
		t.Fatal(err)
	}
	if err := l.ProposeConfChange(addNode(5)); !errors.Is(err, ErrProposalDropped) {
		t.Fatalf("second change while one is pending: %v, want ErrProposalDropped", err)
	}
	// A follower's forwarded change is dropped the same way.
	f := nw.members[2]
	f.ProposeConfChange(addNode(5))
	last := l.log.lastIndex()
	nw.settle()
	for i := last + 1; i <= l.log.lastIndex(); i++ {
		if l.log.entry(i).Type == EntryConfChange {
			t.Errorf("the forwarded second change was appended at %d", i)
		}
	}
	if err := l.ProposeConfChange(addNode(5)); err != nil {
		t.Errorf("after the first change applied: %v", err)
	}
}

// A new leader accepts no change before it has applied the empty entry of
// its term: by then every change of earlier terms is applied, and it has
// committed an entry of its own term (the fix Ongaro describes for
// single-server changes).
func TestNewLeaderWaitsBeforeConfChange(t *testing.T) {
	nw := newBootstrapNetwork(t, 3)
	l := nw.members[1]
	l.campaign(campaignElection)
	l.Step(Message{Type: MsgVoteResp, From: 2, To: 1, Term: l.term})
	if l.role != Leader {
		t.Fatal("not leader")
	}
	if err := l.ProposeConfChange(addNode(4)); !errors.Is(err, ErrProposalDropped) {
		t.Fatalf("before its empty entry is applied: %v, want ErrProposalDropped", err)
	}
	nw.settle()
	if err := l.ProposeConfChange(addNode(4)); err != nil {
		t.Errorf("after its empty entry is applied: %v", err)
	}
}

// The caller may decline a change (for example re-adding a removed ID) by
// not calling ApplyConfChange. The configuration stays as it was, and the
// next change can be proposed once the declined entry is applied.
func TestDeclinedConfChange(t *testing.T) {
	nw := newBootstrapNetwork(t, 3)
	nw.campaign(1)
	for _, m := range nw.members {
		m.decline = func(cc ConfChange) bool { return cc.NodeID == 9 }
	}
	l := nw.members[1]
	if err := l.ProposeConfChange(addNode(9)); err != nil {
		t.Fatal(err)
	}
	nw.settle()
	for id, m := range nw.members {
		if got := m.ConfState().Voters; !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Errorf("member %d: voters %v", id, got)
		}
	}
	if err := l.ProposeConfChange(removeNode(3)); err != nil {
		t.Errorf("after a declined change: %v", err)
	}
}

// Applying a change twice, or a change that changes nothing, is harmless,
// and UpdateNode changes nothing raft sees.
func TestApplyConfChangeIsIdempotent(t *testing.T) {
	m := newMember(t, 1, []uint64{1, 2}, nil)
	for _, cc := range []ConfChange{addNode(2), removeNode(3), {Type: ConfChangeUpdateNode, NodeID: 2}, addNode(0), {Type: 9, NodeID: 5}} {
		if got := m.ApplyConfChange(cc).Voters; !slices.Equal(got, []uint64{1, 2}) {
			t.Errorf("%+v: voters %v", cc, got)
		}
	}
	if err := m.ProposeConfChange(ConfChange{Type: 7, NodeID: 2}); err == nil {
		t.Error("proposed an unknown change type")
	}
	if err := m.ProposeConfChange(addNode(0)); err == nil {
		t.Error("proposed a change of member 0")
	}
}

// §6: "the leader steps down (returns to follower state) once it has
// committed the Cnew log entry" when it is not part of the new
// configuration. The rest elect a leader among themselves.
func TestRemovedLeaderStepsDown(t *testing.T) {
	nw := newBootstrapNetwork(t, 3)
	nw.campaign(1)
	l := nw.members[1]
	if err := l.ProposeConfChange(removeNode(1)); err != nil {
		t.Fatal(err)
	}
	index := l.log.lastIndex()
	nw.settle()
	if l.role == Leader {
		t.Fatal("the removed leader is still leader")
	}
	if l.log.committed < index || l.log.applied < index {
		t.Fatalf("stepped down before the change committed: commit %d applied %d, change at %d", l.log.committed, l.log.applied, index)
	}
	for ticks := 0; nw.leader() == None || nw.leader() == 1; ticks++ {
		if ticks > 20*DefaultElectionTick {
			t.Fatal("members 2 and 3 elected no leader")
		}
		nw.tickAll(1)
	}
	lead := nw.leader()
	nw.propose(lead, "after")
	for _, id := range []uint64{2, 3} {
		if got := appliedData(nw.members[id]); !slices.Contains(got, "after") {
			t.Errorf("member %d applied %v", id, got)
		}
	}
	if l.role == Leader || l.role == Candidate {
		t.Errorf("the removed member is %v", l.role)
	}
}

// A member that is not in its configuration never campaigns: neither a
// joiner that has not learned it was added, nor a removed member, not even
// when told to by a leader transfer.
func TestNonMemberNeverCampaigns(t *testing.T) {
	joiner := newJoiner(t, 4)
	removed := newMember(t, 3, []uint64{1, 2}, nil)
	for _, m := range []*testMember{joiner, removed} {
		for range 20 * DefaultElectionTick {
			m.Tick()
		}
		m.Step(Message{Type: MsgTimeoutNow, From: 1, To: m.id, Term: 1})
		if m.role != Follower || m.term > 1 || len(filterMessages(takeMessages(m), MsgVote)) > 0 {
			t.Errorf("member %d: %v in term %d", m.id, m.role, m.term)
		}
	}
}

// Removing a member shrinks the quorum, which may commit entries at once.
func TestRemovingMemberShrinksQuorum(t *testing.T) {
	nw := newNetwork(t, 4)
	nw.campaign(1)
	l := nw.members[1]
	nw.isolate(3)
	nw.isolate(4)
	nw.propose(1, "x")
	index := l.log.lastIndex()
	if l.log.committed >= index {
		t.Fatal("committed with 2 of 4")
	}
	l.ApplyConfChange(removeNode(4)) // as if a change committed earlier were applied now
	if l.log.committed != index {
		t.Errorf("commit %d, want %d with 2 of 3", l.log.committed, index)
	}
}

// Adding a member grows the quorum as soon as the change is applied: a
// one-member cluster that adds a second member cannot commit until the
// new member answers.
func TestAddingMemberGrowsQuorum(t *testing.T) {
	nw := newBootstrapNetwork(t, 1)
	nw.campaign(1)
	nw.add(newJoiner(t, 2))
	nw.isolate(2)
	l := nw.members[1]
	if err := l.ProposeConfChange(addNode(2)); err != nil {
		t.Fatal(err)
	}
	nw.settle()
	if l.quorum() != 2 {
		t.Fatalf("quorum %d after adding member 2", l.quorum())
	}
	nw.propose(1, "x")
	if got := appliedData(l); slices.Contains(got, "x") {
		t.Fatal("committed without the new member")
	}
	nw.heal()
	nw.tick(1, l.heartbeatTimeout)
	if got := appliedData(l); !slices.Contains(got, "x") {
		t.Errorf("not committed once member 2 answers: %v", got)
	}
}
