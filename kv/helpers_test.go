package kv

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"testing"
	"time"
)

// testNow is the default clock of the tests.
func testNow() time.Time { return time.Date(2026, 11, 23, 20, 19, 0, 0, time.UTC) }

// at parses an RFC 3339 time as etcd prints it.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// result renders what Apply, Get or a watch returned, as the client would
// see it (without the trailing newline): the event or the error.
func result(t testing.TB, e *Event, err error, now time.Time) string {
	t.Helper()
	if err != nil {
		var kerr *Error
		if !errors.As(err, &kerr) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		if e != nil {
			t.Fatalf("both an event and an error")
		}
		return string(kerr.AppendJSON(nil))
	}
	if e == nil {
		return "<nil>"
	}
	return string(e.AppendJSON(nil, now))
}

// apply applies r and renders the result at time r.Time (or testNow).
func apply(t testing.TB, s *Store, r Request) string {
	t.Helper()
	e, err := s.Apply(&r)
	now := testNow()
	if r.Time != 0 {
		now = time.Unix(0, r.Time)
	}
	checkInvariants(t, s)
	return result(t, e, err, now)
}

// get reads path with AppendGet and checks that Get renders the same bytes.
func get(t testing.TB, s *Store, path string, recursive, sorted bool, now time.Time) string {
	t.Helper()
	before := s.Stats()
	b, index, err := s.AppendGet([]byte("prefix"), path, recursive, sorted, now)
	if !bytes.HasPrefix(b, []byte("prefix")) {
		t.Fatalf("AppendGet lost the buffer's contents")
	}
	b = b[len("prefix"):]
	if index != s.Index() {
		t.Fatalf("AppendGet index %d, store index %d", index, s.Index())
	}
	var got string
	if err != nil {
		if len(b) != 0 {
			t.Fatalf("AppendGet wrote %q with an error", b)
		}
		got = result(t, nil, err, now)
	} else {
		got = string(b)
	}
	e, gerr := s.Get(path, recursive, sorted)
	if alt := result(t, e, gerr, now); normalize(t, alt) != normalize(t, got) {
		t.Fatalf("Get and AppendGet differ:\n%s\n%s", alt, got)
	}
	after := s.Stats()
	if d := after.GetSuccess + after.GetFail - before.GetSuccess - before.GetFail; d != 2 {
		t.Fatalf("a Get and an AppendGet counted %d reads", d)
	}
	return got
}

// normalize returns JSON with every "nodes" array sorted by key (and
// object fields sorted by name), to compare listings made in map order.
func normalize(t testing.TB, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	var sortNodes func(v any)
	sortNodes = func(v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, x := range m {
			sortNodes(x)
		}
		if nodes, ok := m["nodes"].([]any); ok {
			for _, x := range nodes {
				sortNodes(x)
			}
			sort.Slice(nodes, func(i, j int) bool {
				ki, _ := nodes[i].(map[string]any)["key"].(string)
				kj, _ := nodes[j].(map[string]any)["key"].(string)
				return ki < kj
			})
		}
	}
	sortNodes(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// put and friends build requests on the user key space.
func put(key, value string) Request {
	return Request{Method: MethodPut, Path: "/1" + key, Val: value}
}

func mkdir(key string) Request {
	return Request{Method: MethodPut, Path: "/1" + key, Dir: true}
}

func del(key string) Request {
	return Request{Method: MethodDelete, Path: "/1" + key}
}

// withTTL gives r a deadline ttl after now, and now as its time.
func withTTL(r Request, now time.Time, ttl time.Duration) Request {
	r.Expiration = now.Add(ttl).UnixNano()
	r.Time = now.UnixNano()
	return r
}

func syncAt(now time.Time) Request {
	return Request{Method: MethodSync, Time: now.UnixNano()}
}

// next returns the next event of w, failing if none is ready.
func next(t testing.TB, w *Watcher) *Event {
	t.Helper()
	select {
	case e, ok := <-w.EventChan():
		if !ok {
			t.Fatalf("watcher channel closed")
		}
		return e
	default:
		t.Fatalf("no event ready for the watcher of %s", w.key)
		return nil
	}
}

// none fails if w has an event ready.
func none(t testing.TB, w *Watcher) {
	t.Helper()
	select {
	case e, ok := <-w.EventChan():
		if ok {
			t.Fatalf("unexpected event for %s: %s", w.key, e.AppendJSON(nil, testNow()))
		}
		t.Fatalf("watcher channel of %s closed", w.key)
	default:
	}
}

// checkInvariants verifies the store's internal consistency: the heap
// order and positions, that heap entries and TTL nodes match one to one,
// the history's consecutive indexes and the watcher count.
func checkInvariants(t testing.TB, s *Store) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := &s.ttl
	for i, e := range h.items {
		if e.pos != i {
			t.Fatalf("heap entry %d has pos %d", i, e.pos)
		}
		if i > 0 && h.less(i, (i-1)/2) {
			t.Fatalf("heap order broken at %d", i)
		}
		if e.n.ttl != e {
			t.Fatalf("heap entry for %s is not its node's", e.path)
		}
		if n, err := s.lookup(e.path); err != nil || n != e.n {
			t.Fatalf("heap entry for %s names a node not in the tree", e.path)
		}
	}
	if got := sumTree(s.root, rootPathHash); got != s.sum {
		t.Fatalf("kept hash sum %x, tree sums to %x", s.sum, got)
	}
	ttlNodes := 0
	var walk func(n *node)
	walk = func(n *node) {
		if n.ttl != nil {
			ttlNodes++
		}
		if !n.dir && n.children != nil {
			t.Fatalf("file with children")
		}
		if n.children != nil && len(n.children) == 0 {
			t.Fatalf("empty children map kept")
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(s.root)
	if ttlNodes != h.len() {
		t.Fatalf("%d nodes with a TTL, %d heap entries", ttlNodes, h.len())
	}
	for i := 1; i < s.history.len(); i++ {
		if s.history.at(i).Index() != s.history.at(i-1).Index()+1 {
			t.Fatalf("history not consecutive at %d", i)
		}
	}
	if s.history.len() > 0 && s.history.last() != s.index {
		t.Fatalf("history ends at %d, index is %d", s.history.last(), s.index)
	}
	s.hub.mu.Lock()
	count := 0
	for p, l := range s.hub.lists {
		if l.head == nil {
			t.Fatalf("empty watcher list kept for %s", p)
		}
		for w := l.head; w != nil; w = w.next {
			count++
			if w.list != l || w.key != p {
				t.Fatalf("watcher on the wrong list")
			}
		}
	}
	if count != s.hub.count {
		t.Fatalf("%d watchers listed, count says %d", count, s.hub.count)
	}
	s.hub.mu.Unlock()
}
