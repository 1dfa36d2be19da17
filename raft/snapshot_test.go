package raft

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// Tests of §7, log compaction and InstallSnapshot.

// compactAt registers a snapshot of member m at index i, as its caller
// would after applying i.
func compactAt(t *testing.T, m *testMember, i uint64) SnapshotMetadata {
	t.Helper()
	term, _ := m.log.term(i)
	meta := SnapshotMetadata{Index: i, Term: term, ConfState: m.ConfState()}
	if err := m.Compact(meta); err != nil {
		t.Fatalf("Compact(%+v): %v", meta, err)
	}
	return meta
}

// §7: "each server takes snapshots independently, covering just the
// committed entries in its log". Raft discards the entries a snapshot
// covers, but keeps CatchUpEntries of them for slow followers.
func TestCompactKeepsCatchUpTail(t *testing.T) {
	nw := newNetwork(t, 1, withCatchUp(5))
	nw.campaign(1)
	for i := range 20 {
		nw.propose(1, fmt.Sprint(i))
	}
	m := nw.members[1]
	compactAt(t, m, 15)
	if m.log.firstIndex() != 11 || m.log.lastIndex() != 21 {
		t.Errorf("log holds %d..%d, want 11..21", m.log.firstIndex(), m.log.lastIndex())
	}
	if m.snapshot.Index != 15 {
		t.Errorf("registered snapshot at %d", m.snapshot.Index)
	}
	compactAt(t, m, 18)
	if m.log.firstIndex() != 14 {
		t.Errorf("first index %d after a second snapshot, want 14", m.log.firstIndex())
	}
	compactAt(t, m, 21)
	// A small log keeps everything within the tail.
	nw = newNetwork(t, 1)
	nw.campaign(1)
	compactAt(t, nw.members[1], 1)
	if nw.members[1].log.firstIndex() != 1 {
		t.Error("compacted within the catch-up tail")
	}
}

// Compact refuses snapshots that do not make sense, and changes nothing.
func TestCompactErrors(t *testing.T) {
	nw := newNetwork(t, 1, withCatchUp(1))
	nw.campaign(1)
	for i := range 5 {
		nw.propose(1, fmt.Sprint(i))
	}
	m := nw.members[1]
	compactAt(t, m, 4)
	tests := []struct {
		meta SnapshotMetadata
		is   error
	}{
		{SnapshotMetadata{Index: 4, Term: 1}, ErrSnapshotOutOfDate},
		{SnapshotMetadata{Index: 3, Term: 1}, ErrSnapshotOutOfDate},
		{SnapshotMetadata{Index: 9, Term: 1}, nil}, // beyond applied
		{SnapshotMetadata{Index: 5, Term: 7}, nil}, // wrong term
		{SnapshotMetadata{Index: 5, Term: 1, ConfState: ConfState{Voters: []uint64{1, 1}}}, nil},
		{SnapshotMetadata{Index: 5, Term: 1, ConfState: ConfState{Voters: []uint64{0}}}, nil},
	}
	for _, tt := range tests {
		err := m.Compact(tt.meta)
		if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("Compact(%+v) = %v", tt.meta, err)
		}
	}
	if m.snapshot.Index != 4 || m.log.firstIndex() != 4 {
		t.Errorf("a refused snapshot changed the state: snapshot %d first %d", m.snapshot.Index, m.log.firstIndex())
	}
}

// §7: "the leader must occasionally send snapshots to followers that lag
// behind ... when the leader has already discarded the next log entry that
// it needs to send to a follower." The message carries the registered
// snapshot's metadata (the caller's transport adds the bytes); the follower
// discards its log, takes the snapshot's configuration, hands the snapshot
// to its caller, and replication continues after it.
func TestLeaderSendsSnapshotToLaggingFollower(t *testing.T) {
	nw := newNetwork(t, 3, withCatchUp(2))
	nw.campaign(1)
	nw.isolate(3)
	for i := range 10 {
		nw.propose(1, fmt.Sprint(i))
	}
	l := nw.members[1]
	meta := compactAt(t, l, 9)
	nw.heal()
	var snaps []Message
	nw.drop = func(m Message) bool {
		if m.Type == MsgSnap {
			snaps = append(snaps, m)
		}
		return false
	}
	nw.propose(1, "after")
	nw.tick(1, l.heartbeatTimeout)
	if len(snaps) != 1 || snaps[0].To != 3 || snaps[0].Snapshot.Metadata.Index != meta.Index ||
		len(snaps[0].Snapshot.Data) != 0 || !slices.Equal(snaps[0].Snapshot.Metadata.ConfState.Voters, []uint64{1, 2, 3}) {
		t.Fatalf("snapshots sent: %+v", snaps)
	}
	f := nw.members[3]
	if len(f.snapshots) != 1 || f.snapshots[0].Metadata.Index != 9 {
		t.Fatalf("follower's caller got snapshots %+v", f.snapshots)
	}
	if f.log.prevIndex != 9 || f.log.applied < 9 {
		t.Errorf("follower log starts after %d, applied %d", f.log.prevIndex, f.log.applied)
	}
	if err := sameLogs(nw, 1, 3); err != nil {
		t.Error(err)
	}
	if pr := l.progress[3]; pr.state != StateReplicate || pr.match != l.log.lastIndex() {
		t.Errorf("progress %+v", *pr)
	}
	// A Ready with a snapshot must be persisted with an fsync.
	m := newMember(t, 2, []uint64{1, 2}, nil)
	m.Step(Message{Type: MsgSnap, From: 1, To: 2, Term: 1, Snapshot: &Snapshot{Metadata: meta, Data: []byte("state")}})
	rd := m.Ready()
	if rd.Snapshot == nil || string(rd.Snapshot.Data) != "state" || !rd.MustSync || rd.HardState.Commit != 9 {
		t.Errorf("Ready after a snapshot: %+v", rd)
	}
	if msgs := filterMessages(rd.Messages, MsgAppResp); len(msgs) != 1 || msgs[0].Index != 9 || !NeedsPersist(msgs[0]) {
		t.Errorf("answer %+v", msgs)
	}
	// The snapshot's membership takes effect once the caller applied it.
	if !slices.Equal(m.ConfState().Voters, []uint64{1, 2}) {
		t.Errorf("voters %v before the snapshot is applied", m.ConfState().Voters)
	}
	m.Advance(rd)
	if !slices.Equal(m.ConfState().Voters, []uint64{1, 2, 3}) {
		t.Errorf("voters %v, want the snapshot's", m.ConfState().Voters)
	}
}

