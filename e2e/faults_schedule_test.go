package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"time"

	"v2etcd/e2e/faultproxy"
)

// The fault schedule. A run draws its faults one after the other from a
// generator seeded with the run's seed and nothing else, so the same seed
// gives the same faults, targets, durations and gaps, whatever the
// cluster does. Only the member a "leader" fault hits is found at run
// time (the plan names a stand-in for when no leader is known).

// faultKind is one kind of fault.
type faultKind int

const (
	fKill          faultKind = iota // kill -9 a member; restart it (same data) at heal
	fKillLeader                     // the same, to the leader
	fPause                          // SIGSTOP a member; SIGCONT at heal
	fPauseLeader                    // the same, to the leader
	fPartition                      // drop every link between a random minority and the rest
	fBlackhole                      // the same, silently (blackholed links)
	fIsolateLeader                  // cut the leader off (dropped or blackholed links)
	fBridge                         // two halves that only a bridge member sees both of
	fOneWay                         // one member's incoming or outgoing links dropped
	fDelay                          // every link delayed
	fMembership                     // remove a member; add it back with a fresh data dir at heal
	fStorage                        // kill -9 a member, cut its WAL past its last fsync, restart
	fPowerCut                       // the same to every member at once
	numFaultKinds
)

var faultNames = [...]string{
	fKill: "kill", fKillLeader: "kill-leader", fPause: "pause", fPauseLeader: "pause-leader",
	fPartition: "partition", fBlackhole: "blackhole", fIsolateLeader: "isolate-leader",
	fBridge: "bridge", fOneWay: "one-way", fDelay: "delay", fMembership: "membership",
	fStorage: "storage", fPowerCut: "power-cut",
}

func (k faultKind) String() string { return faultNames[k] }

// fault is one planned fault.
type fault struct {
	seq   int
	kind  faultKind
	gap   time.Duration // quiet time before it
	hold  time.Duration // how long it lasts
	perm  []int         // the slots in a random order: targets and groups are taken from it
	minor int           // partitions: the size of the minority (perm[:minor])
	hole  bool          // isolate-leader: blackhole instead of drop
	in    bool          // one-way: drop the incoming links (else the outgoing)
	delay time.Duration // delay: per chunk
	cuts  []walCut      // storage: per slot, how to damage its WAL
	fracs []float64     // storage: per slot, where
}

// schedule draws a run's faults.
type schedule struct {
	rng     *rand.Rand
	kinds   []faultKind // the kinds to draw from (repeats weigh)
	members int
	seq     int
	holdMin time.Duration
	holdMax time.Duration
	gapMin  time.Duration
	gapMax  time.Duration
}

func (sc *schedule) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(sc.rng.Int64N(int64(hi-lo)+1))
}

// next draws the next fault. It draws the same numbers for every kind, so
// one fault's kind does not shift the draws of the next.
func (sc *schedule) next() fault {
	sc.seq++
	f := fault{
		seq:   sc.seq,
		kind:  sc.kinds[sc.rng.IntN(len(sc.kinds))],
		gap:   sc.between(sc.gapMin, sc.gapMax),
		hold:  sc.between(sc.holdMin, sc.holdMax),
		perm:  sc.rng.Perm(sc.members),
		minor: 1 + sc.rng.IntN((sc.members-1)/2),
		hole:  sc.rng.IntN(2) == 0,
		in:    sc.rng.IntN(2) == 0,
		delay: time.Duration(20+sc.rng.IntN(181)) * time.Millisecond,
	}
	for range sc.members {
		f.cuts = append(f.cuts, walCut(sc.rng.IntN(4)))
		f.fracs = append(f.fracs, sc.rng.Float64())
	}
	return f
}

