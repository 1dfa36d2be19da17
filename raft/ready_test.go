package raft

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// Tests of the Ready/Advance contract, restarts, Status, Config and the
// checks on messages from the network.

// MustSync is set exactly when something must be fsynced: entries, a
// snapshot, or a new term or vote. A commit index alone needs none.
func TestReadyMustSync(t *testing.T) {
	m := newMember(t, 2, []uint64{1, 2}, []uint64{1})
	m.Ready()
	tests := []struct {
		name string
		msg  Message
		sync bool
	}{
		{"entries", Message{Type: MsgApp, Term: 1, Index: 1, LogTerm: 1, Entries: []Entry{{Index: 2, Term: 1}}}, true},
		{"commit only", Message{Type: MsgApp, Term: 1, Index: 2, LogTerm: 1, Commit: 2}, false},
		{"new term", Message{Type: MsgHeartbeat, Term: 2, Commit: 2}, true},
		{"vote", Message{Type: MsgVote, Term: 3, Index: 9, LogTerm: 9}, true},
	}
	for _, tt := range tests {
		tt.msg.From, tt.msg.To = 1, 2
		if err := m.Step(tt.msg); err != nil {
			t.Fatal(err)
		}
		rd := m.Ready()
		if rd.MustSync != tt.sync {
			t.Errorf("%s: MustSync %v, want %v (%+v)", tt.name, rd.MustSync, tt.sync, rd)
		}
		m.Advance(rd)
	}
	if m.HasReady() {
		t.Error("HasReady after everything was advanced")
	}
}

// Which messages must wait until the Ready that carries them is durable.
func TestNeedsPersist(t *testing.T) {
	tests := []struct {
		m    Message
		want bool
	}{
		{Message{Type: MsgVote}, true},
		{Message{Type: MsgVoteResp}, true},
		{Message{Type: MsgVoteResp, Reject: true}, false},
		{Message{Type: MsgAppResp}, true},
		{Message{Type: MsgAppResp, Reject: true}, true},
		{Message{Type: MsgApp}, false},
		{Message{Type: MsgHeartbeat}, false},
		{Message{Type: MsgHeartbeatResp}, false},
		{Message{Type: MsgPreVote}, false},
		{Message{Type: MsgPreVoteResp}, false},
		{Message{Type: MsgSnap}, false},
		{Message{Type: MsgProp}, false},
		{Message{Type: MsgReadIndex}, false},
		{Message{Type: MsgTimeoutNow}, false},
	}
	for _, tt := range tests {
		if got := NeedsPersist(tt.m); got != tt.want {
			t.Errorf("NeedsPersist(%v reject=%v) = %v", tt.m.Type, tt.m.Reject, got)
		}
	}
}

// Several Readys may be outstanding; entries replaced in between are not
// marked durable by the older Ready's Advance.
func TestAdvanceAfterTruncation(t *testing.T) {
	m := newMember(t, 2, []uint64{1, 2}, []uint64{1})
	m.Step(Message{Type: MsgApp, From: 1, To: 2, Term: 2, Index: 1, LogTerm: 1,
		Entries: []Entry{{Index: 2, Term: 2}, {Index: 3, Term: 2}}})
	rd1 := m.Ready()
	// Before rd1 is advanced, a leader of term 3 replaces entry 3.
	m.Step(Message{Type: MsgApp, From: 1, To: 2, Term: 3, Index: 2, LogTerm: 2,
		Entries: []Entry{{Index: 3, Term: 3}}, Commit: 3})
	rd2 := m.Ready()
	if len(rd2.Entries) != 1 || rd2.Entries[0].Term != 3 {
		t.Fatalf("second Ready entries %+v, want the replacement", rd2.Entries)
	}
	if rd1.Entries[1].Term != 2 {
		t.Fatal("the first Ready's entries changed under the caller")
	}
	m.Advance(rd1)
	if m.log.stabled != 1 {
		t.Errorf("stabled %d after the stale Ready, want 1", m.log.stabled)
	}
	m.Advance(rd2)
	if m.log.stabled != 3 || m.log.applied != 3 {
		t.Errorf("stabled %d applied %d, want 3 and 3", m.log.stabled, m.log.applied)
	}
}

