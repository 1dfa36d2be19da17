package e2e

// TestFaults is the fault-injection suite: it runs real clusters of etcd
// processes on loopback, injects faults on a seeded schedule while clients
// read, write, compare-and-swap and watch, and checks afterwards that
// nothing the cluster acknowledged was lost and nothing it answered was
// stale.
//
// # The cluster
//
// Each member listens on its own peer port but advertises the URL of its
// proxy in a faultproxy.Network (--initial-advertise-peer-urls and
// --initial-cluster name the proxy; --listen-peer-urls the real port), so
// every raft message, stream and snapshot between members crosses the
// proxies, where links are dropped, blackholed or delayed one direction at
// a time. Members run with --snapshot-count 200 (a snapshot every second
// or two), --heartbeat-interval 50 and --election-timeout 500 (elections
// settle within a second or two, so a short run sees many faults). A
// leader keeps 5,000 entries behind its snapshot for lagging followers
// (raft.DefaultCatchUpEntries), so the membership run first writes 5,500
// keys: a member added back with an empty data directory can then only
// catch up from a snapshot, sent over the proxies. A slot keeps its name, ports and proxy URL
// for the whole run, across kills, restarts and re-adds.
//
// # The faults
//
// One fault at a time, each held for a random time (1-4 s), then healed,
// then a random quiet gap (0.5-2 s):
//
//	kill, kill-leader       SIGKILL; restart on the same data directory at heal
//	pause, pause-leader     SIGSTOP; SIGCONT at heal
//	partition, blackhole    a random minority cut off (links dropped, or blackholed: silent)
//	isolate-leader          the leader cut off (dropped or blackholed)
//	bridge                  two halves that do not see each other, one member seeing both
//	one-way                 a member's incoming (or outgoing) links dropped
//	delay                   every link delayed by 20-200 ms
//	membership              DELETE /v2/members/<id> through another member (the removed
//	                        process exits by itself, or is killed after 10 s); at heal, POST
//	                        /v2/members with the same proxy URL and start it in a fresh data
//	                        directory with --initial-cluster-state existing
//	storage                 SIGKILL while clients write, then damage the last WAL segment
//	                        past the last offset the member reported synced (below), restart
//	power-cut               the same to every member at once
//
// The schedule (kinds, targets, groups, durations, gaps, where WALs are
// cut) is drawn from a math/rand/v2 PCG seeded with the seed and the run's
// number, and nothing else: the same seed replays the same schedule. Which
// member is the leader, and the timing of the cluster, are not replayed.
// The test prints the seed first and each fault as it is injected.
//
// # Storage faults
//
// Members of a storage run are started with V2ETCD_WAL_SYNC_LOG=<file>: the
// server appends "<segment> <offset>" to the file after each fsync of its
// WAL (wal.Options.OnSync), before the write that was synced returns, so
// before anything that depends on it is sent or answered. The fault first
// tries to catch a write in flight: it stops the member (every member, for
// a power cut) with SIGSTOP and looks whether its last segment holds bytes
// past the last offset reported synced; if not, it lets it run for a
// random moment (up to 3 ms) and tries again, up to 300 times. Then
// SIGKILL. Everything past that offset is at most one write nobody was
// told about, and the fault does to it one of what a power cut can leave
// (drawn from the schedule): truncate the file inside those bytes, or
// anywhere up to its preallocated size; or revert 512-byte sectors the
// write touched to what they held before it (zeros past the synced
// offset, the bytes before it unchanged), every sector from a random
// point on, or a random half of them (a disk writes sectors whole, in any
// order). The member must start again (repairing the torn tail) and
// nothing acknowledged may be missing. The summary counts the storage
// faults that caught a write in flight and the torn tails the members
// repaired.
//
// # The workload
//
// Six clients send requests, each to a random member, with a 2 s timeout:
// GET ?quorum=true (40%), PUT (20%), PUT prevValue (compare-and-swap, 20%,
// comparing with the value the client last saw), PUT prevExist=false,
// PUT prevExist=true, DELETE and DELETE ?prevValue (5% each), on four keys.
// Every written value is unique ("c<client>-<seq>"). Every four seconds the
// clients move to four fresh keys in a fresh directory (a generation), so
// each key's history stays a few hundred operations long. Each request is
// recorded with lin.Recorder: Begin before it is sent; End with the answer
// when it is one the register model has (200/201, or 404/412 with error
// 100, 101 or 105); Discard when the connection was refused (the request
// surely never left); otherwise it stays pending, its outcome unknown: a
// timeout, a broken connection, a 5xx (etcd's "request timed out" may
// still commit), any other answer.
//
// Each generation has three watchers on different members, following its
// directory with GET ?wait=true&recursive=true&waitIndex=N from the index
// the generation started at, then from each event's index + 1. A watcher
// whose request fails (its member killed, paused, removed, restarting)
// asks again from the same index; one answered 401 (the index left the
// member's 1000-event history) is counted and starts a new segment from
// the index the error names. When a generation is retired, a write of
// <dir>/end marks its end, and its watchers stop once they have seen it.
//
// # The checks, after each run
//
// Everything is healed (links pass, paused members continue, killed ones
// restart, removed ones are back), the clients run until a write sent
// after the last heal is acknowledged, then stop; every watcher must see
// its generation to its end marker; then every member must hold the same
// store (etcd_store_index and etcd_store_hash of /debug/vars, equal on
// every member) and list the same members. Then:
//
//   - a final quorum read of every key is added to the history (sent after
//     every other operation returned or was given up), and lin.Check must
//     find the whole history linearizable (an Inconclusive key fails too).
//     On failure the test prints the witness the checker renders.
//   - every acknowledged write is present. Linearizability with the final
//     reads already implies it: an acknowledged write W must be linearized
//     before the final read, so the final read shows W or the effect of an
//     operation linearized after W, and such an operation must have been
//     able to take effect after W was sent (it returned after W's call, or
//     its outcome is unknown). The test also checks the simplest case of
//     that directly, with its own message: when no other write on the key
//     (acknowledged or of unknown outcome; a failed CAS or create changes
//     nothing) returned at or after W's call, W is the key's last change and the
//     final read must show exactly W's value (or absence, for a delete).
//   - every watcher of a generation saw the same change at each index;
//     each stretch of a watcher's events between restarts is in increasing
//     index order with no repeats, and holds every change seen by any
//     watcher and every change a client got acknowledged (by the
//     modifiedIndex of its answer) between its first index and its last
//     event, with the acknowledged key, action and value.
//   - no member process exited by itself (other than a removed member)
//     and no member log shows a panic or a data race.
//   - the cluster took a write again after the last fault was healed: the
//     test waits at most 30 s for a write sent after the heal to be
//     acknowledged and reports the time. The bound is generous on purpose
//     (the machine is shared; the test does not assert timings); the
//     figures go in the summary, with the same measure after every heal.
//
// # Running it
//
// go test ./e2e -run TestFaults runs three short runs (about 25-30 s of
// faults each: a 3-member cluster with kills, pauses and partitions; a
// 5-member cluster with membership changes; a 3-member cluster with
// storage faults and power cuts), under 3 minutes in all. -short runs
// them for a third of the time. The long run:
//
//	go test ./e2e -run TestFaults -duration=30m -seed=N -timeout=0
//
// cycles through the three kinds of run, each a sixth of -duration long
// (at least 30 s, at most 3 minutes), for 30 minutes
// (go test's default -timeout of 10 minutes would end it; the test says so
// before it starts). -seed=0 (the default) picks a random seed and prints
// it. A failing run keeps its directory (data directories, the output of
// every member process, the WAL sync logs) and prints its path.
//
// Each run ends with a summary line: seed, time, operations checked (ok,
// failed, unknown; refused ones are left out), keys, watch events checked,
// faults injected by kind, and the time from each heal to the first write
// acknowledged after it; TestFaults ends with the totals.

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"v2etcd/e2e/lin"
)

