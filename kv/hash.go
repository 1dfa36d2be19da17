package kv

import "encoding/binary"

// Hash returns a 64-bit digest of the store's content: the index and every
// node's path, kind, value, indexes and deadline. Two stores that applied
// the same requests (or recovered from snapshots of such stores) have the
// same hash on every machine; it does not cover the history, statistics or
// watchers. It costs one walk of the tree, under the read lock.
//
// Each node is hashed on its own (FNV-1a, then a mixing step) and the node
// hashes are added up, so the walk may visit children in any order.
func (s *Store) Hash() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sum := mix64(s.index ^ 0x9e3779b97f4a7c15)
	path := make([]byte, 0, 256)
	var walk func(n *node)
	walk = func(n *node) {
		sum += hashNode(path, n)
		if len(n.children) == 0 {
			return
		}
		pathLen := len(path)
		path = append(path, '/')
		for name, c := range n.children {
			path = append(path[:pathLen+1], name...)
			walk(c)
		}
		path = path[:pathLen]
	}
	walk(s.root)
	return mix64(sum)
}

func hashNode(path []byte, n *node) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	add := func(p []byte) {
		for _, c := range p {
			h ^= uint64(c)
			h *= prime
		}
	}
	var buf [3*binary.MaxVarintLen64 + 2]byte
	add(path)
	nums := buf[:0]
	nums = append(nums, 0)
	if n.dir {
		nums = append(nums, 1)
	} else {
		nums = append(nums, 2)
	}
	nums = binary.AppendUvarint(nums, n.created)
	nums = binary.AppendUvarint(nums, n.modified)
	nums = binary.AppendVarint(nums, n.expiration())
	add(nums)
	for i := 0; i < len(n.value); i++ {
		h ^= uint64(n.value[i])
		h *= prime
	}
	return mix64(h)
}

// mix64 is the splitmix64 finalizer: it spreads every input bit over the
// output, so that sums of node hashes do not cancel out.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
