package raft

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// Tests of §5.3 (log replication), §5.4.2 (committing entries from previous
// terms), §5.5 (follower crashes) and the Figure 7 and Figure 8 scenarios.

// §5.3: "The leader appends the command to its log as a new entry, then
// issues AppendEntries RPCs in parallel to each of the other servers to
// replicate the entry."
func TestLeaderAppendsProposalAndReplicates(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	l := nw.members[1]
	if err := l.Propose([]byte("x")); err != nil {
		t.Fatal(err)
	}
	last := l.log.entry(l.log.lastIndex())
	if string(last.Data) != "x" || last.Term != l.term {
		t.Fatalf("leader's last entry %+v, want x in term %d", *last, l.term)
	}
	rd := l.Ready()
	if len(rd.Entries) != 1 || string(rd.Entries[0].Data) != "x" {
		t.Errorf("Ready.Entries = %+v, want the new entry to persist", rd.Entries)
	}
	apps := filterMessages(rd.Messages, MsgApp)
	if len(apps) != 2 {
		t.Fatalf("want an append to each follower, got %+v", rd.Messages)
	}
	for _, m := range apps {
		if len(m.Entries) != 1 || string(m.Entries[0].Data) != "x" || NeedsPersist(m) {
			t.Errorf("append %+v: want the entry, sendable before the leader's own fsync", m)
		}
	}
}

// Proposals made between two Readys reach each follower in one append.
func TestProposalsAreBatched(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	l := nw.members[1]
	for i := range 10 {
		l.Propose([]byte{byte(i)})
	}
	apps := filterMessages(l.Ready().Messages, MsgApp)
	if len(apps) != 2 || len(apps[0].Entries) != 10 || len(apps[1].Entries) != 10 {
		t.Errorf("want one append of 10 entries per follower, got %d appends", len(apps))
	}
	// A follower's proposals are forwarded to the leader in one message too.
	f := nw.members[2]
	for i := range 5 {
		f.Propose([]byte{byte(i)})
	}
	props := filterMessages(takeMessages(f), MsgProp)
	if len(props) != 1 || len(props[0].Entries) != 5 || props[0].To != 1 {
		t.Errorf("want one forwarded proposal of 5 entries, got %+v", props)
	}
}

// An append carries at most MaxSizePerMsg bytes of entries, but always at
// least one entry; in StateReplicate at most MaxInflightMsgs appends are
// unacknowledged at once.
func TestAppendSizeAndInflightLimits(t *testing.T) {
	nw := newNetwork(t, 2, withMaxSize(250), withInflight(3))
	nw.campaign(1)
	l := nw.members[1]
	for range 20 {
		l.Propose(bytes.Repeat([]byte("a"), 100))
	}
	l.Propose(bytes.Repeat([]byte("b"), 1000)) // larger than the limit on its own
	apps := filterMessages(takeMessages(l), MsgApp)
	if len(apps) != 3 {
		t.Fatalf("sent %d appends, want 3 (the in-flight limit)", len(apps))
	}
	for _, m := range apps {
		size := 0
		for _, e := range m.Entries {
			size += e.Size()
		}
		if len(m.Entries) == 0 || (len(m.Entries) > 1 && size > 250) {
			t.Errorf("append of %d entries, %d bytes", len(m.Entries), size)
		}
	}
	if !l.Status().Progress[2].Paused {
		t.Error("progress not paused with 3 appends in flight")
	}
	// Acknowledging the first frees one slot: exactly one more append.
	f := nw.members[2]
	f.Step(apps[0])
	l.Step(takeMessages(f)[0])
	more := filterMessages(takeMessages(l), MsgApp)
	if len(more) != 1 {
		t.Errorf("after one acknowledgement: %d appends, want 1", len(more))
	}
	nw.deliver(append(apps[1:], more...)...)
	if l.log.committed != l.log.lastIndex() || nw.members[2].log.lastIndex() != l.log.lastIndex() {
		t.Error("the follower did not catch up")
	}
	last := nw.members[2].log.entry(l.log.lastIndex())
	if len(last.Data) != 1000 {
		t.Error("the oversized entry did not arrive")
	}
}

