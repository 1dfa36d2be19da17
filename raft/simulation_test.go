package raft

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestSimulation runs whole clusters through a hostile world and checks the
// safety properties of Raft after every step. See simulate for the world and
// checker for the properties.
//
//	go test ./raft -run TestSimulation -seeds=5000   # many seeds
//	go test ./raft -run TestSimulation -seed=1234 -v # replay one, with a trace
var (
	simSeeds = flag.Int("seeds", 60, "TestSimulation: number of seeds to run")
	simSeed  = flag.Int64("seed", -1, "TestSimulation: run only this seed (and print its trace on failure)")
	simFirst = flag.Int64("firstseed", 1, "TestSimulation: the first seed of the range")
)

func TestSimulation(t *testing.T) {
	if *simSeed >= 0 {
		res := simulate(uint64(*simSeed))
		if res.err != nil {
			t.Fatalf("seed %d: %v\n%s\nreplay: go test ./raft -run TestSimulation -seed=%d -v",
				*simSeed, res.err, res.trace, *simSeed)
		}
		t.Logf("seed %d: %s", *simSeed, res.summary)
		return
	}
	n := *simSeeds
	if testing.Short() {
		n = min(n, 10)
	}
	seeds := make(chan uint64)
	var mu sync.Mutex
	var failed []uint64
	var totals simTotals
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				res := simulate(seed)
				mu.Lock()
				totals.add(res)
				if res.err != nil {
					failed = append(failed, seed)
					t.Errorf("seed %d: %v\nreplay: go test ./raft -run TestSimulation -seed=%d -v", seed, res.err, seed)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		seeds <- uint64(*simFirst) + uint64(i)
	}
	close(seeds)
	wg.Wait()
	t.Logf("%d seeds from %d: %s", n, *simFirst, totals)
	if len(failed) > 0 {
		slices.Sort(failed)
		t.Logf("failed seeds: %v", failed)
	}
}

// simResult is the outcome of one seed.
type simResult struct {
	err     error
	trace   string
	summary string
	stats   simStats
}

type simStats struct {
	ticks, delivered, dropped, crashes, elections, committed, snapshotsSent,
	confChanges, reads, compactions int
}

type simTotals struct {
	seeds int
	simStats
}

func (t *simTotals) add(r simResult) {
	t.seeds++
	s := &t.simStats
	s.ticks += r.stats.ticks
	s.delivered += r.stats.delivered
	s.dropped += r.stats.dropped
	s.crashes += r.stats.crashes
	s.elections += r.stats.elections
	s.committed += r.stats.committed
	s.snapshotsSent += r.stats.snapshotsSent
	s.confChanges += r.stats.confChanges
	s.reads += r.stats.reads
	s.compactions += r.stats.compactions
}

func (s simStats) String() string {
	return fmt.Sprintf("%d ticks, %d messages delivered, %d dropped, %d crashes, %d leaders elected, "+
		"%d entries committed, %d snapshots sent, %d conf changes applied, %d reads answered, %d compactions",
		s.ticks, s.delivered, s.dropped, s.crashes, s.elections, s.committed, s.snapshotsSent,
		s.confChanges, s.reads, s.compactions)
}

func (t simTotals) String() string { return t.simStats.String() }

// The world's knobs, drawn per seed.
type simParams struct {
	size          int     // initial members
	chaosTicks    int     // ticks of faults before the final heal
	dropRate      float64 // chance a message is lost
	dupRate       float64 // chance a message is delivered twice
	maxDelay      int     // in rounds; a tick is simRounds rounds
	crashRate     float64 // per tick, chance one member crashes
	midReadyCrash float64 // per Ready, chance of a crash between sending and persisting
	partitionRate float64 // per tick, chance of a new partition
	healRate      float64 // per tick, chance partitions heal
	proposeRate   float64 // per tick, chance of a proposal (several may happen)
	confRate      float64 // per tick, chance of a membership change
	readRate      float64 // per tick, chance of a ReadIndex
	transferRate  float64 // per tick, chance of a leadership transfer request
	snapEvery     uint64  // applied entries between snapshots
	cfg           Config  // tuning shared by all members
}

const (
	simRounds      = 4  // message rounds per tick
	simMaxID       = 9  // member IDs are 1..simMaxID
	simHealTicks   = 60 // election timeouts allowed to elect after healing
	simCommitTicks = 60 // election timeouts allowed to commit after that
)