var (
	faultsDuration = flag.Duration("duration", 0, "TestFaults: run faults for this long in all, in runs of up to 3 minutes (0: the short run)")
	faultsSeed     = flag.Uint64("seed", 0, "TestFaults: the seed of the fault schedules (0: a random one, printed)")
)

// faultRun is one kind of run: a cluster size and the faults it draws.
type faultRun struct {
	name    string
	members int
	length  time.Duration // of the fault schedule
	storage bool          // members report their WAL syncs
	preload int           // keys written before the run, to push the log past the catch-up tail
	weights map[faultKind]int
}

// faultRuns are the kinds of run, in the order the test cycles through them.
func faultRuns() []faultRun {
	return []faultRun{
		{name: "kill-pause-partition", members: 3, length: 30 * time.Second, weights: map[faultKind]int{
			fKill: 2, fKillLeader: 2, fPause: 1, fPauseLeader: 1, fPartition: 2, fBlackhole: 1,
			fIsolateLeader: 2, fBridge: 1, fOneWay: 1, fDelay: 1,
		}},
		{name: "membership", members: 5, length: 30 * time.Second, preload: 5500, weights: map[faultKind]int{
			fMembership: 4, fKill: 1, fKillLeader: 1, fPause: 1, fPartition: 1, fIsolateLeader: 1, fBridge: 1,
		}},
		{name: "storage", members: 3, length: 25 * time.Second, storage: true, weights: map[faultKind]int{
			fStorage: 4, fPowerCut: 2, fKillLeader: 1,
		}},
	}
}