// §5.3: "A log entry is committed once the leader that created the entry
// has replicated it on a majority of the servers."
func TestLeaderCommitsEntryOnMajority(t *testing.T) {
	for _, size := range []int{1, 3, 4, 5} {
		nw := newNetwork(t, size)
		nw.campaign(1)
		l := nw.members[1]
		l.Propose([]byte("x"))
		rd := l.Ready()
		l.Advance(rd) // the leader persisted it: one copy
		index := l.log.lastIndex()
		copies := 1
		for id := uint64(2); copies < size/2+1; id++ {
			if l.log.committed >= index {
				t.Fatalf("%d members: committed with only %d copies", size, copies)
			}
			l.Step(Message{Type: MsgAppResp, From: id, To: 1, Term: l.term, Index: index})
			copies++
		}
		if l.log.committed != index {
			t.Errorf("%d members: not committed with %d copies", size, copies)
		}
	}
}

// The leader may send appends before its own fsync (§10.2.1 of the
// thesis), so its own copy counts towards a quorum only after Advance. In a
// single-member cluster this means nothing commits before it is durable.
func TestLeaderCountsOwnEntryOnlyWhenPersisted(t *testing.T) {
	nw := newNetwork(t, 1)
	nw.campaign(1)
	l := nw.members[1]
	l.Propose([]byte("x"))
	rd := l.Ready()
	if l.log.committed == l.log.lastIndex() || len(rd.CommittedEntries) != 0 {
		t.Fatal("committed an entry that is not yet persisted")
	}
	l.Advance(rd)
	rd = l.Ready()
	if len(rd.CommittedEntries) != 1 || string(rd.CommittedEntries[0].Data) != "x" {
		t.Errorf("after Advance: committed entries %+v, want x", rd.CommittedEntries)
	}

	nw = newNetwork(t, 3)
	nw.campaign(1)
	l = nw.members[1]
	l.Propose([]byte("y"))
	rd = l.Ready()
	index := l.log.lastIndex()
	l.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: l.term, Index: index})
	if l.log.committed == index {
		t.Fatal("committed with one durable copy and the leader's unpersisted one")
	}
	l.Advance(rd)
	if l.log.committed != index {
		t.Error("not committed once the leader's copy is durable")
	}
}

// §5.3: "The leader keeps track of the highest index it knows to be
// committed, and it includes that index in future AppendEntries RPCs ...
// Once a follower learns that a log entry is committed, it applies the
// entry to its local state machine (in log order)." A follower never
// commits past the last entry the append covers.
func TestFollowerCommitsFromLeader(t *testing.T) {
	tests := []struct {
		ents     []Entry
		commit   uint64
		want     uint64
		applyLen int
	}{
		{[]Entry{{Index: 2, Term: 1}, {Index: 3, Term: 1}}, 3, 3, 3},
		{[]Entry{{Index: 2, Term: 1}, {Index: 3, Term: 1}}, 9, 3, 3},
		{[]Entry{{Index: 2, Term: 1}}, 1, 1, 1},
		{nil, 5, 1, 1},
	}
	for _, tt := range tests {
		m := newMember(t, 2, []uint64{1, 2}, []uint64{1})
		m.Step(Message{Type: MsgApp, From: 1, To: 2, Term: 1, Index: 1, LogTerm: 1, Entries: tt.ents, Commit: tt.commit})
		if m.log.committed != tt.want {
			t.Errorf("append of %d entries after 1 with commit %d: committed %d, want %d", len(tt.ents), tt.commit, m.log.committed, tt.want)
		}
		if rd := m.Ready(); len(rd.CommittedEntries) != tt.applyLen {
			t.Errorf("committed entries %+v, want %d", rd.CommittedEntries, tt.applyLen)
		}
	}
}

