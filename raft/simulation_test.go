package raft

import (
	"errors"
	"flag"
	"fmt"
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
	simSeeds = flag.Int("seeds", 100, "TestSimulation: number of seeds to run")
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
	slowDisk      float64 // per round, chance the disk leaves taken Readys for later
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
		slowDisk:      []float64{0, 0, 0.3, 0.7}[rng.IntN(4)],
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
			s.takeReady(n)
		}
		for n.r != nil && len(n.pending) > 0 && s.err == nil && !(s.faulty && s.chance(s.p.slowDisk)) {
			s.finishReady(n)
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
