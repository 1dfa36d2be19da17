package lin

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Witness is the smallest failing part the checker found of one key's
// history: operations that cannot be linearized from any state the
// operations before them may leave the key in. Operations are named by
// their index in the slice given to Check.
//
// Every reduction that leads to it keeps the proof intact, so a witness is
// a proof that the whole history is not linearizable, not just a suspect:
//   - the history is cut at the first point where it stops being
//     linearizable; operations answered after that point are treated as
//     unknown (listed in Cut);
//   - an operation that needs a value nobody writes is a witness alone;
//   - otherwise, the operations before a quiet moment (no completed
//     operation in flight, reads in flight dropped) are summed up by the
//     states they can leave the key in (From), when those states alone
//     already make the rest fail; operations of unknown outcome called
//     earlier stay in Ops, free to take effect on either side;
//   - reads (a Get, or a conditional request that failed) are dropped
//     while the rest still fails: dropping a read only removes a
//     constraint.
//
// Writes are never dropped: without them, a read could fail for a reason
// the real history does not have.
type Witness struct {
	Key string
	// At is the time of the answer at which the key's history stops being
	// linearizable: operations answered later count as unknown (Unknown if
	// the whole history was needed).
	At int64
	// Earlier is how many operations on Key completed before the time
	// Since, when the completed operations of Ops begin; From sums them up.
	Earlier int
	Since   int64
	// From holds the states Key may hold at Since: every order of the
	// earlier operations (operations of unknown outcome taking effect
	// before Since or not) leaves it in one of them. When listing them all
	// would cost too much, From holds less (and Pruned is set): if the
	// history had a linearization, one would pass through one of them at
	// Since. When Earlier is 0, From is the state Options.Initial gives.
	// Writers[i] is the index of the operation that wrote From[i], or -1
	// for the initial state. AnyUnread[i] is set when From[i] stands for
	// any value that none of the operations considered reads or compares
	// (all alike to them): its writer's value is one of them.
	From      []State
	Writers   []int
	AnyUnread []bool
	Pruned    bool
	// Ops is the failing part, in call order.
	Ops []int
	// Cut lists the operations of Ops answered after At: they count as
	// unknown.
	Cut []int
	// Linearized is the longest order of operations of Ops the search
	// linearized (starting from Start), and Stuck the operations none of
	// which can take effect after it.
	Start      State
	Linearized []int
	Stuck      []int
	// Partial is set when the search for a smaller part ran out of
	// budget: Ops still cannot be linearized, but a smaller part may
	// exist.
	Partial bool

	text string // the witness in words
}

// part is a sub-history of one key: copies of operations (some weakened
// to unknown) and their indices in the checked slice, in call order.
type part struct {
	ops []Op
	idx []int
}

// event is a call or a return of an operation of a part.
type event struct {
	t   int64
	ret bool
	op  int // index into the part
}

// events returns p's calls and returns in the order the search lists them.
func (pt part) events() []event {
	ev := make([]event, 0, 2*len(pt.ops))
	for i, op := range pt.ops {
		ev = append(ev, event{op.Call, false, i}, event{op.Return, true, i})
	}
	slices.SortFunc(ev, func(a, b event) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		if a.ret != b.ret {
			if a.ret {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.op, b.op)
	})
	return ev
}

// shrinker finds a witness within a budget.
type shrinker struct {
	maxSteps int64
	total    *budget // all the searches' steps together
	partial  bool    // some search ran out of budget
}

// explainFactor is how many keys' worth of steps (Options.MaxSteps) the
// explanation may use in all.
const explainFactor = 2

