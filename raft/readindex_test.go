package raft

import (
	"errors"
	"fmt"
	"testing"
)

// Tests of linearizable reads with ReadIndex (§8 of the paper, §6.4 of the
// thesis).

// §8: "a leader must have the latest information on which entries are
// committed ... at the start of its term, it may not know which those are.
// To find out, it needs to commit an entry from its term." A read that
// arrives before the new leader's empty entry commits waits for it.
func TestReadIndexWaitsForCommitInTerm(t *testing.T) {
	nw := newNetwork(t, 3)
	l := nw.members[1]
	l.campaign(campaignElection)
	l.Step(Message{Type: MsgVoteResp, From: 2, To: 1, Term: l.term})
	if err := l.ReadIndex([]byte("early")); err != nil {
		t.Fatal(err)
	}
	if len(l.reads.waiting) != 1 || len(l.Raft.readStates) != 0 {
		t.Fatal("a read was answered before the leader committed in its term")
	}
	nw.settle()
	if len(l.answered) != 1 || l.answered[0].Index != l.log.committed || string(l.answered[0].RequestCtx) != "early" {
		t.Errorf("read states %+v, want one at the commit index %d", l.answered, l.log.committed)
	}
}

// §8: "a leader must check whether it has been deposed before processing a
// read-only request": it exchanges heartbeats with a majority first. A
// leader cut off from the majority never answers.
func TestReadIndexNeedsQuorumHeartbeat(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	l := nw.members[1]
	nw.isolate(1)
	l.ReadIndex([]byte("r1"))
	nw.tick(1, 5*l.heartbeatTimeout)
	if len(l.answered) != 0 {
		t.Fatalf("answered without a quorum: %+v", l.answered)
	}
	nw.heal()
	nw.tick(1, l.heartbeatTimeout) // periodic heartbeats carry the pending read
	if len(l.answered) != 1 {
		t.Errorf("read states %+v after healing", l.answered)
	}
}

// A deposed leader cannot answer a read: the heartbeat round that would
// confirm it is refused by members of the newer term, which tell it so.
func TestDeposedLeaderCannotServeRead(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	nw.isolate(1)
	nw.campaign(2)
	nw.propose(2, "written while 1 is away")
	old := nw.members[1]
	old.ReadIndex([]byte("stale"))
	nw.heal()
	nw.tick(1, old.heartbeatTimeout)
	if len(old.answered) != 0 || old.role == Leader {
		t.Errorf("the deposed leader is %v and answered %+v", old.role, old.answered)
	}
}

// The read index is the commit index when the request arrived, so it
// covers every write committed before the read was asked.
func TestReadIndexCoversEarlierWrites(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	for i := range 3 {
		nw.propose(1, fmt.Sprint(i))
	}
	l := nw.members[1]
	want := l.log.committed
	l.ReadIndex([]byte("r"))
	nw.settle()
	if len(l.answered) != 1 || l.answered[0].Index != want {
		t.Errorf("read states %+v, want index %d", l.answered, want)
	}
}

// A single-voter cluster needs no heartbeat round: it answers at once (once
// it has committed an entry of its term).
func TestReadIndexSingleMember(t *testing.T) {
	nw := newNetwork(t, 1)
	nw.campaign(1)
	l := nw.members[1]
	l.ReadIndex([]byte("r"))
	if len(l.Raft.readStates) != 1 || len(takeMessages(l)) != 0 {
		t.Errorf("read states %+v", l.Raft.readStates)
	}
}

// A follower's read goes to the leader and the answer comes back to the
// follower, whose caller then waits until it has applied up to the index.
func TestReadIndexFromFollower(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	nw.propose(1, "x")
	f := nw.members[2]
	if err := f.ReadIndex([]byte("from 2")); err != nil {
		t.Fatal(err)
	}
	nw.settle()
	if len(f.answered) != 1 || f.answered[0].Index != nw.members[1].log.committed || string(f.answered[0].RequestCtx) != "from 2" {
		t.Errorf("follower's read states %+v", f.answered)
	}
	if len(nw.members[1].answered) != 0 {
		t.Error("the leader's caller got the follower's answer")
	}
	// Without a leader, or with an empty context, the request fails fast.
	j := newJoiner(t, 9)
	if err := j.ReadIndex([]byte("x")); !errors.Is(err, ErrProposalDropped) {
		t.Errorf("ReadIndex without a leader: %v", err)
	}
	if err := f.ReadIndex(nil); err == nil {
		t.Error("ReadIndex with an empty context succeeded")
	}
	c := nw.members[3]
	c.campaign(campaignElection)
	if err := c.ReadIndex([]byte("x")); !errors.Is(err, ErrProposalDropped) {
		t.Errorf("ReadIndex on a candidate: %v", err)
	}
}

// Reads asked between two Readys share one heartbeat round, and all are
// answered when it is confirmed. A duplicate context is answered once.
func TestReadIndexBatchesHeartbeats(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	l := nw.members[1]
	for _, ctx := range []string{"a", "b", "c", "c"} {
		l.ReadIndex([]byte(ctx))
	}
	hb := filterMessages(takeMessages(l), MsgHeartbeat)
	if len(hb) != 2 || string(hb[0].Context) != "c" {
		t.Fatalf("heartbeats %+v, want one round carrying the last context", hb)
	}
	nw.deliver(hb...)
	var got []string
	for _, rs := range l.answered {
		got = append(got, string(rs.RequestCtx))
	}
	if fmt.Sprint(got) != "[a b c]" {
		t.Errorf("answered %v, want [a b c]", got)
	}
}

// Removing a member can complete a read's quorum.
func TestReadIndexQuorumAfterRemoval(t *testing.T) {
	nw := newNetwork(t, 4)
	nw.campaign(1)
	l := nw.members[1]
	nw.isolate(3)
	nw.isolate(4)
	l.ReadIndex([]byte("r"))
	nw.settle()
	if len(l.answered) != 0 {
		t.Fatal("answered with 2 of 4")
	}
	l.ApplyConfChange(removeNode(4))
	if len(l.Raft.readStates) != 1 {
		t.Error("not answered with 2 of 3")
	}
}
