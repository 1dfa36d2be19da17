package lin

// The search of Wing and Gong, with the memo of Lowe (the one porcupine and
// Knossos use). The calls and returns of one key's operations form a doubly
// linked list in time order. Walking it from the front, the search tries to
// linearize each operation whose call it meets: if the model accepts the
// operation's answer in the current state, the operation is taken out of
// the list (its call and its return), pushed on a stack, and the walk starts
// again from the front. Meeting a return means the operation it belongs to
// should have taken effect by then and has not: the search backtracks,
// putting the last operation back and trying the ones after it. The history
// is linearizable when every completed operation has been taken out, and is
// not when the search must backtrack from an empty stack.
//
// The memo makes the search polynomial in practice: it remembers each
// configuration the search has reached (the set of operations linearized
// and the state); reaching one again by another order cannot lead anywhere
// new, so that branch is cut (memo.go).
//
// More exact reductions (each keeps a linearization if there is one):
//   - an observer (a completed Get, or a completed request that failed,
//     which leaves the key as it is) that fits the current state is
//     linearized at once, alone (see next): concurrent reads would
//     otherwise multiply the orders to try;
//   - an order that overwrites a value some completed operation still
//     needs (a Get that read it, a compare that matched it), when no
//     operation left can write it again, is dropped at once (see take),
//     and a history where a needed value is written by nobody fails at
//     once (see possible);
//   - values no operation reads or compares share one state (newProblem).
//
// Operations of unknown outcome need more care: they never block the walk
// (their return is at the end of time), so each could be tried at every
// point after its call, and with u of them the configurations grow like
// 2^u. Three more reductions keep them in check:
//   - at each point the completed operations are tried first and the
//     unknown ones after, so the search first reaches a configuration with
//     as few unknown operations spent as it can;
//   - the memo keeps, for each (completed operations linearized, state),
//     the sets of unknown operations spent, and cuts a branch that spent a
//     superset of a set already tried: an unknown operation not spent
//     yet can always be left out, so the earlier configuration could do
//     everything this one can;
//   - two unknown operations with the same effect (same kind, value and
//     compare value, for instance two lost writes of values nobody reads)
//     are interchangeable, so the search keeps each such class in call
//     order and only ever tries its first operation not yet spent (once it
//     has been called). Unknown operations are not in the list at all:
//     trying them costs a step per class, not per operation.
//
// Even so, a key that is not linearizable makes the search rule out every
// order up to the failure, and that grows fast with the operations of
// unknown outcome; the budget bounds it.

// outcome is what a search found.
type outcome uint8

const (
	linearizable outcome = iota // an order was found
	illegal                     // no order exists
	gaveUp                      // the budget ran out first
)

// searchResult is the result of one search.
type searchResult struct {
	outcome outcome

	// With trackDeepest: the longest prefix the search linearized
	// (operation indices into problem.ops, in order), the state after it,
	// and the operations that were candidates to go next there.
	order []int32
	state int32
	stuck []int32

	// frontier is, for illegal or gaveUp, the operation whose return was
	// the latest first return of the list at any point the search reached
	// (or -1): the operations up to just before that return are
	// linearizable, even with those answered later counted as unknown.
	frontier int32

	// With statesAt: for each count n asked for, each state the search
	// reached just as it linearized its n-th completed operation, with the
	// operation that wrote it (-1: the initial state). Without keepLost,
	// a state is noted even when the search then drops the order for
	// having overwritten for good a value a later operation reads, but
	// orders dropped before are not followed, so their states are missing.
	states map[int]map[int32]int32
}

// node is a call or a return of a completed operation in the search's
// list. Nodes are numbered by their position in time among all the
// problem's calls and returns (node 0 is the list's head, and the list is
// circular); operations of unknown outcome have a position but are not
// in the list.
type node struct {
	op         int32 // index into problem.ops
	ret        bool  // a return (else a call)
	match      int32 // the call's return node, or the return's call node
	prev, next int32
}