func drawParams(rng *rand.Rand, seed uint64) simParams {
	p := simParams{
		size:          3 + 2*int(seed%2),
		chaosTicks:    400 + rng.IntN(400),
		dropRate:      []float64{0, 0.01, 0.05, 0.2}[rng.IntN(4)],
		dupRate:       []float64{0, 0.02, 0.1}[rng.IntN(3)],
		maxDelay:      []int{1, 4, 12, 40}[rng.IntN(4)],
		crashRate:     []float64{0, 0.005, 0.02}[rng.IntN(3)],
		midReadyCrash: []float64{0, 0.002, 0.01}[rng.IntN(3)],
		partitionRate: []float64{0, 0.005, 0.02}[rng.IntN(3)],
		healRate:      []float64{0.01, 0.05}[rng.IntN(2)],
		proposeRate:   []float64{0.2, 1, 3}[rng.IntN(3)],
		confRate:      []float64{0, 0.01, 0.03}[rng.IntN(3)],
		readRate:      []float64{0, 0.1, 0.5}[rng.IntN(3)],
		transferRate:  []float64{0, 0.005, 0.02}[rng.IntN(3)],
		snapEvery:     []uint64{5, 20, 100}[rng.IntN(3)],
	}
	p.cfg = Config{
		ElectionTick:    10,
		HeartbeatTick:   1 + rng.IntN(3),
		MaxSizePerMsg:   []uint64{1, 200, 4096}[rng.IntN(3)],
		MaxInflightMsgs: []int{1, 4, 64}[rng.IntN(3)],
		CatchUpEntries:  []uint64{1, 10, 50}[rng.IntN(3)],
		DisablePreVote:  rng.IntN(4) == 0,
		CheckQuorum:     rng.IntN(2) == 0,
	}
	return p
}

// simDisk is what a member has made durable. Writes that need no fsync (a
// hard state whose commit index alone changed) sit in a buffer that a crash
// may or may not have flushed.
type simDisk struct {
	hs       HardState
	buffered *HardState // written without fsync
	snap     *Snapshot  // latest snapshot, with the state machine's bytes
	ents     []Entry    // entries after the snapshot
}

func (d *simDisk) empty() bool { return d.hs.IsEmpty() && d.snap == nil && len(d.ents) == 0 }

// termAt returns the term of the persisted entry at index i, or 0.
func (d *simDisk) termAt(i uint64) uint64 {
	if len(d.ents) == 0 || i < d.ents[0].Index || i > d.ents[len(d.ents)-1].Index {
		return 0
	}
	return d.ents[i-d.ents[0].Index].Term
}

// saveEntries appends ents, replacing whatever was at their indexes and after.
func (d *simDisk) saveEntries(ents []Entry) {
	if len(ents) == 0 {
		return
	}
	first := ents[0].Index
	i := len(d.ents)
	for i > 0 && d.ents[i-1].Index >= first {
		i--
	}
	d.ents = append(d.ents[:i:i], ents...)
}

// simSM is the replicated state machine: a hash chain over every applied
// entry, plus the membership it accepted. Two members with equal hashes at
// an index applied exactly the same entries up to it.
type simSM struct {
	index, term uint64
	hash        uint64
	voters      []uint64
	removed     []uint64
}

func (sm *simSM) marshal() []byte {
	b := binary.AppendUvarint(nil, sm.index)
	b = binary.AppendUvarint(b, sm.term)
	b = binary.AppendUvarint(b, sm.hash)
	for _, list := range [][]uint64{sm.voters, sm.removed} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, id := range list {
			b = binary.AppendUvarint(b, id)
		}
	}
	return b
}

func unmarshalSM(b []byte) (simSM, error) {
	var sm simSM
	var vals []uint64
	for len(b) > 0 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return sm, errors.New("bad state machine snapshot")
		}
		vals = append(vals, v)
		b = b[n:]
	}
	if len(vals) < 5 {
		return sm, errors.New("short state machine snapshot")
	}
	sm.index, sm.term, sm.hash = vals[0], vals[1], vals[2]
	nv := int(vals[3])
	sm.voters = slices.Clone(vals[4 : 4+nv])
	sm.removed = slices.Clone(vals[5+nv:])
	return sm, nil
}

func chainHash(prev uint64, e *Entry, extra byte) uint64 {
	h := fnv.New64a()
	var b [40]byte
	buf := binary.LittleEndian.AppendUint64(b[:0], prev)
	buf = binary.LittleEndian.AppendUint64(buf, e.Index)
	buf = binary.LittleEndian.AppendUint64(buf, e.Term)
	buf = append(buf, byte(e.Type), extra)
	h.Write(buf)
	h.Write(e.Data)
	return h.Sum64()
}

// simNode is one member: its raft (nil while crashed), disk and state machine.
type simNode struct {
	id          uint64
	r           *Raft
	disk        simDisk
	sm          simSM
	initial     bool   // a member of the first configuration
	incarnation int    // bumped by each crash, to ignore stale snapshot reports
	lastCommit  uint64 // commit index last seen by the checker
	role        Role
}

