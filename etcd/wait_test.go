package main

import (
	"sync"
	"testing"
	"time"

	"v2etcd/kv"
)

func TestIDGeneratorUnique(t *testing.T) {
	now := time.Unix(1700000000, 0)
	a, b := newIDGenerator(0x8e9e05c52164694d, now), newIDGenerator(0x1234, now)
	seen := map[uint64]bool{}
	for i := 0; i < 10000; i++ {
		for _, id := range []uint64{a.Next(), b.Next()} {
			if seen[id] {
				t.Fatalf("duplicate id %x", id)
			}
			seen[id] = true
		}
	}
	// A run that made fewer than 256 requests per millisecond never reaches
	// the IDs of a run started later.
	first := newIDGenerator(0x8e9e05c52164694d, now)
	var last uint64
	for i := 0; i < 255; i++ {
		last = first.Next()
	}
	restarted := newIDGenerator(0x8e9e05c52164694d, now.Add(time.Millisecond))
	if id := restarted.Next(); id <= last {
		t.Errorf("restart reuses ids: first id %x, previous run reached %x", id, last)
	}
}

func TestWaiters(t *testing.T) {
	w := newWaiters()
	ch := w.Register(7)
	w.Trigger(8, result{}) // nobody waits: no effect
	ev := &kv.Event{Action: "set"}
	w.Trigger(7, result{ev: ev})
	if r := <-ch; r.ev != ev {
		t.Errorf("got %+v", r)
	}
	ch = w.Register(9)
	w.Cancel(9)
	w.Trigger(9, result{ev: ev})
	select {
	case r := <-ch:
		t.Errorf("cancelled waiter got %+v", r)
	default:
	}
	if n := w.Pending(); n != 0 {
		t.Errorf("pending = %d", n)
	}

	var wg sync.WaitGroup
	for i := uint64(0); i < 100; i++ {
		wg.Add(1)
		ch := w.Register(i)
		go func() {
			defer wg.Done()
			<-ch
		}()
	}
	for i := uint64(0); i < 100; i++ {
		w.Trigger(i, result{})
	}
	wg.Wait()
}

func TestAppliedWait(t *testing.T) {
	a := newAppliedWait(5)
	select {
	case <-a.Wait(5):
	default:
		t.Error("waiting for an applied index blocks")
	}
	c7, c9 := a.Wait(7), a.Wait(9)
	a.Set(8)
	select {
	case <-c7:
	default:
		t.Error("index 7 not released at 8")
	}
	select {
	case <-c9:
		t.Error("index 9 released at 8")
	default:
	}
	a.Set(9)
	<-c9
	if a.Applied() != 9 {
		t.Errorf("applied = %d", a.Applied())
	}
}

func TestApplyQueue(t *testing.T) {
	q := newApplyQueue()
	q.push(applyItem{})
	q.push(applyItem{})
	if items := q.take(); len(items) != 2 {
		t.Errorf("took %d items, want 2", len(items))
	}
	done := make(chan []applyItem)
	go func() { done <- q.take() }()
	q.close()
	if items := <-done; items != nil {
		t.Errorf("take after close = %v, want nil", items)
	}
}
