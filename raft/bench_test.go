package raft

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkCommit measures proposals committed per second through a
// three-member cluster in memory: 128-byte entries, no disk, every member
// running its own Ready loop (persist nothing, send, apply, Advance) once per
// round, and messages handed over as values. Like a server, each member
// registers a snapshot every 10,000 applied entries (etcd's default
// --snapshot-count), so its log stays bounded. One benchmark operation is
// one committed entry, so allocs/op is allocations per committed entry.
//
// batch is how many proposals the leader takes between two of its Readys;
// window bounds the entries proposed but not yet committed. With
// encode=true every message goes through Marshal and Unmarshal, as it
// would over a real transport.
func BenchmarkCommit(b *testing.B) {
	for _, bc := range []struct {
		batch  int
		encode bool
	}{
		{1, false}, {16, false}, {256, false}, {1024, false}, {256, true},
	} {
		b.Run(fmt.Sprintf("batch=%d/encode=%v", bc.batch, bc.encode), func(b *testing.B) {
			benchmarkCommit(b, bc.batch, 4*bc.batch, bc.encode)
		})
	}
}

func benchmarkCommit(b *testing.B, batch, window int, encode bool) {
	const snapshotEvery = 10000
	ids := []uint64{1, 2, 3}
	members := make([]*Raft, len(ids))
	for i, id := range ids {
		r, err := New(Config{ID: id, Peers: ids, MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256})
		if err != nil {
			b.Fatal(err)
		}
		members[i] = r
	}
	inbox := make([][]Message, len(ids))
	var committed int
	round := func() {
		for i, r := range members {
			if !r.HasReady() {
				continue
			}
			rd := r.Ready()
			for _, m := range rd.Messages {
				if encode {
					var dec Message
					if err := dec.Unmarshal(m.Marshal()); err != nil {
						b.Fatal(err)
					}
					m = dec
				}
				inbox[m.To-1] = append(inbox[m.To-1], m)
			}
			if i == 0 {
				for _, e := range rd.CommittedEntries {
					if len(e.Data) > 0 {
						committed++
					}
				}
			}
			r.Advance(rd)
			if applied := r.log.applied; applied >= r.snapshot.Index+snapshotEvery {
				term, _ := r.log.term(applied)
				if err := r.Compact(SnapshotMetadata{Index: applied, Term: term, ConfState: r.ConfState()}); err != nil {
					b.Fatal(err)
				}
			}
		}
		for i, r := range members {
			for _, m := range inbox[i] {
				if err := r.Step(m); err != nil {
					b.Fatal(err)
				}
			}
			inbox[i] = inbox[i][:0]
		}
	}
	round() // apply the bootstrap entries: a member does not campaign before
	leader := members[0]
	leader.step(Message{Type: MsgHup, From: 1})
	for i := 0; leader.role != Leader || leader.log.committed < leader.log.lastIndex(); i++ {
		if i > 100 {
			b.Fatalf("no leader: %+v", leader.Status())
		}
		round()
	}
	data := make([]byte, 128)
	proposed := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	measure := startMeasure()
	for committed < b.N {
		for n := 0; n < batch && proposed < b.N && proposed-committed < window; n++ {
			if err := leader.Propose(data); err != nil {
				b.Fatal(err)
			}
			proposed++
		}
		round()
	}
	measure.report(b)
}

// measure reports entries per second and allocations per entry with more
// precision than allocs/op, which rounds to an integer.
type measure struct {
	start   time.Time
	mallocs uint64
}

func startMeasure() measure {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return measure{start: time.Now(), mallocs: ms.Mallocs}
}

func (m measure) report(b *testing.B) {
	elapsed := time.Since(m.start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(ms.Mallocs-m.mallocs)/float64(b.N), "allocs/entry")
}

// BenchmarkCommitConcurrent is BenchmarkCommit with each member's Ready
// loop in its own goroutine, as in a server, and messages passed through
// mailboxes. The leader's loop proposes up to batch entries per iteration.
func BenchmarkCommitConcurrent(b *testing.B) {
	for _, batch := range []int{16, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			benchmarkCommitConcurrent(b, batch, 4*batch)
		})
	}
}

// mailbox is an unbounded queue of messages for one member.
type mailbox struct {
	mu     sync.Mutex
	msgs   []Message
	signal chan struct{}
}

func (mb *mailbox) put(m Message) {
	mb.mu.Lock()
	mb.msgs = append(mb.msgs, m)
	mb.mu.Unlock()
	select {
	case mb.signal <- struct{}{}:
	default:
	}
}

func (mb *mailbox) take(buf []Message) []Message {
	mb.mu.Lock()
	buf, mb.msgs = mb.msgs, buf[:0]
	mb.mu.Unlock()
	return buf
}

func benchmarkCommitConcurrent(b *testing.B, batch, window int) {
	const snapshotEvery = 10000
	ids := []uint64{1, 2, 3}
	members := make([]*Raft, len(ids))
	boxes := make([]*mailbox, len(ids))
	for i, id := range ids {
		r, err := New(Config{ID: id, Peers: ids})
		if err != nil {
			b.Fatal(err)
		}
		members[i] = r
		boxes[i] = &mailbox{signal: make(chan struct{}, 1)}
	}
	// One member's loop iteration: step what arrived, then carry out a Ready.
	step := func(i int, in []Message) (committed int) {
		r := members[i]
		for _, m := range in {
			if err := r.Step(m); err != nil {
				panic(err)
			}
		}
		if !r.HasReady() {
			return 0
		}
		rd := r.Ready()
		for _, m := range rd.Messages {
			boxes[m.To-1].put(m)
		}
		for _, e := range rd.CommittedEntries {
			if len(e.Data) > 0 {
				committed++
			}
		}
		r.Advance(rd)
		if applied := r.log.applied; applied >= r.snapshot.Index+snapshotEvery {
			term, _ := r.log.term(applied)
			if err := r.Compact(SnapshotMetadata{Index: applied, Term: term, ConfState: r.ConfState()}); err != nil {
				panic(err)
			}
		}
		return committed
	}
	// Elect member 1 before the clock starts.
	for i := range members {
		step(i, nil)
	}
	members[0].step(Message{Type: MsgHup, From: 1})
	for k := 0; members[0].role != Leader || members[0].log.committed < members[0].log.lastIndex(); k++ {
		if k > 100 {
			b.Fatal("no leader")
		}
		for i := range members {
			step(i, boxes[i].take(nil))
		}
	}

	data := make([]byte, 128)
	done := make(chan struct{})
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	measure := startMeasure()
	for i := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var in []Message
			proposed, committed := 0, 0
			for {
				canPropose := i == 0 && proposed < b.N && proposed-committed < window
				for n := 0; canPropose && n < batch && proposed < b.N && proposed-committed < window; n++ {
					if err := members[0].Propose(data); err != nil {
						panic(err)
					}
					proposed++
				}
				in = boxes[i].take(in)
				if len(in) == 0 && !members[i].HasReady() {
					select {
					case <-boxes[i].signal:
						continue
					case <-done:
						return
					}
				}
				committed += step(i, in)
				if i == 0 && committed >= b.N {
					close(done)
					return
				}
			}
		}()
	}
	wg.Wait()
	measure.report(b)
}