type simMsg struct {
	at   int // round when it is delivered
	from uint64
	to   uint64
	typ  MessageType
	data []byte // the encoded message
	// for MsgSnap: who to report to, and which incarnation sent it
	snapFrom   *simNode
	snapIncarn int
}

type simRead struct {
	node     uint64
	minIndex uint64 // the highest commit index anywhere when the read was asked
}

// sim is one seeded world.
type sim struct {
	seed   uint64
	peers  []uint64 // the first configuration
	rng    *rand.Rand
	p      simParams
	round  int
	tick   int
	nodes  map[uint64]*simNode
	queue  []simMsg
	cut    map[[2]uint64]bool
	faulty bool // faults enabled (false in the final heal phase)

	// the checker's records
	leaders       map[uint64]uint64    // term -> leader
	chain         map[[2]uint64]uint64 // (index, term) -> hash of the log prefix ending there
	committedTerm map[uint64]uint64    // index -> term of the committed entry
	maxCommitted  uint64
	appliedHash   map[uint64]uint64 // index -> state machine hash after applying it
	reads         map[string]simRead
	nextData      int
	nextRead      int
	stats         simStats

	trace []string // recent events, for failure reports
	err   error
}

func simulate(seed uint64) (res simResult) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	s := &sim{
		seed: seed, rng: rng, p: drawParams(rng, seed),
		nodes: map[uint64]*simNode{}, cut: map[[2]uint64]bool{}, faulty: true,
		leaders: map[uint64]uint64{}, chain: map[[2]uint64]uint64{{0, 0}: 0},
		committedTerm: map[uint64]uint64{}, appliedHash: map[uint64]uint64{},
		reads: map[string]simRead{},
	}
	defer func() {
		if x := recover(); x != nil {
			s.err = fmt.Errorf("panic: %v", x)
			buf := make([]byte, 1<<16)
			s.tracef("%s", buf[:runtime.Stack(buf, false)])
		}
		res = simResult{err: s.err, trace: strings.Join(s.trace, "\n"), stats: s.stats,
			summary: fmt.Sprintf("%+v: %s", s.p, s.stats)}
	}()
	var peers []uint64
	for id := uint64(1); id <= uint64(s.p.size); id++ {
		peers = append(peers, id)
	}
	s.peers = peers
	for _, id := range peers {
		n := &simNode{id: id, initial: true}
		s.nodes[id] = n
		s.start(n)
	}
	for s.tick = 0; s.tick < s.p.chaosTicks && s.err == nil; s.tick++ {
		s.chaos()
		s.runTick()
	}
	if s.err == nil {
		s.healAndCheckLiveness()
	}
	s.stats.ticks = s.tick
	return
}

func (s *sim) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("tick %d round %d: "+format, append([]any{s.tick, s.round}, args...)...)
	}
}

// tracef records an event; only the most recent ones are kept.
func (s *sim) tracef(format string, args ...any) {
	if *simSeed < 0 {
		return // tracing costs time; it is kept only when replaying one seed
	}
	s.trace = append(s.trace, fmt.Sprintf("t%d.%d ", s.tick, s.round%simRounds)+fmt.Sprintf(format, args...))
	if len(s.trace) > 3000 {
		s.trace = s.trace[1000:]
	}
}