// String renders the plan of a fault (before its leader is known).
func (f fault) String() string {
	slots := func(is []int) string {
		var s []string
		for _, i := range is {
			s = append(s, fmt.Sprintf("f%d", i+1))
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	var what string
	switch f.kind {
	case fKill, fPause, fMembership, fStorage:
		what = slots(f.perm[:1])
	case fKillLeader, fPauseLeader:
		what = "leader"
	case fPartition, fBlackhole:
		what = slots(f.perm[:f.minor]) + " | " + slots(f.perm[f.minor:])
	case fIsolateLeader:
		what = "leader, drop"
		if f.hole {
			what = "leader, blackhole"
		}
	case fBridge:
		what = bridgeString(f, slots)
	case fOneWay:
		what = slots(f.perm[:1]) + " sends but does not hear"
		if !f.in {
			what = slots(f.perm[:1]) + " hears but does not send"
		}
	case fDelay:
		what = "every link, " + f.delay.String()
	case fPowerCut:
		what = "every member"
	}
	return fmt.Sprintf("#%d %s %s for %v", f.seq, f.kind, what, f.hold.Round(time.Millisecond))
}

// bridgeGroups splits the slots for a bridge: the bridge, and two halves
// that do not see each other.
func bridgeGroups(f fault) (bridge int, a, b []int) {
	rest := f.perm[1:]
	return f.perm[0], rest[:len(rest)/2], rest[len(rest)/2:]
}

func bridgeString(f fault, slots func([]int) string) string {
	br, a, b := bridgeGroups(f)
	return slots(a) + " | " + slots(b) + " bridged by " + slots([]int{br})
}

// injector applies faults to a cluster and heals them.
type injector struct {
	c      *fcluster
	rng    *rand.Rand // for the choices made at run time (which member to ask)
	logf   func(format string, args ...any)
	counts map[string]int
}

func (in *injector) pick(n int) int { return in.rng.IntN(n) }

// target returns the slot a fault hits: the leader for the leader kinds
// (or the plan's stand-in when no leader is known), else the plan's.
func (in *injector) target(f fault) (*fslot, string) {
	s := in.c.slots[f.perm[0]]
	if f.kind == fKillLeader || f.kind == fPauseLeader || f.kind == fIsolateLeader {
		if l := in.c.leader(2 * time.Second); l != nil {
			return l, "leader " + l.name
		}
		return s, "no leader known, " + s.name
	}
	return s, s.name
}

// inject applies f and returns what heals it. It fails (as a test
// failure) only when the cluster cannot be changed as planned.
func (in *injector) inject(f fault) (heal func() error, err error) {
	c := in.c
	s, who := in.target(f)
	in.counts[f.kind.String()]++
	switch f.kind {
	case fKill, fKillLeader:
		s.p.kill()
		s.state = slotKilled
		in.logf("fault %s: killed %s", f, who)
		return func() error { c.startSlot(s, false, false); return nil }, nil
	case fPause, fPauseLeader:
		s.p.signal(syscall.SIGSTOP)
		s.state = slotPaused
		in.logf("fault %s: paused %s", f, who)
		return func() error { s.p.signal(syscall.SIGCONT); s.state = slotUp; return nil }, nil
	case fPartition, fBlackhole:
		st := faultproxy.State{Kind: faultproxy.Drop}
		if f.kind == fBlackhole {
			st.Kind = faultproxy.Blackhole
		}
		c.net.Partition(st, f.perm[:f.minor], f.perm[f.minor:])
		in.logf("fault %s", f)
		return in.healNet, nil
	case fIsolateLeader:
		st := faultproxy.State{Kind: faultproxy.Drop}
		if f.hole {
			st.Kind = faultproxy.Blackhole
		}
		c.net.Isolate(s.i, st)
		in.logf("fault %s: isolated %s", f, who)
		return in.healNet, nil
	case fBridge:
		br, a, b := bridgeGroups(f)
		_ = br // its links pass
		for _, x := range a {
			for _, y := range b {
				c.net.Set(faultproxy.Link{From: x, To: y}, faultproxy.State{Kind: faultproxy.Drop})
				c.net.Set(faultproxy.Link{From: y, To: x}, faultproxy.State{Kind: faultproxy.Drop})
			}
		}
		in.logf("fault %s", f)
		return in.healNet, nil
	case fOneWay:
		for _, o := range c.slots {
			if o == s {
				continue
			}
			l := faultproxy.Link{From: s.i, To: o.i}
			if f.in {
				l = faultproxy.Link{From: o.i, To: s.i}
			}
			c.net.Set(l, faultproxy.State{Kind: faultproxy.Drop})
		}
		in.logf("fault %s", f)
		return in.healNet, nil
	case fDelay:
		for _, x := range c.slots {
			for _, y := range c.slots {
				if x != y {
					c.net.Set(faultproxy.Link{From: x.i, To: y.i}, faultproxy.State{Kind: faultproxy.Delay, Delay: f.delay})
				}
			}
		}
		in.logf("fault %s", f)
		return in.healNet, nil
	case fMembership:
		byItself, err := c.removeMember(s, in.pick, 10*time.Second)
		if err != nil {
			return nil, err
		}
		how := "it exited by itself"
		if !byItself {
			how = "it was still running after 10 s: killed"
		}
		in.logf("fault %s: removed %s (%s)", f, who, how)
		return func() error {
			if err := c.addMember(s, in.pick); err != nil {
				return err
			}
			in.logf("heal #%d: added %s back as a new member (data dir %s)", f.seq, s.name, shortPath(s.dataDir))
			return nil
		}, nil
	case fStorage, fPowerCut:
		victims := []*fslot{s}
		if f.kind == fPowerCut {
			victims = c.slots
		}
		n, tries := catchWrite(victims, 300, in.pick)
		for _, v := range victims {
			v.p.kill()
			v.state = slotKilled
		}
		notes := []string{fmt.Sprintf("stopped with %d unsynced bytes after %d tries", n, tries)}
		if n > 0 {
			in.counts["storage-in-flight"]++
		}
		for _, v := range victims {
			what, err := cutWAL(v, f.cuts[v.i], f.fracs[v.i], in.pick)
			if err != nil {
				return nil, fmt.Errorf("cutting the WAL of %s: %w", v.name, err)
			}
			notes = append(notes, v.name+": "+what)
		}
		in.logf("fault %s: killed, WAL cut:\n\t%s", f, strings.Join(notes, "\n\t"))
		return func() error {
			for _, v := range victims {
				c.startSlot(v, false, false)
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("unknown fault kind %d", f.kind)
}

func (in *injector) healNet() error {
	in.c.net.Heal()
	return nil
}

// healAll ends every fault that may still hold: links pass, paused members
// continue, killed members restart. Removed members are added back by the
// heal of their fault, which the driver always runs.
func (in *injector) healAll() {
	in.c.net.Heal()
	for _, s := range in.c.slots {
		switch s.state {
		case slotPaused:
			s.p.signal(syscall.SIGCONT)
			s.state = slotUp
		case slotKilled:
			in.c.startSlot(s, false, false)
		}
	}
}

// shortPath returns the last two elements of a path, for logs.
func shortPath(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) < 2 {
		return p
	}
	return strings.Join(parts[len(parts)-2:], "/")
}

// weigh repeats each kind by its weight, for schedule.kinds.
func weigh(ws map[faultKind]int) []faultKind {
	var ks []faultKind
	for k := range numFaultKinds {
		for range ws[k] {
			ks = append(ks, k)
		}
	}
	return slices.Clip(ks)
}