// A member restarted from what its Readys persisted is the same member.
func TestRestartFromPersistedState(t *testing.T) {
	nw := newNetwork(t, 3)
	var hs HardState
	var ents []Entry
	record := func(m Message) bool { return false }
	nw.drop = record
	nw.campaign(1)
	nw.propose(1, "a")
	nw.propose(2, "b")
	// Rebuild member 3's persisted state from its log as the harness
	// persisted it (instantly), then restart it.
	m := nw.members[3]
	hs = m.hardState()
	ents = slices.Clone(m.log.entries)
	r, err := New(Config{ID: 3, HardState: hs, Entries: ents, ConfState: &ConfState{Voters: []uint64{1, 2, 3}}, Applied: hs.Commit})
	if err != nil {
		t.Fatal(err)
	}
	if r.term != m.term || r.vote != m.vote || r.log.committed != m.log.committed || r.log.lastIndex() != m.log.lastIndex() {
		t.Errorf("restarted %+v, was %+v", r.Status(), m.Status())
	}
	if r.HasReady() {
		t.Errorf("a restarted member has work before anything happens: %+v", r.Ready())
	}
	nw.members[3] = &testMember{Raft: r}
	nw.propose(1, "c")
	if err := sameLogs(nw, 1, 2, 3); err != nil {
		t.Error(err)
	}
}

func TestStatus(t *testing.T) {
	nw := newNetwork(t, 3, withCheckQuorum)
	nw.campaign(1)
	nw.propose(1, "x")
	nw.isolate(3)
	l := nw.members[1]
	nw.tick(1, l.electionTimeout)
	s := l.Status()
	if s.ID != 1 || s.Role != Leader || s.Lead != 1 || s.Term != 1 || s.Vote != 1 || s.Commit != 2 || s.Applied != 2 || s.LastIndex != 2 {
		t.Errorf("status %+v", s)
	}
	if !slices.Equal(s.Voters, []uint64{1, 2, 3}) || len(s.Progress) != 3 {
		t.Fatalf("voters %v progress %v", s.Voters, s.Progress)
	}
	want := map[uint64]ProgressStatus{
		1: {Match: 2, Next: 3, State: StateReplicate, RecentActive: true},
		2: {Match: 2, Next: 3, State: StateReplicate, RecentActive: true},
	}
	for id, w := range want {
		if s.Progress[id] != w {
			t.Errorf("progress of %d: %+v, want %+v", id, s.Progress[id], w)
		}
	}
	if s.Progress[3].RecentActive {
		t.Error("the isolated member counts as recently active")
	}
	if f := nw.members[2].Status(); f.Progress != nil || f.Role != Follower || f.Lead != 1 {
		t.Errorf("follower status %+v", f)
	}
	for _, st := range []ProgressState{StateProbe, StateReplicate, StateSnapshot, 7} {
		if st.String() == "" {
			t.Error("empty state name")
		}
	}
	for _, r := range []Role{Follower, PreCandidate, Candidate, Leader, 9} {
		if r.String() == "" {
			t.Error("empty role name")
		}
	}
}