func (s *sim) sortedIDs() []uint64 {
	var ids []uint64
	for id := range s.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// start boots a node from its disk: a new member of the first configuration
// when it has nothing on disk (as a server with no data directory does), a
// joiner when it was added later, and a restart otherwise.
func (s *sim) start(n *simNode) {
	c := s.p.cfg
	c.ID = n.id
	c.Seed = s.seed*31 + uint64(n.incarnation)
	n.sm = simSM{}
	if n.disk.empty() {
		if n.initial {
			c.Peers = s.peers
		}
	} else {
		c.HardState = n.disk.hs
		if n.disk.buffered != nil && s.rng.IntN(2) == 0 {
			c.HardState = *n.disk.buffered // the unsynced write happened to reach the disk
		}
		c.Entries = n.disk.ents
		if n.disk.snap != nil {
			md := n.disk.snap.Metadata
			c.Snapshot = &md
			sm, err := unmarshalSM(n.disk.snap.Data)
			if err != nil {
				s.fail("node %d: %v", n.id, err)
				return
			}
			n.sm = sm
		}
	}
	n.disk.buffered = nil
	r, err := New(c)
	if err != nil {
		s.fail("node %d cannot restart from its disk: %v", n.id, err)
		return
	}
	n.r = r
	n.role = Follower
	n.lastCommit = r.log.committed
	s.tracef("n%d started: hs=%+v snap=%d ents=%d", n.id, c.HardState, n.sm.index, len(c.Entries))
}

func (s *sim) crash(n *simNode, why string) {
	s.tracef("n%d crashed (%s)", n.id, why)
	n.r = nil
	n.incarnation++
	s.stats.crashes++
}

func (s *sim) live() []*simNode {
	var out []*simNode
	for _, id := range s.sortedIDs() {
		if n := s.nodes[id]; n.r != nil {
			out = append(out, n)
		}
	}
	return out
}

func (s *sim) chance(p float64) bool { return p > 0 && s.rng.Float64() < p }

func (s *sim) randomLive() *simNode {
	l := s.live()
	if len(l) == 0 {
		return nil
	}
	return l[s.rng.IntN(len(l))]
}

// chaos injects this tick's faults and client requests.
func (s *sim) chaos() {
	p := &s.p
	if s.chance(p.crashRate) {
		if n := s.randomLive(); n != nil {
			s.crash(n, "random")
		}
	}
	for _, id := range s.sortedIDs() {
		if n := s.nodes[id]; n.r == nil && s.chance(0.05) && s.err == nil {
			s.start(n)
		}
	}
	if s.chance(p.partitionRate) {
		s.partition()
	}
	if s.chance(p.healRate) && len(s.cut) > 0 {
		clear(s.cut)
		s.tracef("healed the network")
	}
	for k := p.proposeRate; k > 0; k-- {
		if k >= 1 || s.chance(k) {
			s.propose()
		}
	}
	if s.chance(p.confRate) {
		s.changeMembership()
	}
	if s.chance(p.readRate) {
		s.readIndex()
	}
	if s.chance(p.transferRate) {
		if n := s.randomLive(); n != nil {
			to := 1 + s.rng.Uint64N(simMaxID)
			err := n.r.TransferLeader(to)
			s.tracef("n%d asked to transfer leadership to %d: %v", n.id, to, err)
			s.afterStep(n)
		}
	}
}

// partition splits the nodes into two random sides.
func (s *sim) partition() {
	clear(s.cut)
	ids := s.sortedIDs()
	side := map[uint64]bool{}
	for _, id := range ids {
		side[id] = s.rng.IntN(2) == 0
	}
	oneWay := s.rng.IntN(4) == 0 // only messages from the first side to the second are lost
	for _, a := range ids {
		for _, b := range ids {
			if side[a] != side[b] && (!oneWay || side[a]) {
				s.cut[[2]uint64{a, b}] = true
			}
		}
	}
	s.tracef("partitioned (one way: %v): %v", oneWay, side)
}

func (s *sim) propose() {
	n := s.randomLive()
	if n == nil {
		return
	}
	s.nextData++
	data := fmt.Sprintf("v%d", s.nextData)
	err := n.r.Propose([]byte(data))
	if err != nil && !errors.Is(err, ErrProposalDropped) {
		s.fail("node %d: Propose: %v", n.id, err)
	}
	s.afterStep(n)
}

// changeMembership proposes adding or removing a member. The state machine
// declines the invalid ones (a removed ID, a duplicate, a size out of
// [2, 5]), some of which are proposed on purpose.
func (s *sim) changeMembership() {
	n := s.randomLive()
	if n == nil {
		return
	}
	cc := ConfChange{ID: uint64(s.nextData), NodeID: 1 + s.rng.Uint64N(simMaxID)}
	if s.rng.IntN(2) == 0 {
		cc.Type = ConfChangeRemoveNode
	} else if _, exists := s.nodes[cc.NodeID]; !exists {
		s.nodes[cc.NodeID] = &simNode{id: cc.NodeID}
		s.start(s.nodes[cc.NodeID]) // a joiner: empty disk, no peers
	}
	err := n.r.ProposeConfChange(cc)
	s.tracef("n%d proposed %v %d: %v", n.id, cc.Type, cc.NodeID, err)
	if err != nil && !errors.Is(err, ErrProposalDropped) {
		s.fail("node %d: ProposeConfChange: %v", n.id, err)
	}
	s.afterStep(n)
}

func (s *sim) readIndex() {
	n := s.randomLive()
	if n == nil {
		return
	}
	s.nextRead++
	ctx := fmt.Sprintf("r%d", s.nextRead)
	s.reads[ctx] = simRead{node: n.id, minIndex: s.maxCommitted}
	err := n.r.ReadIndex([]byte(ctx))
	if err != nil && !errors.Is(err, ErrProposalDropped) {
		s.fail("node %d: ReadIndex: %v", n.id, err)
	}
	s.afterStep(n)
}

// runTick ticks every live node, then runs the tick's message rounds.
func (s *sim) runTick() {
	for _, n := range s.live() {
		n.r.Tick()
		s.afterStep(n)
	}
	for range simRounds {
		s.runRound()
		s.round++
	}
}

// runRound processes every node's Ready, then delivers the messages due.
func (s *sim) runRound() {
	for _, n := range s.live() {
		for n.r != nil && n.r.HasReady() && s.err == nil {
			s.processReady(n)
		}
	}
	var due, later []simMsg
	for _, m := range s.queue {
		if m.at <= s.round {
			due = append(due, m)
		} else {
			later = append(later, m)
		}
	}
	s.queue = later
	s.rng.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
	for _, m := range due {
		if s.err != nil {
			return
		}
		s.deliver(m)
	}
}

// send puts a message on the network.
func (s *sim) send(from *simNode, m Message) {
	sm := simMsg{from: m.From, to: m.To, typ: m.Type}
	if m.Type == MsgSnap {
		// The transport attaches the snapshot's bytes, which the caller
		// must still have.
		snap := from.disk.snap
		if snap == nil || snap.Metadata.Index != m.Snapshot.Metadata.Index || snap.Metadata.Term != m.Snapshot.Metadata.Term {
			s.fail("node %d sends snapshot %+v, but its disk holds %+v", from.id, m.Snapshot.Metadata, snap)
			return
		}
		m.Snapshot = &Snapshot{Metadata: m.Snapshot.Metadata, Data: snap.Data}
		sm.snapFrom, sm.snapIncarn = from, from.incarnation
		s.stats.snapshotsSent++
	}
	sm.data = m.Marshal()
	copies := 1
	if s.faulty && s.chance(s.p.dupRate) {
		copies = 2
	}
	for range copies {
		sm.at = s.round + 1
		if s.p.maxDelay > 1 {
			sm.at += s.rng.IntN(s.p.maxDelay)
		}
		s.queue = append(s.queue, sm)
	}
}

// deliver hands a message to its recipient, unless the network loses it.
func (s *sim) deliver(sm simMsg) {
	to := s.nodes[sm.to]
	lost := to == nil || to.r == nil || s.cut[[2]uint64{sm.from, sm.to}] ||
		(s.faulty && s.chance(s.p.dropRate)) ||
		slices.Contains(to.sm.removed, sm.from) // etcd refuses traffic from removed members
	if sm.snapFrom != nil && sm.snapFrom.r != nil && sm.snapFrom.incarnation == sm.snapIncarn {
		sm.snapFrom.r.ReportSnapshot(sm.to, !lost)
		s.afterStep(sm.snapFrom)
	}
	if lost {
		s.stats.dropped++
		if from := s.nodes[sm.from]; from != nil && from.r != nil && s.cut[[2]uint64{sm.from, sm.to}] && s.chance(0.1) {
			from.r.ReportUnreachable(sm.to) // the transport noticed the broken link
			s.afterStep(from)
		}
		return
	}
	var m Message
	if err := m.Unmarshal(sm.data); err != nil {
		s.fail("cannot decode a message from %d: %v", sm.from, err)
		return
	}
	s.stats.delivered++
	s.tracef("deliver %s", describe(m))
	if err := to.r.Step(m); err != nil {
		s.fail("node %d refused %s: %v", to.id, describe(m), err)
		return
	}
	s.afterStep(to)
}

func describe(m Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %d->%d t%d", m.Type, m.From, m.To, m.Term)
	switch m.Type {
	case MsgApp:
		fmt.Fprintf(&b, " prev=%d/%d n=%d commit=%d", m.Index, m.LogTerm, len(m.Entries), m.Commit)
	case MsgAppResp:
		fmt.Fprintf(&b, " index=%d reject=%v hint=%d/%d", m.Index, m.Reject, m.RejectHint, m.LogTerm)
	case MsgVote, MsgPreVote:
		fmt.Fprintf(&b, " last=%d/%d", m.Index, m.LogTerm)
	case MsgVoteResp, MsgPreVoteResp:
		fmt.Fprintf(&b, " reject=%v", m.Reject)
	case MsgSnap:
		fmt.Fprintf(&b, " snap=%d/%d %v", m.Snapshot.Metadata.Index, m.Snapshot.Metadata.Term, m.Snapshot.Metadata.ConfState.Voters)
	case MsgHeartbeat:
		fmt.Fprintf(&b, " commit=%d", m.Commit)
	}
	return b.String()
}

// processReady carries out one Ready the way a careful server does,
// crashing in the middle now and then.
func (s *sim) processReady(n *simNode) {
	rd := n.r.Ready()
	s.checkReady(n, &rd)
	// Messages that do not depend on this Ready's durability go out at once.
	for _, m := range rd.Messages {
		if !NeedsPersist(m) {
			s.send(n, m)
		}
	}
	if s.faulty && s.chance(s.p.midReadyCrash) {
		s.crash(n, "before persisting a Ready")
		return
	}
	d := &n.disk
	if hs := rd.HardState; hs.Term == d.hs.Term && d.hs.Vote != None && hs.Vote != d.hs.Vote {
		s.fail("node %d changes its vote in term %d from %d to %d", n.id, hs.Term, d.hs.Vote, hs.Vote)
		return
	}
	if hs := rd.HardState; !hs.IsEmpty() && hs.Term < d.hs.Term {
		s.fail("node %d's term goes back from %d to %d", n.id, d.hs.Term, hs.Term)
		return
	}
	if rd.Snapshot != nil {
		// A received snapshot replaces the whole log, including entries
		// past its index: they may conflict with the leader's.
		snap := *rd.Snapshot
		d.snap = &snap
		d.ents = nil
	}
	d.saveEntries(rd.Entries)
	if !rd.HardState.IsEmpty() {
		if rd.MustSync {
			d.hs = rd.HardState
			d.buffered = nil
		} else {
			hs := rd.HardState
			d.buffered = &hs
		}
	} else if rd.MustSync && d.buffered != nil {
		d.hs, d.buffered = *d.buffered, nil // an fsync flushes earlier writes too
	}
	for _, m := range rd.Messages {
		if NeedsPersist(m) {
			s.send(n, m)
		}
	}
	if rd.Snapshot != nil {
		sm, err := unmarshalSM(rd.Snapshot.Data)
		if err != nil {
			s.fail("node %d received a bad snapshot: %v", n.id, err)
			return
		}
		if sm.index != rd.Snapshot.Metadata.Index {
			s.fail("node %d: snapshot metadata index %d, state machine at %d", n.id, rd.Snapshot.Metadata.Index, sm.index)
		}
		if !slices.Equal(sm.voters, rd.Snapshot.Metadata.ConfState.Voters) {
			s.fail("node %d: snapshot ConfState %v, state machine voters %v", n.id, rd.Snapshot.Metadata.ConfState.Voters, sm.voters)
		}
		n.sm = sm
		s.checkApplied(n)
	}
	for i := range rd.CommittedEntries {
		s.apply(n, &rd.CommittedEntries[i])
	}
	for _, rs := range rd.ReadStates {
		s.checkRead(n, rs)
	}
	n.r.Advance(rd)
	s.afterStep(n)
	s.maybeSnapshot(n)
}

// apply applies one committed entry to the node's state machine.
func (s *sim) apply(n *simNode, e *Entry) {
	if e.Index != n.sm.index+1 {
		s.fail("node %d applies entry %d after %d", n.id, e.Index, n.sm.index)
		return
	}
	var accepted byte
	if e.Type == EntryConfChange {
		var cc ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			s.fail("node %d: conf change %d: %v", n.id, e.Index, err)
			return
		}
		sm := &n.sm
		ok := false
		switch cc.Type {
		case ConfChangeAddNode:
			ok = !slices.Contains(sm.voters, cc.NodeID) && !slices.Contains(sm.removed, cc.NodeID) && len(sm.voters) < 5
		case ConfChangeRemoveNode:
			ok = slices.Contains(sm.voters, cc.NodeID) && len(sm.voters) > 2
		}
		if ok {
			accepted = 1
			cs := n.r.ApplyConfChange(cc)
			if cc.Type == ConfChangeAddNode {
				sm.voters = append(sm.voters, cc.NodeID)
				slices.Sort(sm.voters)
			} else {
				sm.voters = slices.DeleteFunc(sm.voters, func(id uint64) bool { return id == cc.NodeID })
				sm.removed = append(sm.removed, cc.NodeID)
			}
			// (While applying the bootstrap entries, a first-configuration
			// member's raft already has the whole first configuration.)
			if e.Index > uint64(len(s.peers)) && !slices.Equal(cs.Voters, sm.voters) {
				s.fail("node %d: raft's configuration %v, the state machine's %v", n.id, cs.Voters, sm.voters)
			}
			s.stats.confChanges++
			s.tracef("n%d applied %v %d at %d: voters %v", n.id, cc.Type, cc.NodeID, e.Index, cs.Voters)
		}
	}
	n.sm.hash = chainHash(n.sm.hash, e, accepted)
	n.sm.index, n.sm.term = e.Index, e.Term
	s.checkApplied(n)
}

