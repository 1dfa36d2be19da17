package raft

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// This file is the test bench for the paper tests: members whose disk is
// perfect and instant, joined by a network that delivers everything unless
// told to drop, so that a test can drive a cluster message by message.

// testMember is a member together with what its caller did with its Readys.
type testMember struct {
	*Raft
	applied   []Entry     // committed entries, in order
	answered  []ReadState // answers to ReadIndex
	snapshots []Snapshot  // snapshots received from a leader
	decline   func(ConfChange) bool
}

// newMember makes a member with the given voters and, optionally, an existing
// log: terms[i] is the term of the entry at index i+1. The hard state's term
// is the last entry's term.
func newMember(t testing.TB, id uint64, voters []uint64, terms []uint64, opts ...func(*Config)) *testMember {
	t.Helper()
	c := Config{ID: id, ConfState: &ConfState{Voters: voters}, Seed: 1}
	for i, term := range terms {
		c.Entries = append(c.Entries, Entry{Index: uint64(i + 1), Term: term, Data: []byte{byte(i)}})
		c.HardState.Term = term
	}
	for _, o := range opts {
		o(&c)
	}
	r, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v): %v", c, err)
	}
	return &testMember{Raft: r}
}

func withPreVote(on bool) func(*Config)  { return func(c *Config) { c.DisablePreVote = !on } }
func withCheckQuorum(c *Config)          { c.CheckQuorum = true }
func withTerm(term uint64) func(*Config) { return func(c *Config) { c.HardState.Term = term } }
func withSeed(seed uint64) func(*Config) { return func(c *Config) { c.Seed = seed } }
func withCatchUp(n uint64) func(*Config) { return func(c *Config) { c.CatchUpEntries = n } }
func withInflight(n int) func(*Config)   { return func(c *Config) { c.MaxInflightMsgs = n } }
func withMaxSize(n uint64) func(*Config) { return func(c *Config) { c.MaxSizePerMsg = n } }
func withCommit(n uint64) func(*Config)  { return func(c *Config) { c.HardState.Commit = n } }
func withElection(n int) func(*Config)   { return func(c *Config) { c.ElectionTick = n } }

// network connects test members.
type network struct {
	t       testing.TB
	members map[uint64]*testMember
	// cut holds the links that drop everything: cut[[2]uint64{from, to}].
	cut map[[2]uint64]bool
	// drop, if set, drops the messages it returns true for.
	drop func(Message) bool
	// rewrite, if set, may change a message before it is delivered.
	rewrite func(*Message)
	// trace records every delivered message, for tests that look at traffic.
	trace []Message
}

// newNetwork makes a cluster of members with IDs 1..n and empty logs, with
// pre-vote off unless opts turn it on (the paper's §5 has no pre-vote).
func newNetwork(t testing.TB, n int, opts ...func(*Config)) *network {
	t.Helper()
	var ids []uint64
	for i := 1; i <= n; i++ {
		ids = append(ids, uint64(i))
	}
	nw := &network{t: t, members: map[uint64]*testMember{}, cut: map[[2]uint64]bool{}}
	for _, id := range ids {
		nw.members[id] = newMember(t, id, ids, nil, append([]func(*Config){withPreVote(false), withSeed(id)}, opts...)...)
	}
	return nw
}

// newBootstrapNetwork makes a brand-new cluster of members 1..n started
// with Config.Peers, as a server does: the log begins with the committed
// conf changes that add each member.
func newBootstrapNetwork(t testing.TB, n int, opts ...func(*Config)) *network {
	t.Helper()
	var ids []uint64
	for i := 1; i <= n; i++ {
		ids = append(ids, uint64(i))
	}
	nw := &network{t: t, members: map[uint64]*testMember{}, cut: map[[2]uint64]bool{}}
	for _, id := range ids {
		nw.add(newJoiner(t, id, append([]func(*Config){func(c *Config) { c.Peers = ids }}, opts...)...))
	}
	nw.settle()
	return nw
}

// newJoiner makes a member with an empty log and no configuration, as a
// server joining an existing cluster starts.
func newJoiner(t testing.TB, id uint64, opts ...func(*Config)) *testMember {
	t.Helper()
	c := Config{ID: id, Seed: id, DisablePreVote: true}
	for _, o := range opts {
		o(&c)
	}
	r, err := New(c)
	if err != nil {
		t.Fatalf("New(%+v): %v", c, err)
	}
	return &testMember{Raft: r}
}

// add puts a member on the network.
func (nw *network) add(m *testMember) { nw.members[m.id] = m }

// isolate cuts every link to and from id.
func (nw *network) isolate(id uint64) {
	for other := range nw.members {
		if other != id {
			nw.cut[[2]uint64{id, other}] = true
			nw.cut[[2]uint64{other, id}] = true
		}
	}
}

// heal restores every link.
func (nw *network) heal() { clear(nw.cut); nw.drop = nil }