func TestConfigValidation(t *testing.T) {
	voters := &ConfState{Voters: []uint64{1}}
	tests := []struct {
		name string
		c    Config
	}{
		{"zero ID", Config{}},
		{"heartbeat above election", Config{ID: 1, ElectionTick: 2, HeartbeatTick: 3}},
		{"negative election", Config{ID: 1, ElectionTick: -1}},
		{"negative heartbeat", Config{ID: 1, HeartbeatTick: -1}},
		{"negative inflight", Config{ID: 1, MaxInflightMsgs: -1}},
		{"peers without self", Config{ID: 1, Peers: []uint64{2, 3}}},
		{"duplicate peers", Config{ID: 1, Peers: []uint64{1, 2, 2}}},
		{"zero peer", Config{ID: 1, Peers: []uint64{1, 0}}},
		{"peers and restart", Config{ID: 1, Peers: []uint64{1}, HardState: HardState{Term: 1}}},
		{"peers and applied", Config{ID: 1, Peers: []uint64{1}, Applied: 1}},
		{"bad snapshot", Config{ID: 1, Snapshot: &SnapshotMetadata{Index: 3}}},
		{"snapshot term mismatch", Config{ID: 1, Snapshot: &SnapshotMetadata{Index: 2, Term: 2},
			Entries: []Entry{{Index: 2, Term: 1}}}},
		{"gap", Config{ID: 1, Entries: []Entry{{Index: 1, Term: 1}, {Index: 3, Term: 1}}, HardState: HardState{Term: 1}}},
		{"gap after snapshot", Config{ID: 1, Snapshot: &SnapshotMetadata{Index: 5, Term: 1}, Entries: []Entry{{Index: 7, Term: 1}}}},
		{"decreasing term", Config{ID: 1, Entries: []Entry{{Index: 1, Term: 2}, {Index: 2, Term: 1}}, HardState: HardState{Term: 2}}},
		{"zero term", Config{ID: 1, Entries: []Entry{{Index: 1, Term: 0}}}},
		{"term below log", Config{ID: 1, Entries: []Entry{{Index: 1, Term: 3}}, HardState: HardState{Term: 2}}},
		{"commit past log", Config{ID: 1, Entries: []Entry{{Index: 1, Term: 1}}, HardState: HardState{Term: 1, Commit: 2}}},
		{"applied below snapshot", Config{ID: 1, Snapshot: &SnapshotMetadata{Index: 5, Term: 1}, Applied: 3, HardState: HardState{Term: 1}}},
		{"applied past commit", Config{ID: 1, Entries: []Entry{{Index: 1, Term: 1}}, HardState: HardState{Term: 1}, Applied: 1, ConfState: voters}},
		{"applied conf change without ConfState", Config{ID: 1, HardState: HardState{Term: 1, Commit: 1}, Applied: 1,
			Entries: []Entry{{Index: 1, Term: 1, Type: EntryConfChange}}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", tt.name, err)
		}
	}
	r, err := New(Config{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.electionTimeout != DefaultElectionTick || r.heartbeatTimeout != DefaultHeartbeatTick || !r.preVote || r.checkQuorum ||
		r.maxMsgSize != DefaultMaxSizePerMsg || r.maxInflight != DefaultMaxInflightMsgs || r.catchUpEntries != DefaultCatchUpEntries {
		t.Errorf("defaults not applied: %+v", r)
	}
}

// The logger hears about role changes.
func TestLogger(t *testing.T) {
	var b strings.Builder
	nw := newNetwork(t, 1, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&b, nil)) })
	nw.campaign(1)
	if !strings.Contains(b.String(), "became leader") || !strings.Contains(b.String(), "raft=1") {
		t.Errorf("log output %q", b.String())
	}
}