// maybeSnapshot takes a snapshot every snapEvery applied entries.
func (s *sim) maybeSnapshot(n *simNode) {
	if n.r == nil {
		return
	}
	var last uint64
	if n.disk.snap != nil {
		last = n.disk.snap.Metadata.Index
	}
	if n.sm.index < last+s.p.snapEvery || n.sm.index != n.r.log.applied {
		return
	}
	meta := SnapshotMetadata{Index: n.sm.index, Term: n.sm.term, ConfState: ConfState{Voters: slices.Clone(n.sm.voters)}}
	n.disk.snap = &Snapshot{Metadata: meta, Data: n.sm.marshal()}
	var kept []Entry
	for _, e := range n.disk.ents {
		if e.Index > meta.Index {
			kept = append(kept, e)
		}
	}
	n.disk.ents = kept
	if err := n.r.Compact(meta); err != nil {
		s.fail("node %d: Compact(%+v): %v", n.id, meta, err)
	}
	s.stats.compactions++
}

// afterStep runs the checks that need the node's state after any input.
func (s *sim) afterStep(n *simNode) {
	if n.r == nil || s.err != nil {
		return
	}
	r := n.r
	if r.role != n.role {
		if r.role == Leader {
			s.stats.elections++
			s.checkNewLeader(n)
		}
		if (r.role == Candidate || r.role == PreCandidate) && !r.isVoter(r.id) {
			s.fail("node %d campaigns but is not in its configuration %v", n.id, r.voters)
		}
		s.tracef("n%d became %v at term %d (last %d/%d, commit %d, voters %v)", n.id, r.role, r.term,
			r.log.lastIndex(), r.log.lastTerm(), r.log.committed, r.voters)
		n.role = r.role
	}
	if r.role == Leader {
		pending := 0
		for i := max(r.log.applied+1, r.log.firstIndex()); i <= r.log.lastIndex(); i++ {
			if r.log.entry(i).Type == EntryConfChange {
				pending++
			}
		}
		if pending > 1 {
			s.fail("leader %d holds %d conf changes not yet applied", n.id, pending)
		}
		if lead, ok := s.leaders[r.term]; ok && lead != n.id {
			s.fail("two leaders in term %d: %d and %d", r.term, lead, n.id)
		}
		s.leaders[r.term] = n.id
	}
	if c := r.log.committed; c > n.lastCommit {
		for i := max(n.lastCommit+1, r.log.firstIndex()); i <= c; i++ {
			t, _ := r.log.term(i)
			if want, ok := s.committedTerm[i]; ok && want != t {
				s.fail("node %d commits entry %d of term %d, but an entry of term %d committed there", n.id, i, t, want)
				return
			}
			s.committedTerm[i] = t
		}
		if c > s.maxCommitted {
			s.stats.committed += int(c - s.maxCommitted)
			s.maxCommitted = c
		}
		n.lastCommit = c
	}
}