// §5.3: "When sending an AppendEntries RPC, the leader includes the index
// and term of the entry in its log that immediately precedes the new
// entries. If the follower does not find an entry in its log with the same
// index and term, then it refuses the new entries."
func TestFollowerChecksPrecedingEntry(t *testing.T) {
	tests := []struct {
		index, logTerm uint64
		accept         bool
	}{
		{0, 0, true},
		{1, 1, true},
		{2, 2, true},
		{2, 1, false}, // wrong term
		{3, 2, false}, // beyond the log
		{3, 3, false},
	}
	for _, tt := range tests {
		m := newMember(t, 2, []uint64{1, 2}, []uint64{1, 2}, withTerm(3))
		m.Step(Message{Type: MsgApp, From: 1, To: 2, Term: 3, Index: tt.index, LogTerm: tt.logTerm,
			Entries: []Entry{{Index: tt.index + 1, Term: 3}}})
		msgs := takeMessages(m)
		if len(msgs) != 1 || msgs[0].Type != MsgAppResp || msgs[0].Reject == tt.accept {
			t.Errorf("append after %d/%d: answers %+v, want accept=%v", tt.index, tt.logTerm, msgs, tt.accept)
		}
		if tt.accept && m.log.lastIndex() != tt.index+1 {
			t.Errorf("append after %d/%d: last index %d", tt.index, tt.logTerm, m.log.lastIndex())
		}
		if !tt.accept && !slices.Equal(logTerms(m), []uint64{1, 2}) {
			t.Errorf("a refused append changed the log: %v", logTerms(m))
		}
	}
}

// Figure 2, AppendEntries rule 3: "If an existing entry conflicts with a
// new one (same index but different terms), delete the existing entry and
// all that follow it." Rule 4: "Append any new entries not already in the
// log" — entries already present are kept, so a delayed shorter append
// never cuts a log back.
func TestFollowerReplacesConflictingEntries(t *testing.T) {
	tests := []struct {
		index, logTerm uint64
		ents           []uint64 // terms of the entries after index
		want           []uint64
	}{
		{1, 1, []uint64{3}, []uint64{1, 3}},                   // conflict at 2: cut 2..4
		{0, 0, []uint64{3, 3}, []uint64{3, 3}},                // conflict at 1
		{2, 2, []uint64{2}, []uint64{1, 2, 2, 2}},             // already present
		{1, 1, []uint64{2}, []uint64{1, 2, 2, 2}},             // a delayed, shorter append
		{4, 2, []uint64{3, 3}, []uint64{1, 2, 2, 2, 3, 3}},    // plain append
		{3, 2, []uint64{2, 4, 4}, []uint64{1, 2, 2, 2, 4, 4}}, // overlap, then conflict
	}
	for _, tt := range tests {
		m := newMember(t, 2, []uint64{1, 2}, []uint64{1, 2, 2, 2}, withTerm(4))
		var ents []Entry
		for i, term := range tt.ents {
			ents = append(ents, Entry{Index: tt.index + 1 + uint64(i), Term: term})
		}
		if err := m.Step(Message{Type: MsgApp, From: 1, To: 2, Term: 4, Index: tt.index, LogTerm: tt.logTerm, Entries: ents}); err != nil {
			t.Fatal(err)
		}
		if got := logTerms(m); !slices.Equal(got, tt.want) {
			t.Errorf("append %v after %d/%d: log %v, want %v", tt.ents, tt.index, tt.logTerm, got, tt.want)
		}
	}
}

// A committed entry is never deleted: an append that would replace one can
// only come from a broken leader, and is refused with an error.
func TestFollowerRefusesToReplaceCommittedEntry(t *testing.T) {
	m := newMember(t, 2, []uint64{1, 2}, []uint64{1, 1, 1}, withCommit(3))
	err := m.Step(Message{Type: MsgApp, From: 1, To: 2, Term: 2, Index: 1, LogTerm: 1,
		Entries: []Entry{{Index: 2, Term: 2}}, Commit: 3})
	if err == nil || !slices.Equal(logTerms(m), []uint64{1, 1, 1}) {
		t.Errorf("err %v, log %v: want an error and the log unchanged", err, logTerms(m))
	}
	// An append that starts below the commit index but agrees with the log
	// is fine: the committed part is skipped.
	err = m.Step(Message{Type: MsgApp, From: 1, To: 2, Term: 2, Index: 1, LogTerm: 1,
		Entries: []Entry{{Index: 2, Term: 1}, {Index: 3, Term: 1}, {Index: 4, Term: 2}}, Commit: 4})
	if err != nil || !slices.Equal(logTerms(m), []uint64{1, 1, 1, 2}) || m.log.committed != 4 {
		t.Errorf("err %v, log %v, commit %d", err, logTerms(m), m.log.committed)
	}
}