// Step refuses messages no correct member sends, and changes nothing.
func TestStepRejectsInvalidMessages(t *testing.T) {
	tests := []struct {
		name string
		m    Message
	}{
		{"unknown type", Message{Type: msgTypeCount, From: 2, To: 1, Term: 1}},
		{"local hup", Message{Type: MsgHup, From: 2, To: 1, Term: 1}},
		{"local beat", Message{Type: MsgBeat, From: 2, To: 1, Term: 1}},
		{"local snap status", Message{Type: MsgSnapStatus, From: 2, To: 1, Term: 1}},
		{"local unreachable", Message{Type: MsgUnreachable, From: 2, To: 1, Term: 1}},
		{"wrong recipient", Message{Type: MsgApp, From: 2, To: 3, Term: 1}},
		{"no sender", Message{Type: MsgApp, To: 1, Term: 1}},
		{"from itself", Message{Type: MsgApp, From: 1, To: 1, Term: 1}},
		{"snapshot without snapshot", Message{Type: MsgSnap, From: 2, To: 1, Term: 1}},
		{"snapshot without term", Message{Type: MsgSnap, From: 2, To: 1, Term: 1, Snapshot: &Snapshot{Metadata: SnapshotMetadata{Index: 3}}}},
		{"no term", Message{Type: MsgApp, From: 2, To: 1}},
		{"entries out of place", Message{Type: MsgApp, From: 2, To: 1, Term: 2, Index: 1, Entries: []Entry{{Index: 3, Term: 1}}}},
		{"entry of a future term", Message{Type: MsgApp, From: 2, To: 1, Term: 2, Index: 1, Entries: []Entry{{Index: 2, Term: 3}}}},
		{"entry of term 0", Message{Type: MsgApp, From: 2, To: 1, Term: 2, Index: 1, Entries: []Entry{{Index: 2}}}},
		{"decreasing terms", Message{Type: MsgApp, From: 2, To: 1, Term: 2, Index: 1,
			Entries: []Entry{{Index: 2, Term: 2}, {Index: 3, Term: 1}}}},
		{"entry older than its predecessor", Message{Type: MsgApp, From: 2, To: 1, Term: 2, Index: 1, LogTerm: 2,
			Entries: []Entry{{Index: 2, Term: 1}}}},
		{"unknown entry type", Message{Type: MsgProp, From: 2, To: 1, Entries: []Entry{{Type: 5}}}},
		{"snapshot with a duplicate voter", Message{Type: MsgSnap, From: 2, To: 1, Term: 1,
			Snapshot: &Snapshot{Metadata: SnapshotMetadata{Index: 3, Term: 1, ConfState: ConfState{Voters: []uint64{2, 1, 2}}}}}},
		{"snapshot with voter 0", Message{Type: MsgSnap, From: 2, To: 1, Term: 1,
			Snapshot: &Snapshot{Metadata: SnapshotMetadata{Index: 3, Term: 1, ConfState: ConfState{Voters: []uint64{0, 1}}}}}},
	}
	for _, tt := range tests {
		m := newMember(t, 1, []uint64{1, 2, 3}, []uint64{1})
		before := m.Status()
		err := m.Step(tt.m)
		if !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: Step = %v, want ErrInvalidMessage", tt.name, err)
		}
		if after := m.Status(); after.Term != before.Term || after.LastIndex != before.LastIndex || after.Lead != before.Lead {
			t.Errorf("%s: state changed to %+v", tt.name, after)
		}
	}
}

// A leader refuses an acknowledgement of entries it never had.
func TestLeaderRefusesImpossibleAcknowledgement(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	l := nw.members[1]
	err := l.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: l.term, Index: 99})
	if !errors.Is(err, ErrInvalidMessage) || l.progress[2].match == 99 {
		t.Errorf("acknowledgement past the log: %v, match %d", err, l.progress[2].match)
	}
}

// Requests forwarded to a member that is not the leader are dropped
// quietly, never forwarded again.
func TestForwardedRequestsToNonLeaderAreDropped(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	f := nw.members[2]
	for _, typ := range []MessageType{MsgProp, MsgReadIndex, MsgTransferLeader} {
		m := Message{Type: typ, From: 3, To: 2, Index: 3, Entries: []Entry{{Data: []byte("x")}}, Context: []byte("c")}
		if err := f.Step(m); err != nil {
			t.Errorf("%v: %v", typ, err)
		}
		if msgs := takeMessages(f); len(msgs) != 0 {
			t.Errorf("%v forwarded again: %+v", typ, msgs)
		}
	}
	c := nw.members[3]
	c.campaign(campaignElection)
	takeMessages(c)
	for _, typ := range []MessageType{MsgProp, MsgReadIndex, MsgTransferLeader} {
		if err := c.Step(Message{Type: typ, From: 2, To: 3, Index: 2}); err != nil {
			t.Errorf("candidate, %v: %v", typ, err)
		}
	}
	// A leader in a transfer drops forwarded proposals without an error.
	l := nw.members[1]
	nw.isolate(3)
	l.TransferLeader(3)
	if err := l.Step(Message{Type: MsgProp, From: 2, To: 1, Entries: []Entry{{Data: []byte("x")}}}); err != nil {
		t.Errorf("forwarded proposal during a transfer: %v", err)
	}
	// An undecodable conf change is refused (locally with an error).
	l.leadTransferee = None
	before := l.log.lastIndex()
	l.Step(Message{Type: MsgProp, From: 2, To: 1, Entries: []Entry{{Type: EntryConfChange, Data: []byte{0xff}}}})
	err := l.step(Message{Type: MsgProp, From: 1, Entries: []Entry{{Type: EntryConfChange, Data: []byte{0xff}}}})
	if err == nil || l.log.lastIndex() != before {
		t.Errorf("undecodable conf change: %v, log %d -> %d", err, before, l.log.lastIndex())
	}
}