// checkNewLeader checks Leader Completeness (§5.4): a new leader holds every
// committed entry.
func (s *sim) checkNewLeader(n *simNode) {
	l := &n.r.log
	c := s.maxCommitted
	if c <= l.prevIndex {
		return
	}
	if t, ok := l.term(c); !ok || t != s.committedTerm[c] {
		s.fail("node %d became leader of term %d without committed entry %d (term %d); its log ends at %d/%d",
			n.id, n.r.term, c, s.committedTerm[c], l.lastIndex(), l.lastTerm())
	}
}

// checkReady checks Log Matching on every entry about to be persisted: an
// (index, term) pair always stands for the same log prefix, and a committed
// entry is never replaced.
func (s *sim) checkReady(n *simNode, rd *Ready) {
	for i := range rd.Entries {
		e := &rd.Entries[i]
		var prevTerm uint64
		if i > 0 {
			prevTerm = rd.Entries[i-1].Term
		} else {
			var ok bool
			if prevTerm, ok = n.r.log.term(e.Index - 1); !ok {
				s.fail("node %d persists entry %d without knowing the term before it", n.id, e.Index)
				return
			}
		}
		parent, ok := s.chain[[2]uint64{e.Index - 1, prevTerm}]
		if !ok {
			s.fail("node %d persists entry %d/%d after an entry %d/%d never seen", n.id, e.Index, e.Term, e.Index-1, prevTerm)
			return
		}
		h := chainHash(parent, e, 0)
		key := [2]uint64{e.Index, e.Term}
		if old, ok := s.chain[key]; ok && old != h {
			s.fail("log matching violated: node %d's entry %d/%d differs from another log's", n.id, e.Index, e.Term)
			return
		}
		s.chain[key] = h
		// A stale leader may append to its own log at indexes committed
		// elsewhere; what must never happen is that a member holding the
		// committed entry replaces it.
		if t, ok := s.committedTerm[e.Index]; ok && t != e.Term && n.disk.termAt(e.Index) == t {
			s.fail("node %d overwrites committed entry %d (term %d) with term %d", n.id, e.Index, t, e.Term)
			return
		}
	}
}

