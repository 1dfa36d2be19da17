package kv

import "math/bits"

// Hash returns a 64-bit digest of the store's content: the index and every
// node's path, kind, value, indexes and deadline. Two stores that applied
// the same requests (or recovered from snapshots of such stores) have the
// same hash on every machine and every run; it does not cover the history,
// statistics or watchers. It costs nothing: the store keeps the sum up to
// date as it changes.
//
// Each node is hashed on its own and the node hashes are added up, so that
// a write only subtracts the old hashes of the nodes it changes or removes
// and adds the new ones. A node's path enters its hash through a running
// hash of the path, extended segment by segment from the root, so no path
// is built.
func (s *Store) Hash() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return mix64(s.sum + mix64(s.index^hashSeed))
}

// sumTree returns the sum of the hashes of n, at the path whose running
// hash is path, and of every node below it: what Recover starts from.
func sumTree(n *node, path uint64) uint64 {
	sum := hashNode(path, n)
	for name, c := range n.children {
		sum += sumTree(c, childPathHash(path, name))
	}
	return sum
}

const (
	hashSeed  = 0x9e3779b97f4a7c15
	hashPrime = 0x100000001b3 // FNV's 64-bit prime
)

// rootPathHash is the running hash of the root's path.
const rootPathHash = hashSeed

// childPathHash extends the running hash of a directory's path to its
// child called name.
func childPathHash(dir uint64, name string) uint64 {
	return hashString(hashWord(dir, '/'), name)
}

// pathHash returns the running hash of the clean path p.
func pathHash(p string) uint64 {
	h := uint64(rootPathHash)
	for i := 1; i < len(p); {
		name, next := segment(p, i)
		h = childPathHash(h, name)
		i = next
	}
	return h
}

// hashWord folds one 64-bit word into the running hash h.
func hashWord(h, w uint64) uint64 {
	h = (h ^ w) * hashPrime
	return bits.RotateLeft64(h, 29)
}

// hashString folds s into h eight bytes at a time, then its length.
func hashString(h uint64, s string) uint64 {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		h = hashWord(h, uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56)
	}
	var tail uint64
	for j := i; j < len(s); j++ {
		tail |= uint64(s[j]) << (8 * (j - i))
	}
	return hashWord(hashWord(h, tail), uint64(len(s)))
}

// hashNode hashes one node, given the running hash of its path.
func hashNode(path uint64, n *node) uint64 {
	h := hashWord(path, 0)
	if n.dir {
		h = hashWord(h, 1)
	} else {
		h = hashString(hashWord(h, 2), n.value)
	}
	h = hashWord(h, n.created)
	h = hashWord(h, n.modified)
	h = hashWord(h, uint64(n.expiration()))
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
