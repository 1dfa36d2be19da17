package lin

import (
	"cmp"
	"slices"
)

// list builds the list of completed operations' calls and returns in time
// order, and notes every operation's call position. At equal times a call
// comes before a return, so two operations that touch in time count as
// concurrent (the order of such clock readings proves nothing).
func (s *searcher) list() []node {
	type event struct {
		t   int64
		ret bool
		op  int32
	}
	ops := s.p.ops
	ev := make([]event, 0, 2*len(ops))
	for i, op := range ops {
		ev = append(ev, event{op.call, false, int32(i)}, event{op.ret, true, int32(i)})
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
	nodes := make([]node, len(ev)+1)
	ret := make([]int32, len(ops))
	last := int32(0)
	for k, e := range ev {
		n := int32(k + 1)
		nodes[n] = node{op: e.op, ret: e.ret}
		if e.ret {
			ret[e.op] = n
		} else {
			s.call[e.op] = n
		}
		if ops[e.op].known {
			nodes[n].prev, nodes[last].next = last, n
			last = n
		}
	}
	nodes[0].prev, nodes[last].next = last, 0
	for i := range ops {
		c, r := s.call[i], ret[i]
		nodes[c].match, nodes[r].match = r, c
	}
	return nodes
}

// lift takes a call node and its return node out of the list.
func lift(nodes []node, call int32) {
	unlink(nodes, call)
	unlink(nodes, nodes[call].match)
}

// unlift puts back what lift took out; lifts are undone in reverse order,
// so the neighbours each node remembers are the right ones again.
func unlift(nodes []node, call int32) {
	relink(nodes, nodes[call].match)
	relink(nodes, call)
}

func unlink(nodes []node, n int32) {
	nodes[nodes[n].prev].next = nodes[n].next
	nodes[nodes[n].next].prev = nodes[n].prev
}

func relink(nodes []node, n int32) {
	nodes[nodes[n].prev].next = n
	nodes[nodes[n].next].prev = n
}