// explain finds a witness for key, whose operations (indices idx into
// hist) are not linearizable from init.
func explain(hist []Op, key string, idx []int, init State, frontier int, maxSteps int64, deadline time.Time) *Witness {
	sh := &shrinker{maxSteps: maxSteps, total: newBudget(maxSteps*explainFactor, deadline)}
	full := part{idx: slices.Clone(idx)}
	for _, i := range idx {
		full.ops = append(full.ops, hist[i])
	}
	from, writers := []State{init}, []int{-1}
	pre, at := sh.prefix(full, from, frontier)
	w := &Witness{Key: key, At: at, From: from, Writers: writers, AnyUnread: []bool{false}}
	rest := pre
	if needy, ok := unwritten(pre, init); ok {
		// An operation needs a value no operation writes: it is the
		// witness on its own.
		rest = needy
	} else {
		if c, ok := sh.startCut(pre, init); ok {
			rest, w.Earlier, w.Since, w.From, w.Writers, w.AnyUnread, w.Pruned = c.after, c.earlier, c.since, c.states, c.writers, c.unread, c.lossy
		}
		rest = sh.dropReads(rest, w.From)
	}
	w.Ops = slices.Clone(rest.idx)
	slices.SortFunc(w.Ops, func(a, b int) int {
		return cmp.Or(cmp.Compare(hist[a].Call, hist[b].Call), cmp.Compare(a, b))
	})
	for i, op := range rest.ops {
		if op.Unknown() && !hist[rest.idx[i]].Unknown() {
			w.Cut = append(w.Cut, rest.idx[i])
		}
	}
	w.deepest(sh, hist, rest)
	w.Partial = sh.partial
	return w
}

// search runs one search of p from state from, within the total budget
// and at most limit steps.
func (sh *shrinker) search(p *problem, from State, so searchOptions, limit int64) searchResult {
	b := newBudget(min(limit, sh.total.steps), sh.total.deadline)
	r := p.search(p.stateID(from), b, so)
	sh.total.steps -= b.spent
	if r.outcome == gaveUp {
		sh.partial = true
	}
	return r
}

// fails reports whether pt is proven not linearizable from every state
// in from.
func (sh *shrinker) fails(pt part, from []State) bool {
	p := newProblem(pt.ops, seq(len(pt.ops)), from, true)
	for _, s := range from {
		if sh.search(p, s, searchOptions{}, sh.maxSteps).outcome != illegal {
			return false
		}
	}
	return true
}

// seq returns 0, 1, ..., n-1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// relevant drops the operations the model ignores (unknown reads, unknown
// compares that can never succeed).
func (sh *shrinker) relevant(pt part, from []State) part {
	p := newProblem(pt.ops, seq(len(pt.ops)), from, false)
	var out part
	for _, op := range p.ops {
		out.ops = append(out.ops, pt.ops[op.index])
		out.idx = append(out.idx, pt.idx[op.index])
	}
	return out
}