// TestFaults runs the fault-injection suite described at the top of this
// file.
func TestFaults(t *testing.T) {
	seed := *faultsSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	replay := fmt.Sprintf("-seed=%d", seed)
	if *faultsDuration > 0 {
		replay += fmt.Sprintf(" -duration=%v -timeout=0", *faultsDuration)
	}
	t.Logf("TestFaults: seed %d (replay: go test ./e2e -run TestFaults %s)", seed, replay)
	if d, ok := t.Deadline(); ok && *faultsDuration > 0 && time.Until(d) < *faultsDuration+3*time.Minute {
		t.Fatalf("-duration=%v needs a -timeout of at least %v (go test's default is 10m): add -timeout=0", *faultsDuration, *faultsDuration+3*time.Minute)
	}
	start := time.Now()
	// next returns run i, or false when there is none left: the three
	// kinds of run once (shortened by -short), or with -duration as many
	// runs as fit, cycling through them (bounded, for a -run filter that
	// skips them all).
	next := func(i int) (faultRun, bool) {
		runs := faultRuns()
		if *faultsDuration == 0 {
			if i == len(runs) {
				return faultRun{}, false
			}
			r := runs[i]
			if testing.Short() {
				r.length /= 3
			}
			return r, true
		}
		left := *faultsDuration - time.Since(start)
		if left <= 0 || i == 1000 {
			return faultRun{}, false
		}
		r := runs[i%len(runs)]
		r.length = min(left, max(30*time.Second, min(3*time.Minute, *faultsDuration/6)))
		return r, true
	}
	total := newFaultTotals()
	for i := 0; ; i++ {
		r, ok := next(i)
		if !ok {
			break
		}
		name := fmt.Sprintf("%d-%s", i, r.name)
		if !t.Run(name, func(t *testing.T) { total.add(runFaults(t, r, seed, i)) }) {
			t.Logf("replay this run: go test ./e2e -run 'TestFaults/^%s$' %s", name, replay)
			break
		}
	}
	t.Logf("TestFaults total: seed %d, %v: %s", seed, time.Since(start).Round(time.Second), total)
}

// runResult holds the figures of one run.
type runResult struct {
	ops, ok, failed, unknown, discarded, keys int
	watch                                     watchReport
	faults                                    map[string]int
	heals                                     []time.Duration // heal to first write, for each heal followed by one
	lastHeal                                  time.Duration   // after the final heal
	snapsSaved, snapsLoaded, tornRepairs      int
	checkTime                                 time.Duration // spent in lin.Check
}