// §5.3: "After a rejection, the leader decrements nextIndex and retries
// the AppendEntries RPC. Eventually nextIndex will reach a point where the
// leader and follower logs match." With the optimisation the paper sketches
// ("the follower can include the term of the conflicting entry and the
// first index it stores for that term"), each round trip skips at least a
// whole term: here the follower's log has 1 entry of term 1 and 50 of term
// 2, the leader's 50 of term 3 after the first; the match point is found in
// two rejections instead of fifty.
func TestRejectHintSkipsWholeTerms(t *testing.T) {
	ids := []uint64{1, 2, 3}
	leaderLog := append([]uint64{1}, slices.Repeat([]uint64{3}, 50)...)
	followerLog := append([]uint64{1}, slices.Repeat([]uint64{2}, 50)...)
	nw := &network{t: t, members: map[uint64]*testMember{}, cut: map[[2]uint64]bool{}}
	nw.add(newMember(t, 1, ids, leaderLog, withPreVote(false)))
	nw.add(newMember(t, 2, ids, followerLog, withPreVote(false)))
	nw.add(newMember(t, 3, ids, leaderLog, withPreVote(false)))
	nw.campaign(1)
	if nw.leader() != 1 {
		t.Fatal("member 1 was not elected")
	}
	rejections := 0
	for _, m := range nw.trace {
		if m.Type == MsgAppResp && m.From == 2 && m.Reject {
			rejections++
		}
	}
	if rejections > 2 {
		t.Errorf("%d rejections before the logs matched, want at most 2", rejections)
	}
	if err := sameLogs(nw, 1, 2, 3); err != nil {
		t.Error(err)
	}
}

// Figure 7: a leader of term 8 meets followers whose logs (a)-(f) are
// missing entries, have extra uncommitted entries, or both. Whatever the
// follower's log, the leader makes it identical to its own.
func TestFigure7(t *testing.T) {
	leaderLog := []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6}
	followers := map[string][]uint64{
		"a": {1, 1, 1, 4, 4, 5, 5, 6, 6},
		"b": {1, 1, 1, 4},
		"c": {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},
		"d": {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},
		"e": {1, 1, 1, 4, 4, 4, 4},
		"f": {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},
	}
	for name, followerLog := range followers {
		ids := []uint64{1, 2, 3}
		nw := &network{t: t, members: map[uint64]*testMember{}, cut: map[[2]uint64]bool{}}
		nw.add(newMember(t, 1, ids, leaderLog, withPreVote(false), withTerm(7)))
		nw.add(newMember(t, 2, ids, followerLog, withPreVote(false), withTerm(7)))
		nw.add(newMember(t, 3, ids, leaderLog, withPreVote(false), withTerm(7)))
		nw.campaign(1)
		if nw.leader() != 1 || nw.members[1].term != 8 {
			t.Fatalf("(%s): leader %d term %d, want 1 in term 8", name, nw.leader(), nw.members[1].term)
		}
		if err := sameLogs(nw, 1, 2); err != nil {
			t.Errorf("(%s): %v", name, err)
		}
		want := append(slices.Clone(leaderLog), 8) // and the new leader's empty entry
		if got := logTerms(nw.members[2]); !slices.Equal(got, want) {
			t.Errorf("(%s): follower log %v, want %v", name, got, want)
		}
	}
}

