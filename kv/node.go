package kv

import (
	"path"
	"strings"
)

// node is one file or directory of the tree. It is kept small because the
// store holds millions of them: it does not know its own name or path (its
// parent's children map holds the name; paths are built while walking down
// from the root), a directory's children map is made on its first child,
// and a node without TTL carries only a nil ttl pointer.
type node struct {
	value    string           // files only
	children map[string]*node // directories only; nil while empty
	ttl      *ttlEntry        // nil for a permanent node
	created  uint64
	modified uint64
	dir      bool
}

func newDir(index uint64) *node { return &node{dir: true, created: index, modified: index} }

// addChild makes c the child called name. The name is copied: it is
// usually a piece of a longer path, which it must not keep alive.
func (n *node) addChild(name string, c *node) {
	if n.children == nil {
		n.children = make(map[string]*node)
	}
	n.children[strings.Clone(name)] = c
}

// expiration is the node's deadline in Unix nanoseconds, 0 if permanent.
func (n *node) expiration() int64 {
	if n.ttl == nil {
		return 0
	}
	return n.ttl.deadline
}

// repr returns the node as a write event shows it: a directory without its
// children, a file with its value.
func (n *node) repr(key string) Node {
	return Node{
		Key:           key,
		Value:         n.value,
		Dir:           n.dir,
		Expiration:    n.expiration(),
		ModifiedIndex: n.modified,
		CreatedIndex:  n.created,
	}
}

// cleanPath turns any path into the clean absolute form every store path
// has: a leading slash, no empty, "." or ".." segments, no trailing slash
// (etcd's path.Clean(path.Join("/", p))). A clean path is returned as is,
// without allocating.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	return path.Clean(p)
}

// segment returns the path segment of p that starts at i (just after a
// slash) and the index where the next one starts (len(p)+1 after the last).
func segment(p string, i int) (name string, next int) {
	j := strings.IndexByte(p[i:], '/')
	if j < 0 {
		return p[i:], len(p) + 1
	}
	return p[i : i+j], i + j + 1
}

// splitPath splits a clean path other than "/" into its parent directory's
// path and its last segment: "/1/a/b" gives "/1/a" and "b"; "/x" gives "/"
// and "x".
func splitPath(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/", p[1:]
	}
	return p[:i], p[i+1:]
}
