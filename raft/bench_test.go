package raft

import (
	"fmt"
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
	start := time.Now()
	for committed < b.N {
		for n := 0; n < batch && proposed < b.N && proposed-committed < window; n++ {
			if err := leader.Propose(data); err != nil {
				b.Fatal(err)
			}
			proposed++
		}
		round()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}
