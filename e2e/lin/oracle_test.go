package lin

// bruteLinearizable is an independent, exhaustive oracle for small
// histories of one key: it tries every order of the operations that
// respects real time (an operation that returned before another was called
// goes first), with every operation of unknown outcome either placed
// somewhere or left out, applying a model written separately from the
// checker's. It is exponential: keep histories under ten operations.
func bruteLinearizable(ops []Op, init State) bool {
	placed := make([]bool, len(ops))
	var try func(s State, left int) bool
	try = func(s State, left int) bool {
		if left == 0 {
			return true
		}
		for i, op := range ops {
			if placed[i] || !bruteMayGo(ops, placed, i) {
				continue
			}
			next, ok := bruteApply(s, op)
			if !ok {
				continue
			}
			placed[i] = true
			l := left
			if !op.Unknown() {
				l--
			}
			if try(next, l) {
				return true
			}
			placed[i] = false
		}
		return false
	}
	known := 0
	for _, op := range ops {
		if !op.Unknown() {
			known++
		}
	}
	return try(init, known)
}

// bruteMayGo reports whether ops[i] may be placed next: no operation not
// yet placed returned before it was called. (Unknown operations never
// return, so they never have to go first.)
func bruteMayGo(ops []Op, placed []bool, i int) bool {
	for j, o := range ops {
		if !placed[j] && j != i && !o.Unknown() && o.Return < ops[i].Call {
			return false
		}
	}
	return true
}

// bruteApply is the register model, written plainly: the state after op,
// and whether op's answer (if known) is what the register answers.
func bruteApply(s State, op Op) (State, bool) {
	var next State
	var code int
	var got string
	switch op.Kind {
	case Get:
		next = s
		if s.Exists {
			got = s.Value
		} else {
			code = CodeKeyNotFound
		}
	case Put:
		next = State{true, op.Value}
	case Create:
		if s.Exists {
			next, code = s, CodeNodeExist
		} else {
			next = State{true, op.Value}
		}
	case Update:
		if s.Exists {
			next = State{true, op.Value}
		} else {
			next, code = s, CodeKeyNotFound
		}
	case CompareAndSwap, CompareAndDelete:
		switch {
		case !s.Exists:
			next, code = s, CodeKeyNotFound
		case s.Value != op.Prev:
			next, code = s, CodeTestFailed
		case op.Kind == CompareAndSwap:
			next = State{true, op.Value}
		default:
			next = State{}
		}
	case Delete:
		if s.Exists {
			next = State{}
		} else {
			next, code = s, CodeKeyNotFound
		}
	}
	if op.Unknown() {
		return next, true
	}
	return next, code == op.Code && got == op.Got
}

// bruteEndStates returns every state the key can be left in by an order of
// ops (all the completed ones, any of the unknown ones) that ends with a
// completed operation (or is empty, when there is none), starting from
// init. Unknown operations after the last completed one are left out: a
// witness keeps them for the operations after its cut.
func bruteEndStates(ops []Op, init State) map[State]bool {
	ends := make(map[State]bool)
	placed := make([]bool, len(ops))
	known := 0
	for _, op := range ops {
		if !op.Unknown() {
			known++
		}
	}
	if known == 0 {
		ends[init] = true
		return ends
	}
	var try func(s State, left int)
	try = func(s State, left int) {
		for i, op := range ops {
			if placed[i] || !bruteMayGo(ops, placed, i) {
				continue
			}
			next, ok := bruteApply(s, op)
			if !ok {
				continue
			}
			l := left
			if !op.Unknown() {
				l--
			}
			if l == 0 {
				ends[next] = true
				continue
			}
			placed[i] = true
			try(next, l)
			placed[i] = false
		}
	}
	try(init, known)
	return ends
}
