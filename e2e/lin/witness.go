package lin

import (
	"cmp"
	"slices"
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

// linearProbes is how many answers after the checker's frontier prefix
// tries one by one before it gallops.
const linearProbes = 16

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