// §5.4.2 and Figure 8: a leader cannot conclude that an entry of an earlier
// term is committed because it is stored on a majority: such an entry can
// still be overwritten by a future leader. Raft never commits entries of
// earlier terms by counting replicas; they commit when an entry of the
// current term after them does.
//
// The setup is Figure 8 (c): S1, leader of term 4, has replicated the term-2
// entry at index 2 to S2 and S3 (a majority), but not its own entry of
// term 4. S5 holds a term-3 entry at index 2.
func TestFigure8(t *testing.T) {
	setup := func(t *testing.T) *network {
		ids := []uint64{1, 2, 3, 4, 5}
		nw := &network{t: t, members: map[uint64]*testMember{}, cut: map[[2]uint64]bool{}}
		nw.add(newMember(t, 1, ids, []uint64{1, 2}, withPreVote(false), withTerm(3), withMaxSize(1)))
		nw.add(newMember(t, 2, ids, []uint64{1, 2}, withPreVote(false), withTerm(3)))
		nw.add(newMember(t, 3, ids, []uint64{1}, withPreVote(false), withTerm(3)))
		nw.add(newMember(t, 4, ids, []uint64{1}, withPreVote(false), withTerm(3)))
		nw.add(newMember(t, 5, ids, []uint64{1, 3}, withPreVote(false), withTerm(3)))
		nw.isolate(5) // S5 is down
		nw.cut[[2]uint64{1, 4}] = true
		// S1 wins term 4 but its entry of term 4 never reaches anyone.
		nw.rewrite = func(m *Message) {
			if m.Type == MsgApp && m.From == 1 {
				m.Entries = slices.DeleteFunc(slices.Clone(m.Entries), func(e Entry) bool { return e.Term == 4 })
			}
		}
		nw.campaign(1)
		nw.tick(1, 3*nw.members[1].heartbeatTimeout)
		if nw.leader() != 1 || nw.members[1].term != 4 {
			t.Fatalf("S1 is not the leader of term 4")
		}
		for _, id := range []uint64{1, 2, 3} {
			if got := logTerms(nw.members[id]); !slices.Equal(got[:2], []uint64{1, 2}) {
				t.Fatalf("S%d log %v, want the term-2 entry at index 2", id, got)
			}
		}
		if c := nw.members[1].log.committed; c >= 2 {
			t.Fatalf("S1 committed index %d: it counted replicas of an entry of term 2", c)
		}
		return nw
	}

	// (d): S1 crashes; S5 can be elected (by S2, S3, S4) and overwrites
	// index 2 everywhere. Nothing committed was lost, since index 2 never
	// committed.
	t.Run("d", func(t *testing.T) {
		nw := setup(t)
		nw.heal()
		nw.isolate(1)
		nw.members[5].term = 4
		nw.campaign(5)
		if nw.leader() != 5 {
			t.Fatal("S5 was not elected")
		}
		for _, id := range []uint64{2, 3, 4, 5} {
			if got := logTerms(nw.members[id]); got[1] != 3 {
				t.Errorf("S%d log %v: index 2 should now hold S5's term-3 entry", id, got)
			}
		}
	})

	// (e): S1 replicates an entry of its own term to a majority before it
	// crashes. That commits it and, with it, index 2; S5 can no longer win.
	t.Run("e", func(t *testing.T) {
		nw := setup(t)
		nw.rewrite = nil
		nw.tick(1, nw.members[1].heartbeatTimeout) // heartbeats restart the appends
		if c := nw.members[1].log.committed; c != 3 {
			t.Fatalf("S1 commit index %d, want 3 (its term-4 entry, and index 2 with it)", c)
		}
		nw.heal()
		nw.isolate(1)
		nw.members[5].term = 4
		nw.campaign(5)
		if nw.members[5].role == Leader {
			t.Fatal("S5 was elected without the committed entries")
		}
	})
}

// §5.4.2: when a new leader takes office it appends an entry of its own
// term, here an empty one, so that it can commit everything before it (and
// answer ReadIndex, §8).
func TestNewLeaderAppendsEmptyEntry(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	l := nw.members[1]
	last := l.log.entry(l.log.lastIndex())
	if last.Term != l.term || last.Type != EntryNormal || len(last.Data) != 0 {
		t.Fatalf("leader's last entry %+v, want an empty entry of term %d", *last, l.term)
	}
	if l.log.committed != last.Index {
		t.Errorf("commit index %d, want the empty entry %d committed", l.log.committed, last.Index)
	}
}

// Figure 3, Leader Append-Only: "a leader never overwrites or deletes
// entries in its log; it only appends new entries." A stale append from a
// deposed leader leaves the leader's log alone.
func TestLeaderNeverOverwritesItsLog(t *testing.T) {
	nw := newNetwork(t, 3)
	nw.campaign(1)
	nw.propose(1, "a")
	l := nw.members[1]
	before := slices.Clone(l.log.entries)
	l.Step(Message{Type: MsgApp, From: 2, To: 1, Term: l.term - 1, Index: 0, LogTerm: 0,
		Entries: []Entry{{Index: 1, Term: l.term - 1}}})
	if l.role != Leader || len(l.log.entries) != len(before) || l.log.entries[0].Term != before[0].Term {
		t.Error("a stale append changed the leader's log")
	}
}

