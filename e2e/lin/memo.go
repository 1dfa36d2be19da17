package lin

import "slices"

// memo is the set of configurations a search has reached. A configuration
// is the set of completed operations linearized, the state, and the set of
// unknown operations spent; it is grouped by the first two (whose hash
// the search keeps up to date), and within a group only the spent sets
// matter, a superset of one already there counting as already reached.
//
// The completed set is kept compact: operations are numbered in call
// order, and every operation called before the earliest one not yet
// linearized is linearized, while none called after that one's return
// can be; so the set is a number of full words (lo) and a window of words
// about as wide as the number of operations in flight at once. The sets
// are kept whole, so two configurations that share a hash are never
// confused.
type memo struct {
	spentWords int
	first      map[uint64]int32 // hash -> first group with it
	groups     []group
	window     []uint64 // the groups' windows, end to end
	spent      []uint64 // spent set e: spent[e*spentWords:]
	nextSpent  []int32  // per spent set: the next one of its group, or -1
}

// group is the configurations that share their completed set and state.
type group struct {
	lo         int32 // the number of full words before the window
	off, n     int32 // the window: window[off : off+n]
	state      int32
	next       int32 // the next group with the same hash, or -1
	firstSpent int32 // its first spent set
}

func newMemo(spentWords int) *memo {
	return &memo{spentWords: spentWords, first: make(map[uint64]int32)}
}

// add records the configuration (completed set lo+window, state, spent)
// under hash h, the hash of the completed set and state. It reports false
// if the configuration, or one with the same completed set and state and a
// subset of spent, was there already.
func (m *memo) add(h uint64, lo int, window []uint64, state int32, spent []uint64) bool {
	head, ok := m.first[h]
	if !ok {
		head = -1
	}
	g := head
	for ; g >= 0; g = m.groups[g].next {
		gr := &m.groups[g]
		if gr.state == state && int(gr.lo) == lo && slices.Equal(m.window[gr.off:gr.off+gr.n], window) {
			break
		}
	}
	if g < 0 {
		g = int32(len(m.groups))
		m.first[h] = g
		m.groups = append(m.groups, group{lo: int32(lo), off: int32(len(m.window)), n: int32(len(window)),
			state: state, next: head, firstSpent: -1})
		m.window = append(m.window, window...)
	}
	for e := m.groups[g].firstSpent; e >= 0; e = m.nextSpent[e] {
		if subset(m.spent[int(e)*m.spentWords:int(e+1)*m.spentWords], spent) {
			return false
		}
	}
	e := int32(len(m.nextSpent))
	m.nextSpent = append(m.nextSpent, m.groups[g].firstSpent)
	m.spent = append(m.spent, spent...)
	m.groups[g].firstSpent = e
	return true
}

// subset reports whether a ⊆ b.
func subset(a, b []uint64) bool {
	for i, w := range a {
		if w&^b[i] != 0 {
			return false
		}
	}
	return true
}

// mix64 is the finaliser of SplitMix64: a cheap, well-spread hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