// process carries out one member's pending Ready: persistence is instant,
// every conf change is applied (unless declined), and the messages are
// returned for delivery.
func (nw *network) process(m *testMember) []Message {
	if !m.HasReady() {
		return nil
	}
	rd := m.Ready()
	if rd.Snapshot != nil {
		m.snapshots = append(m.snapshots, *rd.Snapshot)
	}
	for _, e := range rd.CommittedEntries {
		if e.Type == EntryConfChange {
			var cc ConfChange
			if err := cc.Unmarshal(e.Data); err != nil {
				nw.t.Fatalf("member %d: conf change at %d: %v", m.id, e.Index, err)
			}
			if m.decline == nil || !m.decline(cc) {
				m.ApplyConfChange(cc)
			}
		}
		m.applied = append(m.applied, e)
	}
	m.answered = append(m.answered, rd.ReadStates...)
	m.Advance(rd)
	return rd.Messages
}

// deliver steps msgs into their recipients and then keeps processing Readys
// and delivering the resulting messages until the network is quiet.
func (nw *network) deliver(msgs ...Message) {
	nw.t.Helper()
	for rounds := 0; ; rounds++ {
		if rounds > 10000 {
			nw.t.Fatal("network does not settle")
		}
		busy := false
		for _, id := range nw.ids() {
			if m := nw.members[id]; m.HasReady() {
				busy = true
				msgs = append(msgs, nw.process(m)...)
			}
		}
		if !busy && len(msgs) == 0 {
			return
		}
		queue := msgs
		msgs = nil
		for _, m := range queue {
			to := nw.members[m.To]
			if to == nil || nw.cut[[2]uint64{m.From, m.To}] || (nw.drop != nil && nw.drop(m)) {
				continue
			}
			if nw.rewrite != nil {
				nw.rewrite(&m)
			}
			nw.trace = append(nw.trace, m)
			if err := to.Step(m); err != nil {
				nw.t.Fatalf("member %d stepping %+v: %v", m.To, m, err)
			}
		}
	}
}

// settle processes every member until nothing is left to do.
func (nw *network) settle() { nw.t.Helper(); nw.deliver() }

func (nw *network) ids() []uint64 {
	var ids []uint64
	for id := range nw.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// campaign makes member id start an election now and lets it play out.
func (nw *network) campaign(id uint64) {
	nw.t.Helper()
	nw.members[id].step(Message{Type: MsgHup, From: id})
	nw.settle()
}

// tick advances member id's clock by n ticks, settling after each.
func (nw *network) tick(id uint64, n int) {
	nw.t.Helper()
	for range n {
		nw.members[id].Tick()
		nw.settle()
	}
}

// tickAll advances every member's clock by n ticks, settling after each.
func (nw *network) tickAll(n int) {
	nw.t.Helper()
	for range n {
		for _, id := range nw.ids() {
			nw.members[id].Tick()
		}
		nw.settle()
	}
}

// propose makes member id propose data, which must be accepted.
func (nw *network) propose(id uint64, data string) {
	nw.t.Helper()
	if err := nw.members[id].Propose([]byte(data)); err != nil {
		nw.t.Fatalf("member %d: Propose(%q): %v", id, data, err)
	}
	nw.settle()
}

// leader returns the ID of the member that is leader in the highest term.
func (nw *network) leader() uint64 {
	var lead, term uint64
	for id, m := range nw.members {
		if m.role == Leader && m.term >= term {
			lead, term = id, m.term
		}
	}
	return lead
}

// logTerms returns the terms of a member's log entries from index 1 (or
// from the first entry held).
func logTerms(m *testMember) []uint64 {
	var terms []uint64
	for _, e := range m.log.entries {
		terms = append(terms, e.Term)
	}
	return terms
}

// appliedData returns the data of the non-empty normal entries a member applied.
func appliedData(m *testMember) []string {
	var out []string
	for _, e := range m.applied {
		if e.Type == EntryNormal && len(e.Data) > 0 {
			out = append(out, string(e.Data))
		}
	}
	return out
}

// takeMessages returns and clears the messages a member has queued.
func takeMessages(m *testMember) []Message {
	m.flush()
	msgs := m.msgs
	m.msgs = nil
	return msgs
}

// filterMessages keeps the messages of type t.
func filterMessages(msgs []Message, t MessageType) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Type == t {
			out = append(out, m)
		}
	}
	return out
}

// sameLogs reports an error unless every member of ids holds the same
// entries from index 1 to the end.
func sameLogs(nw *network, ids ...uint64) error {
	first := nw.members[ids[0]]
	for _, id := range ids[1:] {
		m := nw.members[id]
		if m.log.lastIndex() != first.log.lastIndex() {
			return fmt.Errorf("member %d last index %d, member %d last index %d",
				ids[0], first.log.lastIndex(), id, m.log.lastIndex())
		}
		for i := max(first.log.firstIndex(), m.log.firstIndex()); i <= m.log.lastIndex(); i++ {
			a, b := first.log.entry(i), m.log.entry(i)
			if a.Term != b.Term || a.Type != b.Type || !bytes.Equal(a.Data, b.Data) {
				return fmt.Errorf("entry %d differs: member %d has %+v, member %d has %+v", i, ids[0], *a, id, *b)
			}
		}
	}
	return nil
}
