package lin

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// maxCuts bounds how many quiet moments startCut tries, and
// maxCutSearches how many searches it runs to list their states.
const (
	maxCuts        = 32
	maxCutSearches = 4
)

// exactShare is the share of Options.MaxSteps startCut spends listing every
// state before it settles for the states a linearization would pass
// through.
const exactShare = 8

// startCut is a cut at a quiet moment of a history.
type startCut struct {
	after   part    // the completed operations after it, and every operation of unknown outcome
	earlier int     // how many completed operations are before it
	since   int64   // its time
	states  []State // the states the operations before it can leave the key in
	writers []int   // for each state, the operation that wrote it (-1: the initial state)
	unread  []bool  // for each state, whether it stands for any value no operation reads
	lossy   bool    // the states are only those a linearization would pass through
}

// startCut looks for a quiet moment in pt (every completed operation
// called before it has returned, reads aside) such that the rest of pt
// fails from every state the operations before it can leave the key in,
// trying the latest moments first. Reads in flight at the moment are
// dropped (dropping a read only removes a constraint), so that with many
// clients a moment is quiet often enough.
//
// One search of the operations (which fails, so it is exhaustive) records
// the states it reaches at each moment, just as it linearizes the last
// completed operation before it (operations of unknown outcome it would
// apply after that are left to the rest, which keeps them all); moments
// that drop the same reads share a search. If that search runs out of
// budget, a second one prunes as the checker's search does: the states it
// lists are then only those some linearization would pass through, if
// there were one, and the witness says so.
func (sh *shrinker) startCut(pt part, init State) (startCut, bool) {
	ev := pt.events()
	callPos := make([]int, len(pt.ops))
	retPos := make([]int, len(pt.ops))
	for j, e := range ev {
		if e.ret {
			retPos[e.op] = j
		} else {
			callPos[e.op] = j
		}
	}
	var cuts []int // positions of the quiet moments
	open, done := 0, 0
	for j, e := range ev {
		op := pt.ops[e.op]
		if op.Unknown() {
			continue
		}
		if !e.ret && open == 0 && done > 0 {
			cuts = append(cuts, j)
		}
		if e.ret {
			done++
		}
		if !op.readOnly() {
			if e.ret {
				open--
			} else {
				open++
			}
		}
	}
	if len(cuts) > maxCuts {
		cuts = cuts[len(cuts)-maxCuts:]
	}
	// Group the moments by the reads they drop.
	type group struct {
		sub    part
		local  []int // per operation of sub: its index in pt
		counts []int
		r      *searchResult
		p      *problem
		lossy  bool
	}
	groups := make(map[string]*group)
	keyOf := make([]string, len(cuts))
	countOf := make([]int, len(cuts))
	for n, k := range cuts {
		var key strings.Builder
		var sub part
		var local []int
		for i, op := range pt.ops {
			if !op.Unknown() && op.readOnly() && callPos[i] < k && retPos[i] > k {
				fmt.Fprintf(&key, "%d,", i)
				continue
			}
			sub.ops = append(sub.ops, op)
			sub.idx = append(sub.idx, pt.idx[i])
			local = append(local, i)
			if !op.Unknown() && callPos[i] < k {
				countOf[n]++
			}
		}
		keyOf[n] = key.String()
		g, ok := groups[keyOf[n]]
		if !ok {
			g = &group{sub: sub, local: local}
			groups[keyOf[n]] = g
		}
		g.counts = append(g.counts, countOf[n])
	}
	searches := 0
	for n := len(cuts) - 1; n >= 0; n-- {
		g := groups[keyOf[n]]
		if g.r == nil {
			if searches == maxCutSearches {
				continue
			}
			searches++
			// First list every state; if that costs too much, only
			// those a linearization would pass through. Values no
			// operation reads share one state (as in the checker's
			// search); such a state stands for the value its first
			// writer wrote.
			g.p = newProblem(g.sub.ops, seq(len(g.sub.ops)), []State{init}, true)
			partial := sh.partial
			r := sh.search(g.p, init, searchOptions{statesAt: g.counts, keepLost: true}, sh.maxSteps/exactShare)
			if r.outcome == gaveUp {
				g.lossy, sh.partial = true, partial
				r = sh.search(g.p, init, searchOptions{statesAt: g.counts}, sh.maxSteps)
			}
			g.r = &r
		}
		if g.r.outcome != illegal {
			continue
		}
		k, p := cuts[n], g.p
		var after part
		for m, op := range g.sub.ops {
			if op.Unknown() || callPos[g.local[m]] >= k {
				after.ops = append(after.ops, op)
				after.idx = append(after.idx, g.sub.idx[m])
			}
		}
		var states []State
		var writers []int
		var unread []bool
		for st, w := range g.r.states[countOf[n]] {
			s, merged := p.state(st), st != absent && st == p.other
			if merged {
				s.Value = g.sub.ops[p.ops[w].index].Value
			}
			states = append(states, s)
			unread = append(unread, merged)
			if w >= 0 {
				writers = append(writers, g.sub.idx[p.ops[w].index])
			} else {
				writers = append(writers, -1)
			}
		}
		if len(states) == 0 {
			continue
		}
		sortStates(states, writers, unread)
		if sh.fails(after, states) {
			return startCut{after, countOf[n], ev[k].t, states, writers, unread, g.lossy}, true
		}
	}
	return startCut{}, false
}

// sortStates sorts states (absent first, then by value), and their writers
// and unread marks with them.
func sortStates(states []State, writers []int, unread []bool) {
	order := seq(len(states))
	slices.SortFunc(order, func(a, b int) int {
		sa, sb := states[a], states[b]
		if sa.Exists != sb.Exists {
			if sa.Exists {
				return 1
			}
			return -1
		}
		return cmp.Compare(sa.Value, sb.Value)
	})
	s2, w2, u2 := slices.Clone(states), slices.Clone(writers), slices.Clone(unread)
	for i, o := range order {
		states[i], writers[i], unread[i] = s2[o], w2[o], u2[o]
	}
}