// Figure 3, Log Matching: "if two logs contain an entry with the same index
// and term, then the logs are identical in all entries up through the given
// index." Checked pairwise after a run with lost messages and changing
// leaders.
func TestLogMatching(t *testing.T) {
	nw := newNetwork(t, 5)
	n := 0
	nw.drop = func(m Message) bool { n++; return n%7 == 0 }
	for round := range 30 {
		lead := uint64(round%5 + 1)
		nw.campaign(lead)
		for i := range 3 {
			if nw.members[lead].role == Leader {
				nw.members[lead].Propose([]byte(fmt.Sprint(round, i)))
				nw.settle()
			}
		}
	}
	for a := uint64(1); a <= 5; a++ {
		for b := a + 1; b <= 5; b++ {
			la, lb := &nw.members[a].log, &nw.members[b].log
			for i := min(la.lastIndex(), lb.lastIndex()); i > 0; i-- {
				if ta, _ := la.term(i); ta == func() uint64 { t, _ := lb.term(i); return t }() {
					for j := uint64(1); j <= i; j++ {
						ea, eb := la.entry(j), lb.entry(j)
						if ea.Term != eb.Term || !bytes.Equal(ea.Data, eb.Data) {
							t.Fatalf("members %d and %d agree at %d but differ at %d", a, b, i, j)
						}
					}
					break
				}
			}
		}
	}
}

// §5.5: "Raft RPCs are idempotent ... if a follower receives an
// AppendEntries request that includes log entries already present in its
// log, it ignores those entries in the new request."
func TestAppendIsIdempotent(t *testing.T) {
	m := newMember(t, 2, []uint64{1, 2}, []uint64{1})
	app := Message{Type: MsgApp, From: 1, To: 2, Term: 1, Index: 1, LogTerm: 1,
		Entries: []Entry{{Index: 2, Term: 1, Data: []byte("x")}}, Commit: 2}
	for range 3 {
		m.Step(app)
		msgs := takeMessages(m)
		if len(msgs) != 1 || msgs[0].Reject || msgs[0].Index != 2 {
			t.Fatalf("answers %+v, want an acknowledgement of index 2", msgs)
		}
	}
	if m.log.lastIndex() != 2 || m.log.committed != 2 {
		t.Errorf("last %d commit %d, want 2 and 2", m.log.lastIndex(), m.log.committed)
	}
}

// Probing: a follower whose log diverges is probed one append at a time,
// then replication streams once the match point is found. A lost append in
// StateReplicate is noticed through heartbeats and sent again.
func TestProgressStates(t *testing.T) {
	nw := newNetwork(t, 2)
	nw.campaign(1)
	l := nw.members[1]
	pr := l.progress[2]
	if pr.state != StateReplicate {
		t.Fatalf("after the election: %v, want replicate", pr.state)
	}
	nw.drop = func(m Message) bool { return m.Type == MsgApp } // appends are lost
	nw.propose(1, "lost")
	if pr.inflight.count != 1 || pr.match == l.log.lastIndex() {
		t.Fatalf("in flight %d, match %d", pr.inflight.count, pr.match)
	}
	nw.drop = nil
	// Heartbeat answers keep coming but no acknowledgement does: after two
	// rounds the leader sends again.
	nw.tick(1, 2*l.heartbeatTimeout)
	if pr.match != l.log.lastIndex() || pr.state != StateReplicate {
		t.Errorf("after a heartbeat: match %d of %d, %v", pr.match, l.log.lastIndex(), pr.state)
	}
	l.ReportUnreachable(2)
	if pr.state != StateProbe {
		t.Errorf("after ReportUnreachable: %v, want probe", pr.state)
	}
	nw.propose(1, "again")
	if pr.state != StateReplicate || pr.match != l.log.lastIndex() {
		t.Errorf("after probing: %v match %d", pr.state, pr.match)
	}
}
