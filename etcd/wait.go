package main

import (
	"sync"
	"sync/atomic"
	"time"

	"v2etcd/kv"
)

// idGenerator makes request IDs unique across the cluster and across
// restarts: the top 16 bits come from the member ID, the next 40 from the
// start time in milliseconds, and the low 8 bits (carrying into the time
// bits) count requests. Only the member that proposed a request waits for
// it, but every member applies it, so IDs of different members must never
// collide. A restarted member starts from its new start time, past every
// ID of earlier runs as long as those made fewer than 256 requests per
// millisecond of their life (256,000 per second, far more than a member can
// propose), so an entry replayed from the log never wakes a new client.
type idGenerator struct {
	next atomic.Uint64
}

func newIDGenerator(memberID uint64, now time.Time) *idGenerator {
	g := &idGenerator{}
	prefix := memberID << 48
	ms := uint64(now.UnixMilli()) & (1<<40 - 1)
	g.next.Store(prefix | ms<<8)
	return g
}

func (g *idGenerator) Next() uint64 { return g.next.Add(1) }

// result is what applying a proposed request produced.
type result struct {
	ev  *kv.Event
	err error
}

// waiters matches applied requests to the clients waiting for them. It is
// sharded so that many concurrent clients do not contend on one lock.
type waiters struct {
	shards [64]waiterShard
}

type waiterShard struct {
	mu sync.Mutex
	m  map[uint64]chan result
}

func newWaiters() *waiters {
	w := &waiters{}
	for i := range w.shards {
		w.shards[i].m = make(map[uint64]chan result)
	}
	return w
}

func (w *waiters) shard(id uint64) *waiterShard { return &w.shards[id%uint64(len(w.shards))] }

// Register returns the channel the result for id will arrive on.
func (w *waiters) Register(id uint64) <-chan result {
	ch := make(chan result, 1)
	s := w.shard(id)
	s.mu.Lock()
	s.m[id] = ch
	s.mu.Unlock()
	return ch
}

// Trigger delivers the result for id, if anyone still waits for it.
func (w *waiters) Trigger(id uint64, r result) {
	s := w.shard(id)
	s.mu.Lock()
	ch := s.m[id]
	delete(s.m, id)
	s.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// Cancel forgets id (the client gave up).
func (w *waiters) Cancel(id uint64) {
	s := w.shard(id)
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// Pending returns how many requests are waiting.
func (w *waiters) Pending() int {
	n := 0
	for i := range w.shards {
		s := &w.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// appliedWait lets goroutines wait until the applied index reaches a value.
type appliedWait struct {
	mu      sync.Mutex
	applied uint64
	waits   map[uint64][]chan struct{} // index -> waiters
}

func newAppliedWait(applied uint64) *appliedWait {
	return &appliedWait{applied: applied, waits: make(map[uint64][]chan struct{})}
}

// Wait returns a channel closed once the applied index is at least index.
func (a *appliedWait) Wait(index uint64) <-chan struct{} {
	ch := make(chan struct{})
	a.mu.Lock()
	defer a.mu.Unlock()
	if index <= a.applied {
		close(ch)
		return ch
	}
	a.waits[index] = append(a.waits[index], ch)
	return ch
}

// Applied returns the applied index.
func (a *appliedWait) Applied() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.applied
}

// Set records the applied index and wakes everyone waiting for it or less.
func (a *appliedWait) Set(index uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applied = index
	for i, chs := range a.waits {
		if i <= index {
			for _, ch := range chs {
				close(ch)
			}
			delete(a.waits, i)
		}
	}
}