// runFaults runs one run and checks it; it returns the figures.
func runFaults(t *testing.T, r faultRun, seed uint64, run int) runResult {
	began := time.Now()
	runSeed := seed ^ uint64(run+1)*0x9e3779b97f4a7c15
	dir, err := os.MkdirTemp("", "v2etcd-faults-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("run %d kept its data and member logs in %s (seed %d)", run, dir, seed)
			return
		}
		os.RemoveAll(dir)
	})
	flags := []string{"--snapshot-count", "200", "--heartbeat-interval", "50", "--election-timeout", "500"}
	c := newFCluster(t, dir, r.members, r.storage, flags)
	c.start()
	if r.preload > 0 {
		t0 := time.Now()
		if err := c.preload(r.preload); err != nil {
			t.Fatalf("preloading: %v", err)
		}
		t.Logf("preloaded %d keys in %v", r.preload, time.Since(t0).Round(time.Millisecond))
	}

	rec := lin.NewRecorder()
	w := newWorkload(c, rec, workloadConfig{clients: 6, keys: 4, watchers: 3, timeout: 2 * time.Second, rotate: 4 * time.Second})
	ctx, stopClients := context.WithCancel(context.Background())
	hard, stopWatchers := context.WithCancel(context.Background())
	defer func() { // also when the test fails half way
		stopClients()
		stopWatchers()
		w.stop()
		w.watching.Wait()
	}()
	if err := w.start(ctx, hard, runSeed); err != nil {
		t.Fatal(err)
	}

	sc := &schedule{
		rng: rand.New(rand.NewPCG(seed, uint64(run))), kinds: weigh(r.weights), members: r.members,
		holdMin: time.Second, holdMax: 4 * time.Second, gapMin: 500 * time.Millisecond, gapMax: 2 * time.Second,
	}
	in := &injector{c: c, rng: rand.New(rand.NewPCG(runSeed, 1)), logf: t.Logf, counts: map[string]int{}}
	t.Logf("run %d %s: %d members, %v of faults, seed %d, data in %s", run, r.name, r.members, r.length, seed, dir)
	heals := in.drive(t, sc, r.length, rec.Now)
	in.healAll()
	healed := rec.Now()

	// The cluster must take a write again.
	deadline := time.Now().Add(30 * time.Second)
	for w.lastWrite.Load() < healed {
		c.checkAlive(t)
		if time.Now().After(deadline) {
			t.Fatalf("no write sent after the last heal was acknowledged within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopClients()
	w.stop()

	fctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	err = w.finish(fctx)
	cancel()
	stopWatchers()
	w.watching.Wait()
	if err != nil {
		t.Fatal(err)
	}
	c.checkAlive(t)
	vars := c.settle(60 * time.Second)

	// The final read of every key, after everything else.
	final := map[string]lin.State{}
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, g := range w.allGens() {
		for _, k := range g.keys {
			id := rec.Begin(lin.Op{Client: 0, Key: k, Kind: lin.Get})
			code, v, err := c.quorumGet(rctx, k)
			if err != nil {
				t.Fatal(err)
			}
			rec.End(id, code, v)
			final[k] = lin.State{Exists: code == 0, Value: v}
		}
	}

	res := runResult{faults: in.counts, discarded: w.discarded}
	hist := rec.History()
	for _, op := range hist {
		switch {
		case op.Unknown():
			res.unknown++
		case op.Code == lin.CodeOK:
			res.ok++
		default:
			res.failed++
		}
	}
	res.ops, res.keys = len(hist), len(final)
	res.heals, res.lastHeal = healToWrite(hist, heals, healed)

	res.checkTime = checkHistory(t, hist, final)
	w.mu.Lock()
	res.watch = checkWatchers(w.gens, w.acked)
	for _, u := range w.unexpected {
		t.Errorf("an answer the model does not allow: %s", u)
	}
	w.mu.Unlock()
	for _, p := range res.watch.problems {
		t.Error(p)
	}
	res.snapsSaved, res.snapsLoaded, res.tornRepairs = c.scanLogs(t)
	st := c.net.Stats()
	if st.Accepted == st.Anonymous {
		t.Errorf("no peer connection crossed the proxies as a known link: %+v", st)
	}
	t.Logf("run %d %s: seed %d, %v: %s; store index %d hash %s on every member; proxies: %d connections, %d refused and %d cut by drops, %d KB",
		run, r.name, seed, time.Since(began).Round(time.Second), res, vars.StoreIndex, vars.StoreHash,
		st.Accepted, st.Refused, st.Cut, st.Bytes>>10)
	return res
}

// drive injects the schedule's faults one after the other, each after its
// gap and for its hold, until length has passed, and heals each. It
// returns the times (on clock) of the heals.
func (in *injector) drive(t *testing.T, sc *schedule, length time.Duration, clock func() int64) []int64 {
	t.Helper()
	var heals []int64
	for start := time.Now(); time.Since(start) < length; {
		f := sc.next()
		time.Sleep(f.gap)
		in.c.checkAlive(t)
		heal, err := in.inject(f)
		if err != nil {
			t.Fatalf("fault %s: %v", f, err)
		}
		time.Sleep(f.hold)
		in.c.checkAlive(t)
		if err := heal(); err != nil {
			t.Fatalf("healing %s: %v", f, err)
		}
		heals = append(heals, clock())
		t.Logf("heal #%d at %v", f.seq, time.Duration(clock()).Round(time.Millisecond))
	}
	return heals
}

// checkAlive fails the test when a member process the faults did not end
// has exited; one that could not bind its ports (another connection took
// one while it was down) is started again.
func (c *fcluster) checkAlive(t *testing.T) {
	t.Helper()
	for _, s := range c.slots {
		if (s.state == slotUp || s.state == slotPaused) && s.p.exited() {
			if strings.Contains(lastLines(s.p.output(), 5), "address already in use") {
				t.Logf("%s could not bind a port (taken while it was down): starting it again", s.name)
				s.starts++
				c.launch(s)
				continue
			}
			t.Fatalf("%s exited by itself (%v); its output is in %s, ending:\n%s", s.name, s.p.err, s.p.log, lastLines(s.p.output(), 30))
		}
	}
}

// scanLogs counts snapshot and repair lines in every member's output and
// fails the test on a panic or a data race.
func (c *fcluster) scanLogs(t *testing.T) (saved, loaded, torn int) {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(c.dir, "*", "out*.log"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Error(err)
			continue
		}
		out := string(b)
		saved += strings.Count(out, "saved snapshot")
		loaded += strings.Count(out, "loaded a snapshot from the leader")
		torn += strings.Count(out, "repaired torn tail")
		for _, bad := range []string{"panic:", "fatal error:", "WARNING: DATA RACE"} {
			if i := strings.Index(out, bad); i >= 0 {
				t.Errorf("%s shows %q:\n%s", l, bad, firstLines(out[i:], 40))
			}
		}
	}
	return saved, loaded, torn
}

// firstLines returns the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// String renders a run's figures for its summary line.
func (r runResult) String() string {
	return fmt.Sprintf("%d operations checked in %v (ok %d, failed %d, unknown %d; %d refused left out) on %d keys; "+
		"%d watch events checked (%d segments, %d restarts after 401, %d retried requests); "+
		"faults: %s; heal to first write: %s; snapshots: %d saved, %d sent to lagging members; %d torn WAL tails repaired",
		r.ops, r.checkTime.Round(time.Millisecond), r.ok, r.failed, r.unknown, r.discarded, r.keys,
		r.watch.events, r.watch.segments, r.watch.cleared, r.watch.errs,
		countsString(r.faults), healString(r.heals, r.lastHeal), r.snapsSaved, r.snapsLoaded, r.tornRepairs)
}

func countsString(m map[string]int) string {
	var parts []string
	for k := range numFaultKinds {
		if n := m[k.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	if n := m["storage-in-flight"]; n > 0 {
		parts = append(parts, fmt.Sprintf("(%d storage faults cut a write in flight)", n))
	}
	return strings.Join(parts, ", ")
}

func healString(heals []time.Duration, last time.Duration) string {
	if len(heals) == 0 {
		return fmt.Sprintf("%v after the last heal", last.Round(time.Millisecond))
	}
	s := slices.Clone(heals)
	slices.Sort(s)
	return fmt.Sprintf("%v after the last heal; over %d heals median %v, max %v", last.Round(time.Millisecond),
		len(s), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// faultTotals adds up the runs.
type faultTotals struct {
	runs int
	sum  runResult
}

func newFaultTotals() *faultTotals {
	return &faultTotals{sum: runResult{faults: map[string]int{}}}
}

func (f *faultTotals) add(r runResult) {
	f.runs++
	s := &f.sum
	s.ops += r.ops
	s.ok += r.ok
	s.failed += r.failed
	s.unknown += r.unknown
	s.discarded += r.discarded
	s.keys += r.keys
	s.watch.events += r.watch.events
	s.watch.segments += r.watch.segments
	s.watch.cleared += r.watch.cleared
	s.watch.errs += r.watch.errs
	for k, n := range r.faults {
		s.faults[k] += n
	}
	s.heals = append(s.heals, r.heals...)
	s.lastHeal = max(s.lastHeal, r.lastHeal)
	s.snapsSaved += r.snapsSaved
	s.snapsLoaded += r.snapsLoaded
	s.tornRepairs += r.tornRepairs
	s.checkTime += r.checkTime
}

// String renders the totals; the time after the last heal is the longest
// of the runs'.
func (f *faultTotals) String() string {
	return fmt.Sprintf("%d runs: %s", f.runs, strings.Replace(f.sum.String(), "after the last heal", "at most after a run's last heal", 1))
}