// checkApplied checks State Machine Safety: every member that applied an
// index holds the same state there.
func (s *sim) checkApplied(n *simNode) {
	if h, ok := s.appliedHash[n.sm.index]; ok && h != n.sm.hash {
		s.fail("node %d applied different entries up to %d than another member", n.id, n.sm.index)
		return
	}
	s.appliedHash[n.sm.index] = n.sm.hash
}

// checkRead checks that a read index covers every write committed before
// the read was asked.
func (s *sim) checkRead(n *simNode, rs ReadState) {
	rq, ok := s.reads[string(rs.RequestCtx)]
	if !ok || rq.node != n.id {
		s.fail("node %d got an answer to a read it did not ask: %q", n.id, rs.RequestCtx)
		return
	}
	if rs.Index < rq.minIndex {
		s.fail("node %d: read %q answered with index %d, but %d had committed before it was asked",
			n.id, rs.RequestCtx, rs.Index, rq.minIndex)
	}
	s.stats.reads++ // (a duplicated message can answer a read twice)
}

// healAndCheckLiveness ends the faults, then requires that a leader is
// elected and that a new proposal commits on every voter in bounded time.
func (s *sim) healAndCheckLiveness() {
	s.faulty = false
	s.p.maxDelay = 1
	clear(s.cut)
	for _, id := range s.sortedIDs() {
		if n := s.nodes[id]; n.r == nil {
			s.start(n)
		}
	}
	s.tracef("healed everything")
	et := s.p.cfg.ElectionTick
	var lead *simNode
	deadline := s.tick + simHealTicks*et
	for ; s.tick < deadline && s.err == nil; s.tick++ {
		s.runTick()
		if lead = s.stableLeader(); lead != nil {
			break
		}
	}
	if s.err != nil {
		return
	}
	if lead == nil {
		s.fail("no leader %d ticks after healing:\n%s", simHealTicks*et, s.statuses())
		return
	}
	// The leader may hold a backlog of entries appended while it could not
	// reach a quorum; draining it takes at most a tick per entry (a round
	// trip is under a tick now, and carries at least one entry).
	backlog := int(lead.r.log.lastIndex() - lead.r.log.committed)
	data := []byte(fmt.Sprintf("final-%d", s.seed))
	deadline = s.tick + simCommitTicks*et + backlog
	var index uint64 // where the proposal landed in the leader's log
	for ; s.tick < deadline && s.err == nil; s.tick++ {
		lead = s.stableLeader()
		if lead != nil && index == 0 {
			if err := lead.r.Propose(data); err == nil {
				index = lead.r.log.lastIndex()
			}
		}
		s.runTick()
		if index > 0 && s.allVotersApplied(&index, data) {
			return
		}
	}
	if s.err == nil {
		s.fail("a proposal made after healing did not commit on every voter within %d ticks:\n%s",
			simCommitTicks*et, s.statuses())
	}
}

