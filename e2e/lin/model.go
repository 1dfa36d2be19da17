package lin

import "strconv"

// The register model. Each key is checked on its own (a history is
// linearizable exactly when each key's sub-history is), so the model is a
// single register that is absent or holds a value. Values are interned: a
// state is an int32, absent or the ID of a value, so states compare and
// hash in one instruction.

// absent is the state of a key that holds nothing.
const absent int32 = -1

// kop is an operation of one key's problem, its strings interned.
type kop struct {
	kind  Kind
	known bool  // false: the outcome is unknown (code and got are ignored)
	code  int   // the answer
	value int32 // the value written
	prev  int32 // the value compared
	got   int32 // the value read
	call  int64
	ret   int64 // Unknown when !known
	index int   // the operation's index in the caller's slice
	class int32 // for an unknown operation: its class of equal effect; else -1
}

// problem is one key's history, ready for the search.
type problem struct {
	ops     []kop
	names   []string // value ID -> the value
	other   int32    // the shared ID of values no operation reads or compares, or absent
	classes int      // the number of classes of unknown operations
}

// newProblem interns the operations hist[i] for i in idx (all on one key).
// With merge, every value that no operation reads or compares (and that is
// not in extra) shares one ID: such values are indistinguishable to the
// model, and sharing lets the memo recognise more repeated states.
// Operations whose outcome is unknown and that cannot change the key are
// left out: an unknown Get, and an unknown compare whose Prev is never
// written and is not in extra.
func newProblem(hist []Op, idx []int, extra []State, merge bool) *problem {
	p := &problem{other: absent}
	ids := make(map[string]int32)
	intern := func(v string) int32 {
		id, ok := ids[v]
		if !ok {
			id = int32(len(p.names))
			ids[v] = id
			p.names = append(p.names, v)
		}
		return id
	}
	// Values some operation can observe get IDs of their own.
	written := make(map[string]bool)
	for _, s := range extra {
		if s.Exists {
			intern(s.Value)
			written[s.Value] = true
		}
	}
	for _, i := range idx {
		op := &hist[i]
		if op.Kind.compares() {
			intern(op.Prev)
		}
		if op.Kind == Get && !op.Unknown() && op.Code == CodeOK {
			intern(op.Got)
		}
		if op.Kind.writesValue() {
			written[op.Value] = true
		}
	}
	valueID := func(v string) int32 {
		if id, ok := ids[v]; ok || !merge {
			if !ok {
				id = intern(v)
			}
			return id
		}
		if p.other == absent {
			p.other = int32(len(p.names))
			p.names = append(p.names, "")
		}
		return p.other
	}
	type effect struct {
		kind        Kind
		value, prev int32
	}
	classes := make(map[effect]int32)
	p.ops = make([]kop, 0, len(idx))
	for _, i := range idx {
		op := &hist[i]
		k := kop{kind: op.Kind, known: !op.Unknown(), code: op.Code, value: absent, prev: absent, got: absent,
			call: op.Call, ret: op.Return, index: i}
		if !k.known && (op.Kind == Get || op.Kind.compares() && !written[op.Prev]) {
			continue
		}
		if op.Kind.writesValue() {
			k.value = valueID(op.Value)
		}
		if op.Kind.compares() {
			k.prev = ids[op.Prev]
		}
		if k.known && op.Kind == Get && op.Code == CodeOK {
			k.got = ids[op.Got]
		}
		k.class = -1
		if !k.known {
			e := effect{k.kind, k.value, k.prev}
			c, ok := classes[e]
			if !ok {
				c = int32(len(classes))
				classes[e] = c
			}
			k.class = c
		}
		p.ops = append(p.ops, k)
	}
	p.classes = len(classes)
	return p
}

// stateID returns the state s as the problem numbers it: absent, or the ID
// of its value (interning it if new).
func (p *problem) stateID(s State) int32 {
	if !s.Exists {
		return absent
	}
	for id, v := range p.names {
		if v == s.Value && int32(id) != p.other {
			return int32(id)
		}
	}
	p.names = append(p.names, s.Value)
	return int32(len(p.names) - 1)
}

// state returns the state with ID s.
func (p *problem) state(s int32) State {
	if s == absent {
		return State{}
	}
	return State{Exists: true, Value: p.names[s]}
}

// stateText renders the state with ID s for messages.
func (p *problem) stateText(s int32) string {
	switch s {
	case absent:
		return "absent"
	case p.other:
		return "a value no operation reads"
	}
	return strconv.Quote(p.names[s])
}

// answer applies op to state s as the model does: it returns the state
// after op and the code the model answers (a successful Get reads s).
func answer(s int32, op *kop) (next int32, code int) {
	next = s
	switch op.kind {
	case Get:
		if s == absent {
			code = CodeKeyNotFound
		}
	case Put:
		next = op.value
	case Create:
		if s != absent {
			code = CodeNodeExist
		} else {
			next = op.value
		}
	case Update:
		if s == absent {
			code = CodeKeyNotFound
		} else {
			next = op.value
		}
	case CompareAndSwap, CompareAndDelete:
		switch {
		case s == absent:
			code = CodeKeyNotFound
		case s != op.prev:
			code = CodeTestFailed
		case op.kind == CompareAndSwap:
			next = op.value
		default:
			next = absent
		}
	case Delete:
		if s == absent {
			code = CodeKeyNotFound
		} else {
			next = absent
		}
	}
	return next, code
}

// step applies op to state s. It reports the state after op, and whether
// op's recorded answer is the one the model gives from s (always true for
// an operation whose outcome is unknown: it just has its effect).
func step(s int32, op *kop) (int32, bool) {
	next, code := answer(s, op)
	if op.known && (code != op.code || op.kind == Get && code == CodeOK && s != op.got) {
		return s, false
	}
	return next, true
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
