package lin

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
)

// A simulated linearizable register: clients issue operations one after
// another on random keys; each operation takes effect at a random moment
// inside its interval (its linearization point), and its answer is what
// the register holds at that moment. An operation whose outcome is lost
// takes effect (at any later time) or never, and its answer is dropped.
// Such histories are linearizable by construction.

type simConfig struct {
	clients  int
	keys     int
	ops      int     // per client
	values   int     // 0: every write has a value of its own; else values come from a pool this size
	lostRate float64 // the chance an operation's outcome is unknown
	maxDur   int64   // the longest operation
}

// scripted is an operation the test places itself: fixed key, inputs and
// times, a linearization point lin inside (Call, Return); its answer is
// computed like the others.
type scripted struct {
	op  Op
	lin int64
}

type pendingEffect struct {
	lin int64
	op  int
}

// simulate generates a history from a linearizable register, with the
// scripted operations mixed in; the scripted ones come first in the
// returned slice, in the order given.
func simulate(rng *rand.Rand, cfg simConfig, script ...scripted) []Op {
	var ops []Op
	var lin []int64   // per op: its linearization point
	var effect []bool // per op: whether it takes effect
	for _, s := range script {
		ops = append(ops, s.op)
		lin = append(lin, s.lin)
		effect = append(effect, true)
	}
	kinds := []Kind{Get, Get, Get, Get, Put, Put, CompareAndSwap, CompareAndSwap, Create, Update, Delete, CompareAndDelete}
	for c := range cfg.clients {
		t := rng.Int64N(cfg.maxDur)
		for range cfg.ops {
			dur := 2 + rng.Int64N(cfg.maxDur)
			op := Op{Client: c, Key: "k" + strconv.Itoa(rng.IntN(cfg.keys)), Kind: kinds[rng.IntN(len(kinds))], Call: t, Return: t + dur}
			l := t + 1 + rng.Int64N(dur-1)
			takes := true
			if rng.Float64() < cfg.lostRate {
				op.Return = Unknown
				l = t + 1 + rng.Int64N(10*cfg.maxDur)
				takes = rng.IntN(2) == 0
			}
			ops = append(ops, op)
			lin = append(lin, l)
			effect = append(effect, takes)
			t += dur + rng.Int64N(cfg.maxDur/2+1)
		}
	}
	// Choose inputs in call order, from the state of the register at the
	// call (effects with earlier points applied), so compares often match.
	state := make(map[string]State)
	byCall := seq(len(ops))
	slices.SortFunc(byCall, func(a, b int) int { return cmp.Or(cmp.Compare(ops[a].Call, ops[b].Call), cmp.Compare(a, b)) })
	var heap []pendingEffect // kept sorted by lin (small enough)
	apply := func(upTo int64) {
		for len(heap) > 0 && heap[0].lin <= upTo {
			e := heap[0]
			heap = heap[1:]
			op := &ops[e.op]
			next, code, got := simAnswer(state[op.Key], *op)
			state[op.Key] = next
			if !op.Unknown() {
				op.Code, op.Got = code, got
			}
		}
	}
	written := 0
	for _, i := range byCall {
		apply(ops[i].Call)
		op := &ops[i]
		if i >= len(script) {
			cur := state[op.Key]
			if op.Kind.writesValue() {
				if cfg.values == 0 {
					op.Value = fmt.Sprintf("c%d-%d", op.Client, written)
				} else {
					op.Value = "v" + strconv.Itoa(rng.IntN(cfg.values))
				}
				written++
			}
			if op.Kind.compares() {
				op.Prev = "v" + strconv.Itoa(rng.IntN(max(cfg.values, 2)))
				if cur.Exists && rng.IntN(3) > 0 {
					op.Prev = cur.Value
				}
			}
		}
		if effect[i] {
			e := pendingEffect{lin[i], i}
			at, _ := slices.BinarySearchFunc(heap, e, func(a, b pendingEffect) int {
				return cmp.Or(cmp.Compare(a.lin, b.lin), cmp.Compare(a.op, b.op))
			})
			heap = slices.Insert(heap, at, e)
		}
	}
	apply(Unknown)
	// A lost operation that never took effect answers nothing; one that
	// took effect had its answer dropped: both look the same.
	for i := range ops {
		if ops[i].Unknown() {
			ops[i].Code, ops[i].Got = 0, ""
		}
	}
	return ops
}

// simAnswer is the register: the state after op and its answer.
func simAnswer(s State, op Op) (State, int, string) {
	op.Return = Unknown // let bruteApply compute the effect without comparing answers
	next, _ := bruteApply(s, op)
	switch {
	case op.Kind == Get && s.Exists:
		return next, CodeOK, s.Value
	case op.Kind == Get:
		return next, CodeKeyNotFound, ""
	}
	code := CodeOK
	switch {
	case op.Kind == Create && s.Exists:
		code = CodeNodeExist
	case op.Kind == Update || op.Kind == Delete || op.Kind.compares():
		if !s.Exists {
			code = CodeKeyNotFound
		} else if op.Kind.compares() && s.Value != op.Prev {
			code = CodeTestFailed
		}
	}
	return next, code, ""
}
