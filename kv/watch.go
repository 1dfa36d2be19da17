package kv

import (
	"strings"
	"sync"
)

// watcherBuffer is how many undelivered events a watcher holds. When it is
// full the watcher is dropped: Apply never waits for a watcher.
const watcherBuffer = 100

// Watcher is one registered watch. Its events arrive on EventChan. A
// non-stream watcher gets at most one event; a stream watcher gets every
// matching event until it is removed or dropped.
type Watcher struct {
	c     chan *Event
	hub   *hub
	key   string // the watched path
	start uint64 // the store's index when the watch was made
	since uint64 // the first index the watcher wants

	recursive bool
	stream    bool

	// Guarded by hub.mu.
	list       *watchList // nil when not registered
	prev, next *Watcher
	closed     bool
}

// EventChan returns the channel the watcher's events arrive on. It has room
// for 100 events. It is closed when the watcher is removed, and when a
// stream watcher falls 100 events behind and is dropped (its buffered
// events can still be read). It is not closed after the one event of a
// non-stream watcher, nor after the history event that answers a stream
// watch from the past (that watch then stays silent, as etcd's does).
func (w *Watcher) EventChan() <-chan *Event { return w.c }

// StartIndex is the store's etcd index when the watch was made: the
// X-Etcd-Index of a watch response (spec §4.7).
func (w *Watcher) StartIndex() uint64 { return w.start }

// Remove unregisters the watcher and closes its channel, at once. It may be
// called any number of times, from any goroutine.
func (w *Watcher) Remove() {
	h := w.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unlink(w)
	h.close(w)
}

// watchList is the list of watchers of one path, in registration order.
type watchList struct {
	head, tail *Watcher
}

// hub holds the registered watchers by watched path. Its mutex guards the
// lists and every watcher's registration state; Apply takes it (while
// holding the store's write lock) to deliver events, Watch (under the
// store's read lock) to register, Remove alone.
type hub struct {
	mu    sync.Mutex
	lists map[string]*watchList
	count int
}

func (h *hub) register(w *Watcher) {
	if h.lists == nil {
		h.lists = make(map[string]*watchList)
	}
	l := h.lists[w.key]
	if l == nil {
		l = &watchList{}
		h.lists[w.key] = l
	}
	w.list = l
	w.prev = l.tail
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	h.count++
}

// unlink removes w from its list, if it is on one.
func (h *hub) unlink(w *Watcher) {
	l := w.list
	if l == nil {
		return
	}
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.list, w.prev, w.next = nil, nil, nil
	if l.head == nil {
		delete(h.lists, w.key)
	}
	h.count--
}

func (h *hub) close(w *Watcher) {
	if !w.closed {
		w.closed = true
		close(w.c)
	}
}

// recovered re-examines every registered watcher after Recover replaced
// the store: the snapshot may hold events at or after the index a watcher
// waits from, which were never offered to it (it was registered on a
// member that was behind). scan looks for the watcher's event in the new
// history, as a new watch would:
//
//   - no event: nothing was missed, the watcher stays registered;
//   - an event, for a non-stream watcher: it gets that event, as a watch
//     made now would, and is unregistered;
//   - an event, for a stream watcher, or error 401 (the index it waits
//     from left the history): it is dropped, its channel closed, so that
//     its client watches again and gets the events from the history, or
//     the 401, instead of waiting for events that already happened.
//
// The caller holds h.mu.
func (h *hub) recovered(scan func(w *Watcher) (*Event, *Error)) {
	for _, l := range h.lists {
		for w := l.head; w != nil; {
			next := w.next
			e, err := scan(w)
			switch {
			case err == nil && e == nil:
			case err == nil && !w.stream:
				select {
				case w.c <- e: // a registered non-stream watcher has had no event
					h.unlink(w)
				default:
					h.unlink(w)
					h.close(w)
				}
			default:
				h.unlink(w)
				h.close(w)
			}
			w = next
		}
	}
}