// frame is a stack entry: an operation linearized, and the state, last
// writer and cursor of the point it was linearized from.
type frame struct {
	op     int32
	state  int32
	writer int32
	cur    cursor
}

// cursor is where the search is among the candidates of one point. A point
// first offers an observer that fits, if there is one, as its only
// candidate; otherwise it walks the list up to its first return, offering
// completed operations, then offers the next unknown operation of each
// class called before that return.
type cursor struct {
	fresh    bool  // nothing offered yet
	only     bool  // an observer was offered as the only candidate
	inKnown  bool  // walking the list
	node     int32 // the next node of the walk
	class    int   // the next class
	firstRet int32 // the list's first return (0: none), once the walk is over
}

// searchOptions selects a search's mode.
type searchOptions struct {
	trackDeepest bool // record the longest linearized prefix
	// statesAt asks to record the states reached with these numbers of
	// completed operations linearized.
	statesAt []int
	// keepLost makes the search list every state: it keeps the orders
	// that overwrite for good a value a later operation reads (they cannot
	// succeed, but their states are noted), and it does not linearize a
	// fitting observer alone (that keeps a linearization if there is one,
	// but not every order of the operations before it).
	keepLost bool
}

// searcher is the state of one search.
type searcher struct {
	p     *problem
	nodes []node
	call  []int32  // per op: the position of its call
	slot  []int32  // per op: its bit in done (by call order) or in spent
	hash  []uint64 // per completed op: its share of the configuration's hash
	// done is the set of completed operations linearized: every word
	// before lo is full, every word from hi on is empty.
	done   []uint64
	lo, hi int
	spent  []uint64 // the unknown operations linearized
	// classOps holds each class's unknown operations in call order, and
	// used how many of them are linearized (always the first ones).
	classOps [][]int32
	used     []int
	memo     *memo
	eager    bool  // offer a fitting observer alone (see next)
	far      int32 // the latest first return of the list at any point reached
	// For each value: how many operations not yet linearized may still
	// write it, and how many completed ones not yet linearized need the
	// key to hold it (a Get that read it, a compare that matched it).
	writers, needers []int32
	writes, needs    []int32 // per op: the value it may write, the value it needs (or absent)
}

func newSearcher(p *problem) *searcher {
	s := &searcher{p: p, call: make([]int32, len(p.ops)), slot: make([]int32, len(p.ops)),
		hash: make([]uint64, len(p.ops)), classOps: make([][]int32, p.classes), used: make([]int, p.classes)}
	s.nodes = s.list()
	known, unknown := 0, 0
	for n := 1; n < len(s.nodes); n++ {
		if s.nodes[n].ret {
			continue
		}
		i := s.nodes[n].op
		if op := &p.ops[i]; op.known {
			s.slot[i] = int32(known)
			s.hash[i] = mix64(uint64(known) + 0x9e3779b97f4a7c15)
			known++
		} else {
			s.slot[i] = int32(unknown)
			s.classOps[op.class] = append(s.classOps[op.class], i)
			unknown++
		}
	}
	s.done = make([]uint64, (known+63)/64)
	s.spent = make([]uint64, (unknown+63)/64)
	s.memo = newMemo(len(s.spent))
	s.writers = make([]int32, len(p.names))
	s.needers = make([]int32, len(p.names))
	s.writes = make([]int32, len(p.ops))
	s.needs = make([]int32, len(p.ops))
	for i := range p.ops {
		op := &p.ops[i]
		s.writes[i], s.needs[i] = absent, absent
		if op.kind.writesValue() && (!op.known || op.code == CodeOK) {
			s.writes[i] = op.value
			s.writers[op.value]++
		}
		s.needs[i] = needs(op)
		if s.needs[i] != absent {
			s.needers[s.needs[i]]++
		}
	}
	return s
}

