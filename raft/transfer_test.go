package raft

import (
	"errors"
	"testing"
)

// Tests of leadership transfer (thesis §3.10).

// An up-to-date target is told to campaign at once, and wins the next term.
func TestTransferToUpToDateMember(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	if err := nw.members[1].TransferLeader(2); err != nil {
		t.Fatal(err)
	}
	nw.settle()
	if nw.leader() != 2 || nw.members[2].term != 2 {
		t.Errorf("leader %d term %d, want 2 in term 2", nw.leader(), nw.members[2].term)
	}
	var timeoutNow int
	for _, m := range nw.trace {
		if m.Type == MsgTimeoutNow {
			timeoutNow++
		}
	}
	if timeoutNow != 1 {
		t.Errorf("%d MsgTimeoutNow, want 1", timeoutNow)
	}
}

// "the prior leader sends its log entries to the target server" first: a
// target that is behind is caught up, then told to campaign.
func TestTransferCatchesUpTargetFirst(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	nw.isolate(3)
	nw.propose(1, "x")
	l := nw.members[1]
	nw.heal()
	l.TransferLeader(3)
	if msgs := takeMessages(l); len(filterMessages(msgs, MsgTimeoutNow)) != 0 {
		t.Fatal("told a target that is behind to campaign")
	} else {
		nw.deliver(msgs...)
	}
	nw.tick(1, 2*l.heartbeatTimeout)
	if nw.leader() != 3 {
		t.Errorf("leader %d, want 3", nw.leader())
	}
	if got := appliedData(nw.members[3]); len(got) != 1 || got[0] != "x" {
		t.Errorf("new leader applied %v", got)
	}
}

// While a transfer is under way the leader accepts no proposals (they would
// make the target fall behind); if the transfer has not happened within an
// election timeout, the leader gives up and accepts them again.
func TestTransferTimesOut(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	nw.isolate(3)
	l := nw.members[1]
	l.TransferLeader(3)
	if err := l.Propose([]byte("x")); !errors.Is(err, ErrProposalDropped) {
		t.Fatalf("proposal during a transfer: %v", err)
	}
	if s := l.Status(); s.LeadTransferee != 3 {
		t.Errorf("status says transferee %d", s.LeadTransferee)
	}
	nw.tick(1, l.electionTimeout)
	if l.leadTransferee != None || l.role != Leader {
		t.Fatalf("after an election timeout: transferee %d, %v", l.leadTransferee, l.role)
	}
	if err := l.Propose([]byte("x")); err != nil {
		t.Errorf("proposal after the transfer gave up: %v", err)
	}
}

// With CheckQuorum the members hold a leader lease and ignore vote
// requests, but a transfer's campaign is deliberate and goes through.
func TestTransferBypassesLease(t *testing.T) {
	nw := newNetwork(t, 3, withCheckQuorum, withPreVote(true))
	nw.campaign(1)
	nw.members[1].TransferLeader(2)
	nw.settle()
	if nw.leader() != 2 {
		t.Errorf("leader %d, want 2", nw.leader())
	}
}

// A follower forwards a transfer request to the leader; a request to
// transfer to the leader itself, or to a member already being transferred
// to, changes nothing; a non-voter cannot be the target.
func TestTransferRequests(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	if err := nw.members[3].TransferLeader(2); err != nil {
		t.Fatal(err)
	}
	nw.settle()
	if nw.leader() != 2 {
		t.Fatalf("leader %d after a forwarded request, want 2", nw.leader())
	}
	l := nw.members[2]
	if err := l.TransferLeader(2); err != nil || l.leadTransferee != None {
		t.Errorf("transfer to itself: %v, transferee %d", err, l.leadTransferee)
	}
	if err := l.TransferLeader(7); err == nil {
		t.Error("transfer to a non-member succeeded")
	}
	nw.isolate(3)
	l.TransferLeader(3)
	l.TransferLeader(3)
	if l.leadTransferee != 3 {
		t.Errorf("transferee %d", l.leadTransferee)
	}
	l.TransferLeader(1) // a new target replaces the old one
	nw.settle()
	if nw.leader() != 1 {
		t.Errorf("leader %d, want 1", nw.leader())
	}
	if err := newJoiner(t, 5).TransferLeader(1); !errors.Is(err, ErrProposalDropped) {
		t.Errorf("transfer without a leader: %v", err)
	}
}

// A removed transferee aborts the transfer.
func TestTransferAbortedByRemoval(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	nw.isolate(3)
	l := nw.members[1]
	l.TransferLeader(3)
	l.ApplyConfChange(removeNode(3))
	if l.leadTransferee != None {
		t.Error("the transfer to a removed member goes on")
	}
}
