package kv

// ttlEntry is the TTL of one node: its deadline and its place in the
// store's heap of deadlines. Only nodes with a TTL have one.
type ttlEntry struct {
	deadline int64  // Unix nanoseconds
	seq      uint64 // the index of the write that set the deadline
	path     string // the node's full path, for the expire event
	n        *node
	pos      int // index in the heap
}

// ttlHeap is a binary min-heap of TTL entries ordered by deadline, then by
// seq. The second key makes the expiry order of equal deadlines the same on
// every member and after a snapshot is recovered: it is the index of the
// write that set the deadline, and no two writes share one.
type ttlHeap struct {
	items []*ttlEntry
}

func (h *ttlHeap) len() int { return len(h.items) }

func (h *ttlHeap) less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.deadline != b.deadline {
		return a.deadline < b.deadline
	}
	return a.seq < b.seq
}

func (h *ttlHeap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].pos = i
	h.items[j].pos = j
}

func (h *ttlHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *ttlHeap) down(i int) {
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		least := l
		if r := l + 1; r < n && h.less(r, l) {
			least = r
		}
		if !h.less(least, i) {
			return
		}
		h.swap(i, least)
		i = least
	}
}

// top returns the entry with the earliest deadline, or nil.
func (h *ttlHeap) top() *ttlEntry {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *ttlHeap) push(e *ttlEntry) {
	e.pos = len(h.items)
	h.items = append(h.items, e)
	h.up(e.pos)
}

func (h *ttlHeap) remove(e *ttlEntry) {
	i := e.pos
	last := len(h.items) - 1
	if i != last {
		h.swap(i, last)
	}
	h.items[last] = nil
	h.items = h.items[:last]
	if i != last {
		h.down(i)
		h.up(i)
	}
	e.pos = -1
}

// fix restores the heap order after e's deadline changed.
func (h *ttlHeap) fix(e *ttlEntry) {
	h.down(e.pos)
	h.up(e.pos)
}

// setTTL gives n (at path p) the deadline, or makes it permanent when
// deadline is 0, keeping the heap in step. seq is the index of the write.
func (s *Store) setTTL(n *node, p string, deadline int64, seq uint64) {
	switch {
	case n.ttl == nil && deadline == 0:
	case n.ttl == nil:
		n.ttl = &ttlEntry{deadline: deadline, seq: seq, path: p, n: n}
		s.ttl.push(n.ttl)
	case deadline == 0:
		s.ttl.remove(n.ttl)
		n.ttl = nil
	default:
		n.ttl.deadline = deadline
		n.ttl.seq = seq
		s.ttl.fix(n.ttl)
	}
}

// minExpiration is 2000-01-01T00:00:00Z in Unix nanoseconds: etcd treats
// any earlier deadline as "no TTL".
const minExpiration = 946684800 * 1e9

// deadlineOf returns a request's Expiration as a deadline, 0 for none.
func deadlineOf(expiration int64) int64 {
	if expiration < minExpiration {
		return 0
	}
	return expiration
}