// statuses describes every live node, for failure reports.
func (s *sim) statuses() string {
	var status []string
	for _, n := range s.live() {
		status = append(status, fmt.Sprintf("%+v", n.r.Status()))
	}
	return strings.Join(status, "\n")
}

// stableLeader returns the leader that every live voter follows, if any.
func (s *sim) stableLeader() *simNode {
	var lead *simNode
	for _, n := range s.live() {
		if n.r.role == Leader {
			lead = n
		}
	}
	if lead == nil {
		return nil
	}
	for _, id := range lead.r.voters {
		n := s.nodes[id]
		if n.r == nil || n.r.lead != lead.id || n.r.term != lead.r.term {
			return nil
		}
	}
	return lead
}

// allVotersApplied reports whether the entry at index is committed with
// data and every voter of the leader's configuration applied it.
func (s *sim) allVotersApplied(indexp *uint64, data []byte) bool {
	index := *indexp
	lead := s.stableLeader()
	if lead == nil {
		return false
	}
	if l := &lead.r.log; index > l.lastIndex() || (index > l.prevIndex && string(l.entry(index).Data) != string(data)) {
		// The proposal was lost with the leader that took it (never
		// committed, then replaced): legitimate, propose again.
		*indexp = 0
		return false
	}
	if lead.sm.index < index {
		return false
	}
	for _, id := range lead.r.voters {
		if s.nodes[id].sm.index < index {
			return false
		}
	}
	return true
}