// notifyPath offers e to the watchers of path p (spec §4.3, live rules):
//
//   - an event exactly at p reaches every watcher of p;
//   - an event below p reaches the recursive watchers of p, unless the part
//     of its key below p has a hidden segment;
//   - deleted says p is a node that the event removed (a deleted or expired
//     directory's descendant, or the node itself): then every watcher of p
//     gets it, recursive or not;
//
// and always only watchers waiting for this index or an earlier one. A
// non-stream watcher is unregistered once it has its event; a watcher whose
// buffer is full is dropped and its channel closed.
func (h *hub) notifyPath(p string, e *Event, deleted bool) {
	l := h.lists[p]
	if l == nil {
		return
	}
	key := e.Node.Key
	exact := key == p
	if !exact && isHiddenBelow(p, key) {
		return
	}
	for w := l.head; w != nil; {
		next := w.next
		if (w.recursive || exact || deleted) && e.Index() >= w.since {
			select {
			case w.c <- e:
				if !w.stream {
					h.unlink(w)
				}
			default:
				h.unlink(w)
				h.close(w)
			}
		}
		w = next
	}
}

// notifyAncestors offers e to the watchers of every path from the root down
// to the event's key: "/", "/1", "/1/a", "/1/a/b" for /1/a/b.
func (h *hub) notifyAncestors(e *Event) {
	key := e.Node.Key
	h.notifyPath("/", e, false)
	for i := 1; i < len(key); i++ {
		if key[i] == '/' {
			h.notifyPath(key[:i], e, false)
		}
	}
	if len(key) > 1 {
		h.notifyPath(key, e, false)
	}
}

// notifyRemoved offers e, with deleted set, to the watchers of p and of
// every path below p where the removed subtree n had a node: a watch on a
// node that existed hears of its ancestor's delete or expiry, a watch on a
// path that did not exist does not (spec §4.3).
func (h *hub) notifyRemoved(p string, n *node, e *Event) {
	if !n.dir {
		h.notifyPath(p, e, true)
		return
	}
	// Walk the watched paths, not the subtree, which may be far larger.
	for w := range h.lists {
		if w == p {
			h.notifyPath(w, e, true)
		} else if rel, ok := below(p, w); ok && hasPath(n, rel) {
			h.notifyPath(w, e, true)
		}
	}
}

// below returns the part of path w below the directory p ("b/c" for p "/a"
// and w "/a/b/c") and whether w is below p at all.
func below(p, w string) (string, bool) {
	if p == "/" {
		return w[1:], len(w) > 1
	}
	if len(w) > len(p)+1 && w[len(p)] == '/' && w[:len(p)] == p {
		return w[len(p)+1:], true
	}
	return "", false
}

// hasPath reports whether rel, a relative path like "a/b", names a node
// below n.
func hasPath(n *node, rel string) bool {
	for i := 0; i <= len(rel); {
		name, next := segment(rel, i)
		if !n.dir {
			return false
		}
		n = n.children[name]
		if n == nil {
			return false
		}
		i = next
	}
	return true
}

// isHiddenBelow reports whether key, a path below the watched path p, has a
// hidden segment below p: a recursive watch on /a does not hear of /a/_b or
// /a/_b/c, but a watch on /_a hears of /_a/b.
func isHiddenBelow(p, key string) bool {
	if len(p) > len(key) {
		return false
	}
	rest := key[len(p):]
	if p == "/" {
		rest = key
	}
	return strings.Contains(rest, "/_")
}

// Watch starts a watch on path (spec §4), which need not exist. waitIndex is
// the first index of interest; 0 means the next one. When the history holds
// a matching event at or after waitIndex, the watcher comes back with that
// event already in its channel and is not registered (for a stream too).
// When waitIndex is older than the history, Watch fails with error 401,
// whose index is the current one. Otherwise the watcher is registered and
// counted in the watchers statistic until it fires (non-stream), is removed
// or is dropped.
func (s *Store) Watch(path string, recursive, stream bool, waitIndex uint64) (*Watcher, error) {
	path = cleanPath(path)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if waitIndex == 0 {
		waitIndex = s.index + 1
	}
	e, err := s.history.scan(path, recursive, waitIndex, s.index)
	if err != nil {
		return nil, err
	}
	w := &Watcher{
		c:         make(chan *Event, watcherBuffer),
		hub:       &s.hub,
		key:       path,
		start:     s.index,
		since:     waitIndex,
		recursive: recursive,
		stream:    stream,
	}
	if e != nil {
		w.c <- e
		return w, nil
	}
	s.hub.mu.Lock()
	s.hub.register(w)
	s.hub.mu.Unlock()
	return w, nil
}