// §7: "If instead the follower receives a snapshot that describes a prefix
// of its log (due to retransmission or by mistake), then log entries
// covered by the snapshot are deleted but entries following the snapshot
// are still valid and must be retained." Ours keeps the covered entries too
// (they are committed now) and hands no snapshot to the caller. A snapshot
// older than the commit index changes nothing at all.
func TestFollowerKeepsLogCoveredBySnapshot(t *testing.T) {
	m := newMember(t, 2, []uint64{1, 2}, []uint64{1, 1, 1, 1, 1, 2}, withCommit(2))
	m.Ready()
	m.Step(Message{Type: MsgSnap, From: 1, To: 2, Term: 2,
		Snapshot: &Snapshot{Metadata: SnapshotMetadata{Index: 4, Term: 1}}})
	if m.log.lastIndex() != 6 || m.log.committed != 4 {
		t.Errorf("last %d commit %d, want 6 and 4", m.log.lastIndex(), m.log.committed)
	}
	rd := m.Ready()
	if rd.Snapshot != nil || len(rd.CommittedEntries) != 2 {
		t.Errorf("Ready %+v, want entries 3 and 4 to apply and no snapshot", rd)
	}
	m.Advance(rd)
	m.Step(Message{Type: MsgSnap, From: 1, To: 2, Term: 2,
		Snapshot: &Snapshot{Metadata: SnapshotMetadata{Index: 3, Term: 1}}})
	if msgs := takeMessages(m); len(msgs) != 1 || msgs[0].Index != 6 {
		t.Errorf("answer to a stale snapshot: %+v", msgs)
	}
	if m.log.committed != 4 || m.log.lastIndex() != 6 || m.log.snapshot != nil {
		t.Error("a stale snapshot changed the log")
	}
}

// §7: "Usually the snapshot will contain new information not already in
// the recipient's log. In this case, the follower discards its entire log;
// it is all superseded by the snapshot and may possibly have uncommitted
// entries that conflict with the snapshot."
func TestFollowerDiscardsLogForNewSnapshot(t *testing.T) {
	m := newMember(t, 2, []uint64{1, 2}, []uint64{1, 1, 2, 2, 2, 2}, withCommit(2))
	m.Step(Message{Type: MsgSnap, From: 1, To: 2, Term: 3,
		Snapshot: &Snapshot{Metadata: SnapshotMetadata{Index: 4, Term: 3, ConfState: ConfState{Voters: []uint64{1, 2, 5}}}}})
	if m.log.lastIndex() != 4 || len(m.log.entries) != 0 || m.log.committed != 4 || m.snapshot.Index != 4 {
		t.Errorf("log %d..%d commit %d", m.log.firstIndex(), m.log.lastIndex(), m.log.committed)
	}
	// Appends continue after the snapshot. Entries committed after it wait
	// until the caller applied the snapshot, and with it its membership,
	// since they may change the membership further.
	m.Step(Message{Type: MsgApp, From: 1, To: 2, Term: 3, Index: 4, LogTerm: 3, Entries: []Entry{{Index: 5, Term: 3}}, Commit: 5})
	rd := m.Ready()
	if rd.Snapshot == nil || len(rd.Entries) != 1 || len(rd.CommittedEntries) != 0 {
		t.Errorf("Ready %+v", rd)
	}
	if rd2 := m.Ready(); len(rd2.CommittedEntries) != 0 || m.HasReady() {
		t.Errorf("a second Ready before the snapshot is applied: %+v", rd2)
	}
	for range 3 * m.electionTimeout {
		m.Tick()
	}
	if m.role != Follower {
		t.Errorf("campaigned before applying the snapshot: %v", m.role)
	}
	m.Advance(rd)
	if !slices.Equal(m.ConfState().Voters, []uint64{1, 2, 5}) {
		t.Errorf("voters %v", m.ConfState().Voters)
	}
	rd = m.Ready()
	if len(rd.CommittedEntries) != 1 || rd.CommittedEntries[0].Index != 5 {
		t.Errorf("Ready after the snapshot %+v", rd)
	}
	m.Advance(rd)
	if m.log.applied != 5 || m.log.stabled != 5 || m.log.snapshot != nil {
		t.Errorf("after Advance: applied %d stabled %d", m.log.applied, m.log.stabled)
	}
}

