package kv

import (
	"slices"
	"strings"
	"time"
)

// lookup returns the node at the clean path p, or error 100 naming the
// first missing path, or 104 naming a file met on the way.
func (s *Store) lookup(p string) (*node, *Error) {
	n, code, cause := s.find(p)
	if code != 0 {
		return nil, NewError(code, cause, s.index)
	}
	return n, nil
}

// find is lookup without making the error: it returns the error's code (0
// for none) and cause.
func (s *Store) find(p string) (n *node, code int, cause string) {
	n = s.root
	for i := 1; i < len(p); {
		name, next := segment(p, i)
		if !n.dir {
			return nil, EcodeNotDir, p[:i-1]
		}
		c := n.children[name]
		if c == nil {
			return nil, EcodeKeyNotFound, p[:next-1]
		}
		n = c
		i = next
	}
	return n, 0, ""
}

// Get reads the node at path (spec §3.10.1): a file with its value, a
// directory with its visible children (its whole visible subtree when
// recursive), children sorted by key when sorted. It returns a "get" event
// whose EtcdIndex is the current index, or error 100 or 104. It counts in
// getsSuccess or getsFail. The event is a copy: it stays valid after later
// writes.
func (s *Store) Get(path string, recursive, sorted bool) (*Event, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, err := s.get(path, recursive, sorted)
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Store) get(p string, recursive, sorted bool) (*Event, *Error) {
	p = cleanPath(p)
	n, err := s.lookup(p)
	if err != nil {
		s.stats.inc(statGetFail)
		return nil, err
	}
	s.stats.inc(statGetSuccess)
	return &Event{
		Action:    ActionGet,
		Node:      load(n, p, true, recursive, sorted),
		EtcdIndex: s.index,
	}, nil
}

// load copies node n at key; list says whether to copy a directory's
// visible children, recursive whether they list theirs.
func load(n *node, key string, list, recursive, sorted bool) Node {
	out := n.repr(key)
	if !n.dir || !list || len(n.children) == 0 {
		return out
	}
	out.Nodes = make([]Node, 0, len(n.children))
	for name, c := range n.children {
		if isHiddenName(name) {
			continue
		}
		out.Nodes = append(out.Nodes, load(c, childKey(key, name), recursive, recursive, sorted))
	}
	if sorted {
		slices.SortFunc(out.Nodes, func(a, b Node) int { return strings.Compare(a.Key, b.Key) })
	}
	return out
}

// childKey is the path of child name of the directory at key.
func childKey(key, name string) string {
	if key == "/" {
		return "/" + name
	}
	return key + "/" + name
}

// AppendGet is Get rendered straight into b under the read lock, with no
// copy of the subtree: it appends the JSON of the get event (no trailing
// newline) with ttl fields counted from now, and returns the extended
// buffer and the current etcd index (the X-Etcd-Index). On error it returns
// b unchanged and the *Error. It counts in the statistics like Get.
func (s *Store) AppendGet(b []byte, path string, recursive, sorted bool, now time.Time) ([]byte, uint64, error) {
	p := cleanPath(path)
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.lookup(p)
	if err != nil {
		s.stats.inc(statGetFail)
		return b, s.index, err
	}
	s.stats.inc(statGetSuccess)
	b = append(b, `{"action":"get","node":`...)
	if !n.dir {
		// The common case, a file: no path to build.
		f := fieldWriter{b: append(b, '{'), first: true}
		nodeHead(&f, DisplayKey(p), n.value, true, false, n.expiration(), now.UnixNano())
		f.nodeTail(n.modified, n.created)
		return append(f.b, '}', '}'), s.index, nil
	}
	w := treeWriter{
		path:      append(make([]byte, 0, len(p)+64), p...),
		now:       now.UnixNano(),
		recursive: recursive,
		sorted:    sorted,
	}
	b = w.node(b, n, true)
	return append(b, '}'), s.index, nil
}

// treeWriter renders a node and its subtree from the tree itself. path
// holds the internal path of the node being written; children append their
// name to it and cut it back.
type treeWriter struct {
	path      []byte
	now       int64
	recursive bool
	sorted    bool
}

// node appends the JSON of n, whose path is in w.path, to b; list says
// whether to list a directory's children.
func (w *treeWriter) node(b []byte, n *node, list bool) []byte {
	f := fieldWriter{b: append(b, '{'), first: true}
	nodeHead(&f, displayKeyBytes(w.path), n.value, !n.dir, n.dir, n.expiration(), w.now)
	if n.dir && list && len(n.children) > 0 {
		w.nodes(&f, n)
	}
	f.nodeTail(n.modified, n.created)
	return append(f.b, '}')
}

// nodes adds the "nodes" field of directory n to f: its visible children,
// if it has any, listing theirs when the read is recursive.
func (w *treeWriter) nodes(f *fieldWriter, n *node) {
	pathLen := len(w.path)
	if pathLen > 1 { // below the root "/", children paths need a slash
		w.path = append(w.path, '/')
	}
	dirLen := len(w.path)
	count := 0
	child := func(name string, c *node) {
		if count == 0 {
			f.name("nodes")
			f.b = append(f.b, '[')
		} else {
			f.b = append(f.b, ',')
		}
		count++
		w.path = append(w.path[:dirLen], name...)
		f.b = w.node(f.b, c, w.recursive)
	}
	if w.sorted {
		names := make([]string, 0, len(n.children))
		for name := range n.children {
			if !isHiddenName(name) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			child(name, n.children[name])
		}
	} else {
		for name, c := range n.children {
			if !isHiddenName(name) {
				child(name, c)
			}
		}
	}
	if count > 0 {
		f.b = append(f.b, ']')
	}
	w.path = w.path[:pathLen]
}