// take counts operation i, which moved the key from state to next, as
// linearized, and reports whether the search can still succeed: it
// cannot if some completed operation needs a value the key no longer
// holds and no operation left can write.
func (s *searcher) take(i int32, state, next int32) bool {
	w, n := s.writes[i], s.needs[i]
	if w != absent {
		s.writers[w]--
	}
	if n != absent {
		s.needers[n]--
	}
	lost := func(v int32) bool { return v != absent && v != next && s.writers[v] == 0 && s.needers[v] > 0 }
	return !lost(state) && !lost(w)
}

// possible reports whether every value some completed operation needs is
// held in state or written by some operation.
func (s *searcher) possible(state int32) bool {
	for v, n := range s.needers {
		if n > 0 && s.writers[v] == 0 && int32(v) != state {
			return false
		}
	}
	return true
}

// untake undoes take.
func (s *searcher) untake(i int32) {
	if w := s.writes[i]; w != absent {
		s.writers[w]++
	}
	if n := s.needs[i]; n != absent {
		s.needers[n]++
	}
}

// search decides whether p's operations are linearizable from state init.
func (p *problem) search(init int32, b *budget, so searchOptions) searchResult {
	s := newSearcher(p)
	s.eager = !so.keepLost
	known := 0
	for _, op := range p.ops {
		if op.known {
			known++
		}
	}
	var (
		res    = searchResult{state: init, frontier: -1}
		stack  []frame
		state  = init
		writer = int32(-1)
		hash   uint64
		best   = 0
		cur    = cursor{fresh: true}
	)
	total := known
	if len(so.statesAt) > 0 {
		res.states = make(map[int]map[int32]int32)
		for _, n := range so.statesAt {
			res.states[n] = make(map[int32]int32)
		}
	}
	if so.trackDeepest {
		res.record(s, stack, state)
	}
	if so.statesAt == nil && !s.possible(state) {
		res.outcome = illegal
		return res
	}
	for {
		if known == 0 {
			res.outcome = linearizable
			return res
		}
		if i := s.next(&cur, state); i >= 0 {
			if !b.spend() {
				return s.finish(res, gaveUp)
			}
			op := &p.ops[i]
			next, ok := step(state, op)
			if !ok {
				continue
			}
			if op.known && res.states != nil {
				w := writer
				if wrote(state, next, op) {
					w = i
				}
				res.noteState(total-known+1, next, w)
			}
			if !s.take(i, state, next) && !so.keepLost || !s.visit(i, hash, next) {
				s.untake(i)
				continue
			}
			stack = append(stack, frame{op: i, state: state, writer: writer, cur: cur})
			if wrote(state, next, op) {
				writer = i
			}
			state = next
			if op.known {
				hash ^= s.hash[i]
				known--
				lift(s.nodes, s.call[i])
			} else {
				s.used[op.class]++
			}
			if so.trackDeepest && len(stack) > best {
				best = len(stack)
				res.record(s, stack, state)
			}
			cur = cursor{fresh: true}
			continue
		}
		// No candidate left here: backtrack.
		if !b.spend() {
			return s.finish(res, gaveUp)
		}
		if len(stack) == 0 {
			return s.finish(res, illegal)
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		i := top.op
		op := &p.ops[i]
		s.unset(i)
		s.untake(i)
		state, writer, cur = top.state, top.writer, top.cur
		if op.known {
			hash ^= s.hash[i]
			known++
			unlift(s.nodes, s.call[i])
		} else {
			s.used[op.class]--
		}
	}
}

// finish sets the result's outcome and frontier.
func (s *searcher) finish(res searchResult, o outcome) searchResult {
	res.outcome = o
	if s.far > 0 {
		res.frontier = s.nodes[s.far].op
	}
	return res
}

// next returns the next candidate at the point cur is at, or -1 when
// there is none left.
//
// An observer (a completed Get, or a completed request that failed: one
// that cannot change the key) that fits the current state and may go now
// is offered alone: linearizing it at once loses nothing, since it leaves
// the state as it is and every operation that must precede it already
// has. Concurrent reads would otherwise multiply the orders to try.
// (The orders it skips could reach other states on the way; a search that
// lists states, with keepLost, does not skip them.)
func (s *searcher) next(cur *cursor, state int32) int32 {
	nodes := s.nodes
	if cur.fresh {
		cur.fresh, cur.inKnown, cur.node = false, true, nodes[0].next
		for c := nodes[0].next; s.eager && c != 0 && !nodes[c].ret; c = nodes[c].next {
			op := &s.p.ops[nodes[c].op]
			if op.kind != Get && op.code == CodeOK {
				continue
			}
			if _, ok := step(state, op); ok {
				cur.only = true
				return nodes[c].op
			}
		}
	}
	if cur.only {
		return -1
	}
	if cur.inKnown {
		if c := cur.node; c != 0 && !nodes[c].ret {
			cur.node = nodes[c].next
			return nodes[c].op
		}
		cur.inKnown, cur.firstRet, cur.class = false, cur.node, 0
		if cur.node > s.far {
			s.far = cur.node
		}
	}
	for cur.class < len(s.classOps) {
		ops := s.classOps[cur.class]
		k := s.used[cur.class]
		cur.class++
		if k < len(ops) && before(s.call[ops[k]], cur.firstRet) {
			return ops[k]
		}
	}
	return -1
}

// before reports whether the call at position call comes before the
// return node ret (0, the head, stands for the end of time).
func before(call, ret int32) bool { return ret == 0 || call < ret }

// visit marks operation i linearized, reaching state next, and reports
// whether that configuration is new (else it unmarks i).
func (s *searcher) visit(i int32, hash uint64, next int32) bool {
	if s.p.ops[i].known {
		hash ^= s.hash[i]
	}
	s.set(i)
	if s.memo.add(hash^mix64(uint64(uint32(next))), s.lo, s.done[s.lo:max(s.hi, s.lo)], next, s.spent) {
		return true
	}
	s.unset(i)
	return false
}

func (s *searcher) set(i int32) {
	k := s.slot[i]
	if !s.p.ops[i].known {
		s.spent[k/64] |= 1 << (k % 64)
		return
	}
	w := int(k / 64)
	s.done[w] |= 1 << (k % 64)
	for s.lo < len(s.done) && s.done[s.lo] == ^uint64(0) {
		s.lo++
	}
	s.hi = max(s.hi, w+1)
}

func (s *searcher) unset(i int32) {
	k := s.slot[i]
	if !s.p.ops[i].known {
		s.spent[k/64] &^= 1 << (k % 64)
		return
	}
	w := int(k / 64)
	s.done[w] &^= 1 << (k % 64)
	s.lo = min(s.lo, w)
	for s.hi > 0 && s.done[s.hi-1] == 0 {
		s.hi--
	}
}

// noteState notes, if count is asked for, that the search reached state
// (last written by writer) as it linearized its count-th completed
// operation.
func (r *searchResult) noteState(count int, state, writer int32) {
	if at, ok := r.states[count]; ok {
		if _, seen := at[state]; !seen {
			at[state] = writer
		}
	}
}

// wrote reports whether op, taking the key from state to next, wrote it
// (a write that succeeded may leave the same state: the same value, or
// two values no operation reads, which share an ID).
func wrote(state, next int32, op *kop) bool {
	if next != state {
		return true
	}
	if !op.kind.writesValue() {
		return false
	}
	_, code := answer(state, op)
	return code == CodeOK
}

// record notes the current prefix as the deepest one.
func (r *searchResult) record(s *searcher, stack []frame, state int32) {
	r.order = r.order[:0]
	for _, f := range stack {
		r.order = append(r.order, f.op)
	}
	r.state = state
	r.stuck = r.stuck[:0]
	c := s.nodes[0].next
	for ; c != 0 && !s.nodes[c].ret; c = s.nodes[c].next {
		r.stuck = append(r.stuck, s.nodes[c].op)
	}
	for cl, ops := range s.classOps {
		if k := s.used[cl]; k < len(ops) && before(s.call[ops[k]], c) {
			r.stuck = append(r.stuck, ops[k])
		}
	}
}