// When the transport reports that a snapshot could not be sent, the leader
// probes the follower again at the next heartbeat answer, and sends the
// snapshot again if it is still needed.
func TestSnapshotSendFailureRetries(t *testing.T) {
	nw := newNetwork(t, 3, withCatchUp(1))
	nw.campaign(1)
	nw.isolate(2)
	for i := range 5 {
		nw.propose(1, fmt.Sprint(i))
	}
	l := nw.members[1]
	compactAt(t, l, 6)
	nw.heal()
	sent := 0
	nw.drop = func(m Message) bool {
		if m.Type == MsgSnap {
			sent++
			l.ReportSnapshot(2, false) // the transport gives up
			return true
		}
		return false
	}
	// Two heartbeat rounds: the leader notices the appends it streamed
	// while member 2 was away were lost, probes, and finds it needs the
	// snapshot.
	nw.tick(1, 2*l.heartbeatTimeout)
	if sent != 1 || l.progress[2].state != StateProbe {
		t.Fatalf("sent %d snapshots, progress %v", sent, l.progress[2].state)
	}
	nw.drop = func(m Message) bool {
		if m.Type == MsgSnap {
			sent++
			l.ReportSnapshot(2, true)
		}
		return false
	}
	nw.tick(1, 2*l.heartbeatTimeout)
	if sent != 2 || l.progress[2].match != l.log.lastIndex() {
		t.Errorf("sent %d snapshots, match %d of %d", sent, l.progress[2].match, l.log.lastIndex())
	}
}

// A member joining after the log was compacted learns everything, the
// configuration included, from the snapshot's metadata.
func TestJoinerCatchesUpFromSnapshot(t *testing.T) {
	nw := newBootstrapNetwork(t, 3, withCatchUp(1))
	nw.campaign(1)
	for i := range 5 {
		nw.propose(1, fmt.Sprint(i))
	}
	l := nw.members[1]
	compactAt(t, l, l.log.applied)
	nw.add(newJoiner(t, 4, withCatchUp(1)))
	var sawSnap bool
	nw.drop = func(m Message) bool {
		if m.Type == MsgSnap {
			sawSnap = true
			m.Snapshot.Data = []byte("the state machine")
		}
		return false
	}
	if err := l.ProposeConfChange(addNode(4)); err != nil {
		t.Fatal(err)
	}
	nw.settle()
	nw.tick(1, l.heartbeatTimeout)
	j := nw.members[4]
	if !sawSnap || len(j.snapshots) != 1 {
		t.Fatalf("joiner got no snapshot")
	}
	if !slices.Equal(j.ConfState().Voters, []uint64{1, 2, 3, 4}) {
		t.Errorf("joiner's voters %v", j.ConfState().Voters)
	}
	if j.log.lastIndex() != l.log.lastIndex() || j.log.applied != l.log.lastIndex() {
		t.Errorf("joiner last %d applied %d, leader last %d", j.log.lastIndex(), j.log.applied, l.log.lastIndex())
	}
}

// A member restarts from the snapshot's metadata and the entries after it.
func TestRestartFromSnapshot(t *testing.T) {
	meta := SnapshotMetadata{Index: 10, Term: 3, ConfState: ConfState{Voters: []uint64{3, 1, 2}}}
	ents := []Entry{{Index: 9, Term: 3}, {Index: 10, Term: 3}, {Index: 11, Term: 4}, {Index: 12, Term: 4}}
	r, err := New(Config{ID: 1, HardState: HardState{Term: 5, Vote: 2, Commit: 11}, Snapshot: &meta, Entries: ents})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Status()
	if s.Term != 5 || s.Vote != 2 || s.Commit != 11 || s.Applied != 10 || s.LastIndex != 12 || !slices.Equal(s.Voters, []uint64{1, 2, 3}) {
		t.Errorf("status %+v", s)
	}
	rd := r.Ready()
	if len(rd.Entries) != 0 || !rd.HardState.IsEmpty() || len(rd.CommittedEntries) != 1 || rd.CommittedEntries[0].Index != 11 {
		t.Errorf("first Ready %+v: want only entry 11 to apply", rd)
	}
	if r.log.firstIndex() != 11 || r.snapshot.Index != 10 {
		t.Errorf("first index %d, snapshot %d", r.log.firstIndex(), r.snapshot.Index)
	}
}
