package kv

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Store is the v2 key space: the tree, its etcd index, the TTL heap, the
// event history, the watchers and the statistics. Apply (one goroutine)
// changes it; Get, AppendGet, Watch, Stats, Index, Save and Hash may run
// concurrently with Apply and with each other.
type Store struct {
	mu      sync.RWMutex // Apply and Recover hold it for writing, readers for reading
	root    *node
	index   uint64
	ttl     ttlHeap
	history history
	stats   counters
	hub     hub
	sum     uint64 // the sum of the hashes of all nodes, see Hash
	nodes   int    // nodes in the tree, the root and /0, /1, /2 not counted
}

// namespaceDirs are the top-level directories every store has: cluster
// data, the user key space and auth data.
var namespaceDirs = [...]string{"0", "1", "2"}

// Nodes returns how many keys and directories the store holds, the
// top-level /0, /1 and /2 not counted (for the server's metrics).
func (s *Store) Nodes() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nodes
}

// New returns an empty store at index 0, holding only the directories /0,
// /1 and /2.
func New() *Store {
	s := &Store{root: newTree()}
	s.sum = sumTree(s.root, rootPathHash)
	return s
}

// newTree returns the tree of a new store: the root and its top-level
// directories /0 (the cluster's membership and version), /1 (the user key
// space, /v2/keys) and /2 (the v2 auth data), made at index 0 and read only.
func newTree() *node {
	root := newDir(0)
	for _, name := range namespaceDirs {
		root.addChild(name, newDir(0))
	}
	return root
}

// isReadOnly reports whether a clean path is the root or one of its three
// top-level directories, which no write may change.
func isReadOnly(p string) bool {
	return p == "/" || p == "/0" || p == "/1" || p == "/2"
}

// Index returns the store's current etcd index: the index of the last
// mutation, the X-Etcd-Index of reads.
func (s *Store) Index() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index
}

// Apply carries out one replicated request and returns its event, or an
// *Error for a store error (spec §3.5):
//
//	POST                                  create in order (Create, unique name)
//	PUT   prevExist=true, no conditions   update
//	PUT   prevExist=true, prevValue/Index compare-and-swap
//	PUT   prevExist=false                 create
//	PUT   prevValue or prevIndex>0        compare-and-swap
//	PUT   otherwise                       set
//	DELETE prevValue or prevIndex>0       compare-and-delete
//	DELETE otherwise                      delete (dir, recursive)
//	QGET                                  get (recursive, sorted)
//	SYNC                                  expire every node with a deadline <= Time
//
// SYNC returns a nil event and a nil error. A request with an unknown method
// returns a plain error. Apply reads no clock and no randomness: the same
// requests in the same order give the same state, events and errors on
// every member.
func (s *Store) Apply(r *Request) (*Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var e *Event
	var err *Error
	switch r.Method {
	case MethodPost:
		e, err = s.create(r.Path, r.Dir, r.Val, true, deadlineOf(r.Expiration), r.Time)
	case MethodPut:
		conditional := r.PrevValue != "" || r.PrevIndex > 0
		switch {
		case r.PrevExist == PrevExistTrue && !conditional:
			e, err = s.update(r.Path, r.Val, r.Refresh, deadlineOf(r.Expiration), r.Time)
		case r.PrevExist == PrevExistFalse:
			e, err = s.create(r.Path, r.Dir, r.Val, false, deadlineOf(r.Expiration), r.Time)
		case conditional:
			e, err = s.compareAndSwap(r.Path, r.PrevValue, r.PrevIndex, r.Val, r.Refresh, deadlineOf(r.Expiration), r.Time)
		default:
			e, err = s.set(r.Path, r.Dir, r.Val, r.Refresh, deadlineOf(r.Expiration), r.Time)
		}
	case MethodDelete:
		if r.PrevValue != "" || r.PrevIndex > 0 {
			e, err = s.compareAndDelete(r.Path, r.PrevValue, r.PrevIndex, r.Time)
		} else {
			e, err = s.delete(r.Path, r.Dir, r.Recursive, r.Time)
		}
	case MethodQGet:
		e, err = s.get(r.Path, r.Recursive, r.Sorted)
		if e != nil {
			e.time = r.Time
		}
	case MethodSync:
		s.expire(r.Time)
		return nil, nil
	default:
		return nil, fmt.Errorf("kv: unknown method %v", r.Method)
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// The statistics counters, in /v2/stats/store order.
const (
	statGetSuccess = iota
	statGetFail
	statSetSuccess
	statSetFail
	statDeleteSuccess
	statDeleteFail
	statUpdateSuccess
	statUpdateFail
	statCreateSuccess
	statCreateFail
	statCompareAndSwapSuccess
	statCompareAndSwapFail
	statCompareAndDeleteSuccess
	statCompareAndDeleteFail
	statExpireCount
	numStats
)

// counters are atomic because reads count on many goroutines at once.
type counters [numStats]atomic.Uint64

func (c *counters) inc(i int) { c[i].Add(1) }

// count adds one to the success counter when ok, else to the fail counter
// that follows it.
func (c *counters) count(success int, ok bool) {
	if ok {
		c.inc(success)
	} else {
		c.inc(success + 1)
	}
}

// Stats are the store's counters as /v2/stats/store shows them (spec §7.3).
type Stats struct {
	GetSuccess              uint64
	GetFail                 uint64
	SetSuccess              uint64
	SetFail                 uint64
	DeleteSuccess           uint64
	DeleteFail              uint64
	UpdateSuccess           uint64
	UpdateFail              uint64
	CreateSuccess           uint64
	CreateFail              uint64
	CompareAndSwapSuccess   uint64
	CompareAndSwapFail      uint64
	CompareAndDeleteSuccess uint64
	CompareAndDeleteFail    uint64
	ExpireCount             uint64
	Watchers                uint64 // watchers registered now
}

// Stats returns the current statistics.
func (s *Store) Stats() Stats {
	s.hub.mu.Lock()
	watchers := s.hub.count
	s.hub.mu.Unlock()
	c := &s.stats
	return Stats{
		GetSuccess:              c[statGetSuccess].Load(),
		GetFail:                 c[statGetFail].Load(),
		SetSuccess:              c[statSetSuccess].Load(),
		SetFail:                 c[statSetFail].Load(),
		DeleteSuccess:           c[statDeleteSuccess].Load(),
		DeleteFail:              c[statDeleteFail].Load(),
		UpdateSuccess:           c[statUpdateSuccess].Load(),
		UpdateFail:              c[statUpdateFail].Load(),
		CreateSuccess:           c[statCreateSuccess].Load(),
		CreateFail:              c[statCreateFail].Load(),
		CompareAndSwapSuccess:   c[statCompareAndSwapSuccess].Load(),
		CompareAndSwapFail:      c[statCompareAndSwapFail].Load(),
		CompareAndDeleteSuccess: c[statCompareAndDeleteSuccess].Load(),
		CompareAndDeleteFail:    c[statCompareAndDeleteFail].Load(),
		ExpireCount:             c[statExpireCount].Load(),
		Watchers:                uint64(watchers),
	}
}