// prefix returns the shortest prefix in time of pt that fails: the
// operations called before some return, those not answered by then
// weakened to unknown; and the time of that return. If the history fails
// up to some moment, it fails up to any later one, so a binary search
// finds the first. The checker's search already proved the whole history
// fails, and that it is linearizable up to just before the return of
// operation frontier (an index into the checked slice, or -1): the search
// starts from there, trying the next return first.
func (sh *shrinker) prefix(pt part, from []State, frontier int) (part, int64) {
	ev := pt.events()
	var ends []int // positions just after a completed operation's return
	for j, e := range ev {
		if e.ret && !pt.ops[e.op].Unknown() {
			ends = append(ends, j+1)
		}
	}
	callPos := make([]int, len(pt.ops))
	retPos := make([]int, len(pt.ops))
	for j, e := range ev {
		if e.ret {
			retPos[e.op] = j
		} else {
			callPos[e.op] = j
		}
	}
	cut := func(k int) part {
		var out part
		for i, op := range pt.ops {
			if callPos[i] >= k {
				continue
			}
			if retPos[i] >= k {
				op.Return, op.Code, op.Got = Unknown, 0, ""
			}
			out.ops = append(out.ops, op)
			out.idx = append(out.idx, pt.idx[i])
		}
		return out
	}
	if len(ends) == 0 {
		return sh.relevant(pt, from), Unknown
	}
	// cut(ends[hi]) fails (the whole history does, and the operations of
	// unknown outcome called after the last answer change nothing);
	// cut(ends[lo]) does not, or lo is -1.
	lo, hi := -1, len(ends)-1
	for j, e := range ev {
		if e.ret && pt.idx[e.op] == frontier {
			for lo+1 < hi && ends[lo+1] <= j {
				lo++
			}
		}
	}
	// A prefix that fails costs a whole search that rules out every order,
	// one that does not is usually cheap: walk on from lo a few returns at
	// a time, then gallop, then halve.
	for n, stride := 0, 1; hi-lo > 1; n++ {
		next := min(lo+stride, hi-1)
		if sh.fails(cut(ends[next]), from) {
			hi = next
			break
		}
		lo = next
		if n >= linearProbes {
			stride *= 2
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if sh.fails(cut(ends[mid]), from) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return sh.relevant(cut(ends[hi]), from), ev[ends[hi]-1].t
}

// unwritten returns the completed operations of pt that need the key to
// hold a value (a Get that read it, a compare that matched it) that is not
// its initial value and that no operation of pt writes, if there are any.
// Each of them fails on its own, whatever else happens.
func unwritten(pt part, init State) (part, bool) {
	written := make(map[string]bool)
	if init.Exists {
		written[init.Value] = true
	}
	for _, op := range pt.ops {
		if op.Kind.writesValue() && (op.Unknown() || op.Code == CodeOK) {
			written[op.Value] = true
		}
	}
	var out part
	for i, op := range pt.ops {
		if op.Unknown() || op.Code != CodeOK {
			continue
		}
		if op.Kind == Get && !written[op.Got] || op.Kind.compares() && !written[op.Prev] {
			out.ops = append(out.ops, op)
			out.idx = append(out.idx, pt.idx[i])
		}
	}
	return out, len(out.ops) > 0
}

// linearProbes is how many answers after the checker's frontier prefix
// tries one by one before it gallops.
const linearProbes = 16

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

// dropReads removes the reads of pt that the failure does not need, in
// chunks that halve (first all of them, then halves, ..., then one by one).
func (sh *shrinker) dropReads(pt part, from []State) part {
	var reads []int
	for i, op := range pt.ops {
		if op.readOnly() {
			reads = append(reads, i)
		}
	}
	gone := make([]bool, len(pt.ops))  // dropped for good
	trial := make([]bool, len(pt.ops)) // dropped in the current try
	kept := func() part {
		var out part
		for i, op := range pt.ops {
			if !gone[i] && !trial[i] {
				out.ops = append(out.ops, op)
				out.idx = append(out.idx, pt.idx[i])
			}
		}
		return out
	}
	for chunk := len(reads); chunk >= 1; chunk /= 2 {
		for start := 0; start < len(reads); start += chunk {
			try := reads[start:min(start+chunk, len(reads))]
			n := 0
			for _, i := range try {
				if !gone[i] {
					trial[i] = true
					n++
				}
			}
			keep := n > 0 && sh.fails(kept(), from)
			for _, i := range try {
				if trial[i] {
					trial[i], gone[i] = false, keep
				}
			}
		}
	}
	return kept()
}

// deepest runs the search on the witness's operations from each start
// state, keeps the longest order it linearizes, and writes the witness in
// words.
func (w *Witness) deepest(sh *shrinker, hist []Op, pt part) {
	p := newProblem(pt.ops, seq(len(pt.ops)), w.From, false)
	var best searchResult
	bestFrom := -1
	for i, s := range w.From {
		r := sh.search(p, s, searchOptions{trackDeepest: true}, sh.maxSteps)
		if bestFrom < 0 || len(r.order) > len(best.order) {
			best, bestFrom = r, i
		}
	}
	w.Start = w.From[bestFrom]
	for _, o := range best.order {
		w.Linearized = append(w.Linearized, pt.idx[p.ops[o].index])
	}
	for _, o := range best.stuck {
		w.Stuck = append(w.Stuck, pt.idx[p.ops[o].index])
	}
	w.text = w.write(hist, p, pt, best)
}

// write renders the witness, one operation a line.
func (w *Witness) write(hist []Op, p *problem, pt part, best searchResult) string {
	var b strings.Builder
	line := func(i int, note string) {
		op := hist[i]
		fmt.Fprintf(&b, "  #%-6d client %-3d %-30s %s%s\n", i, op.Client, span(op.Call, op.Return), op.Describe(), note)
	}
	fmt.Fprintf(&b, "key %q", w.Key)
	if w.At != Unknown {
		fmt.Fprintf(&b, " stops being linearizable at %s", time.Duration(w.At))
	}
	fmt.Fprintf(&b, ": %s cannot be linearized", plural(len(w.Ops), "operation"))
	if w.Partial {
		b.WriteString(" (the search for a smaller part ran out of budget)")
	}
	b.WriteString("\n")
	since := time.Duration(w.Since).String()
	if w.Earlier > 0 {
		if w.Pruned {
			fmt.Fprintf(&b, "if the history had a linearization, it would have one in which the %s completed\n", plural(w.Earlier, "operation"))
			fmt.Fprintf(&b, "before %s leave the key holding one of:\n", since)
		} else {
			fmt.Fprintf(&b, "before %s, the %s completed by then can only leave the key holding:\n", since, plural(w.Earlier, "operation"))
		}
		for j, s := range w.From {
			if w.Writers[j] < 0 {
				fmt.Fprintf(&b, "  %s (the initial state)\n", s)
				continue
			}
			if w.AnyUnread[j] {
				fmt.Fprintf(&b, "  %s (or any other value no operation considered here reads), written by\n", s)
			} else {
				fmt.Fprintf(&b, "  %s, written by\n", s)
			}
			line(w.Writers[j], "")
		}
		b.WriteString("and from there, these operations cannot be linearized:\n")
	} else {
		fmt.Fprintf(&b, "from the key's initial state, %s, these operations cannot be linearized:\n", w.From[0])
	}
	var loose []int
	for _, i := range w.Ops {
		if hist[i].Unknown() || slices.Contains(w.Cut, i) {
			loose = append(loose, i)
		} else {
			line(i, "")
		}
	}
	if len(loose) > 0 {
		b.WriteString("with these of unknown outcome (each may take effect once, at any time after its call, or never):\n")
		for _, i := range loose {
			note := ""
			if slices.Contains(w.Cut, i) {
				note = "  (answered after the failure: counted as unknown)"
			}
			line(i, note)
		}
	}
	fmt.Fprintf(&b, "the longest order found, from %s:\n", w.Start)
	state := p.stateID(w.Start)
	if len(best.order) == 0 {
		b.WriteString("  (none: no operation can go first)\n")
	}
	for _, o := range best.order {
		state, _ = step(state, &p.ops[o])
		line(pt.idx[p.ops[o].index], "  => "+p.stateText(state))
	}
	fmt.Fprintf(&b, "then none of these can take effect next (the key holds %s):\n", p.stateText(state))
	// Values some operation left could still write.
	writable := make(map[int32]bool)
	for i := range p.ops {
		if !slices.Contains(best.order, int32(i)) && p.ops[i].kind.writesValue() {
			writable[p.ops[i].value] = true
		}
	}
	loose = loose[:0]
	for _, o := range best.stuck {
		op := &p.ops[o]
		if !op.known {
			loose = append(loose, pt.idx[op.index])
			continue
		}
		note := "  (fits, but no order of the rest works after it)"
		if _, ok := step(state, op); !ok {
			_, code := answer(state, op)
			if op.kind == Get && code == CodeOK {
				note = "  (the key holds " + p.stateText(state) + ")"
			} else {
				note = "  (the model answers " + codeWord(code) + ")"
			}
			if v := needs(op); v != absent && !writable[v] {
				note += " and no operation left writes " + p.stateText(v)
			}
		}
		line(pt.idx[op.index], note)
	}
	if len(loose) > 0 {
		fmt.Fprintf(&b, "  (nor any of the %s of unknown outcome: no order of the rest works after any of them)\n", plural(len(loose), "operation"))
	}
	return b.String()
}

// needs returns the value a completed operation needs the key to hold (a
// Get that read it, a compare that matched it), or absent.
func needs(op *kop) int32 {
	switch {
	case !op.known || op.code != CodeOK:
		return absent
	case op.kind == Get:
		return op.got
	case op.kind.compares():
		return op.prev
	}
	return absent
}

// plural writes "1 operation" or "n operations".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// codeWord names an answer the model gives.
func codeWord(code int) string {
	if code == CodeOK {
		return "ok"
	}
	return codeText(code)
}

// String returns the witness in words, one operation a line (the same
// text Result.Explanation ends with).
func (w *Witness) String() string { return w.text }
