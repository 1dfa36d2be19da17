package peer

import (
	"testing"

	"v2etcd/raft"
)

// benchmarkStream sends b.N copies of m from one transport to another
// through the stream and waits until all were processed. The sender calls
// Send with 64 messages at a time, like a busy raft loop, and keeps at most
// window messages unprocessed so that nothing is dropped.
func benchmarkStream(b *testing.B, m raft.Message, opts ...nodeOption) {
	a, c := newNode(b, 1, opts...), newNode(b, 2, opts...)
	c.raft.mu.Lock()
	c.raft.discard = true
	c.raft.tick = make(chan struct{}, 1)
	c.raft.mu.Unlock()
	connect(a, c)
	waitFor(b, "streams", func() bool { return streamsUp(a, c) })
	const batch, window = 64, 512
	msgs := make([]raft.Message, batch)
	for i := range msgs {
		msgs[i] = m
	}
	w := a.tr.peer(2).writers[kindOf(m.Type)]
	b.SetBytes(int64(m.Size()))
	b.ReportAllocs()
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		n := min(batch, b.N-sent)
		for sent+n-c.raft.processed() > window {
			<-c.raft.tick
		}
		a.tr.Send(msgs[:n])
		sent += n
	}
	waitFor(b, "all messages", func() bool { return c.raft.processed() == b.N })
	b.StopTimer()
	if fails := a.tr.peer(2).fs.failures(); fails != 0 {
		b.Fatalf("%d messages dropped", fails)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(w.sent.Load())/float64(max(w.batches.Load(), 1)), "msgs/write")
}

// BenchmarkStreamAppends streams appends of 16 entries of 128 bytes.
func BenchmarkStreamAppends(b *testing.B) {
	benchmarkStream(b, msgApp(1, 2, 100, 16, 128))
}

// BenchmarkStreamHeartbeats streams heartbeats, the smallest messages.
func BenchmarkStreamHeartbeats(b *testing.B) {
	benchmarkStream(b, heartbeat(1, 2, 100))
}

// BenchmarkStreamAppendsTLS is BenchmarkStreamAppends over peer TLS with
// client certificates.
func BenchmarkStreamAppendsTLS(b *testing.B) {
	pki := newTestPKI(b)
	benchmarkStream(b, msgApp(1, 2, 100, 16, 128), withTLS(pki.client(true), pki.server(true)))
}
