package kv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The benchmarks the issue asks for, on a store of a million keys with
// 100-byte values. Keys are either nested (/bench/d000/k0000000: 1000
// directories of 1000 files) or flat (/bench/k0000000: one directory).
//
//	go test ./kv -run '^$' -bench . -benchtime 2s -count 3

const (
	benchKeys     = 1_000_000
	benchValueLen = 100
)

func benchKey(nested bool, i int) string {
	if nested {
		return fmt.Sprintf("/bench/d%03d/k%07d", i%1000, i)
	}
	return "/bench/k" + fmt.Sprintf("%07d", i)
}

func benchValue(i int) string {
	b := bytes.Repeat([]byte{'v'}, benchValueLen)
	copy(b, strconv.Itoa(i))
	return string(b)
}

// fill returns a store holding n keys and the raw bytes of their keys (as
// the client sees them) and values.
func fill(tb testing.TB, nested bool, n int) (*Store, int) {
	tb.Helper()
	s := New()
	raw := 0
	r := Request{Method: MethodPut}
	for i := range n {
		key := benchKey(nested, i)
		r.Path = "/1" + key
		r.Val = benchValue(i)
		if _, err := s.Apply(&r); err != nil {
			tb.Fatal(err)
		}
		raw += len(key) + len(r.Val)
	}
	return s, raw
}

// cpuTime returns the CPU time the process has used (user and system, all
// threads): on a machine shared with other work it measures the cost of a
// benchmark better than the wall clock does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loopCPU runs f in a b.Loop and reports its CPU time per op besides the
// wall time.
func loopCPU(b *testing.B, f func()) {
	start := cpuTime()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkHeap reports the live heap of a store of 1M keys with 100-byte
// values, per key and as a multiple of the raw key and value bytes (the
// goal is at most 3x).
func BenchmarkHeap(b *testing.B) {
	for _, nested := range []bool{false, true} {
		b.Run(layout(nested), func(b *testing.B) {
			var perKey, ratio float64
			for b.Loop() {
				before := liveHeap()
				s, raw := fill(b, nested, benchKeys)
				after := liveHeap()
				runtime.KeepAlive(s)
				perKey = float64(after-before) / benchKeys
				ratio = float64(after-before) / float64(raw)
			}
			b.ReportMetric(perKey, "heap-B/key")
			b.ReportMetric(ratio, "x-raw")
		})
	}
}

func layout(nested bool) string {
	if nested {
		return "nested"
	}
	return "flat"
}

// BenchmarkSet applies PUTs to a store of 1M keys: replacing existing keys
// at random, and adding new ones.
func BenchmarkSet(b *testing.B) {
	for _, nested := range []bool{false, true} {
		s, _ := fill(b, nested, benchKeys)
		b.Run(layout(nested)+"/replace", func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			keys := make([]string, 4096)
			for i := range keys {
				keys[i] = "/1" + benchKey(nested, rng.IntN(benchKeys))
			}
			r := Request{Method: MethodPut, Val: benchValue(0)}
			i := 0
			loopCPU(b, func() {
				r.Path = keys[i%len(keys)]
				i++
				if _, err := s.Apply(&r); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(layout(nested)+"/new", func(b *testing.B) {
			r := Request{Method: MethodPut, Val: benchValue(0)}
			paths := make([]string, 1<<16)
			i := 0
			loopCPU(b, func() {
				if i%len(paths) == 0 { // make the keys outside the timing
					b.StopTimer()
					for j := range paths {
						paths[j] = "/1" + benchKey(nested, benchKeys+i+j)
					}
					b.StartTimer()
				}
				r.Path = paths[i%len(paths)]
				i++
				if _, err := s.Apply(&r); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkGet renders GETs of random keys of a store of 1M keys, on one
// goroutine and on as many as GOMAXPROCS, and small recursive listings.
func BenchmarkGet(b *testing.B) {
	s, _ := fill(b, true, benchKeys)
	keys := make([]string, 4096)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range keys {
		keys[i] = "/1" + benchKey(true, rng.IntN(benchKeys))
	}
	now := time.Now()
	b.Run("key", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		i := 0
		loopCPU(b, func() {
			var err error
			buf, _, err = s.AppendGet(buf[:0], keys[i%len(keys)], false, false, now)
			if err != nil {
				b.Fatal(err)
			}
			i++
		})
	})
	b.Run("key-parallel", func(b *testing.B) {
		var seed sync.Mutex
		n := 0
		b.RunParallel(func(pb *testing.PB) {
			seed.Lock()
			i := n * 997
			n++
			seed.Unlock()
			buf := make([]byte, 0, 512)
			for pb.Next() {
				buf, _, _ = s.AppendGet(buf[:0], keys[i%len(keys)], false, false, now)
				i++
			}
		})
	})
	b.Run("dir-1000-sorted", func(b *testing.B) {
		buf := make([]byte, 0, 256<<10)
		loopCPU(b, func() {
			buf, _, _ = s.AppendGet(buf[:0], "/1/bench/d123", true, true, now)
		})
	})
}

// BenchmarkSnapshot saves and recovers a store of 1M keys, and reads its
// hash. The recovery runs once the saved store is gone, as on a member that
// starts from a snapshot.
func BenchmarkSnapshot(b *testing.B) {
	s, _ := fill(b, true, benchKeys)
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil { // grow the buffer once
		b.Fatal(err)
	}
	b.Run("save", func(b *testing.B) {
		loopCPU(b, func() {
			buf.Reset()
			if err := s.Save(&buf); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(buf.Len())/benchKeys, "snapshot-B/key")
	})
	b.Run("hash", func(b *testing.B) {
		loopCPU(b, func() { s.Hash() })
	})
	data := buf.Bytes()
	s = nil
	b.Run("recover", func(b *testing.B) {
		runtime.GC()
		var r *Store
		loopCPU(b, func() {
			r = nil // let the previous one go first
			r = New()
			if err := r.Recover(data); err != nil {
				b.Fatal(err)
			}
		})
		runtime.KeepAlive(r)
	})
}

// BenchmarkWatchFanout delivers one event to 1000 stream watchers of one
// key, each read by its own goroutine: one op is one Apply and every
// watcher's goroutine having received the event.
func BenchmarkWatchFanout(b *testing.B) {
	const n = 1000
	s := New()
	var wg sync.WaitGroup
	var ws []*Watcher
	for range n {
		w, err := s.Watch("/1/hot", false, true, 0)
		if err != nil {
			b.Fatal(err)
		}
		ws = append(ws, w)
		go func() {
			for range w.EventChan() {
				wg.Done()
			}
		}()
	}
	r := Request{Method: MethodPut, Path: "/1/hot", Val: "x"}
	loopCPU(b, func() {
		wg.Add(n)
		if _, err := s.Apply(&r); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
	})
	for _, w := range ws {
		w.Remove()
	}
}

// BenchmarkWatchOneShot registers 1000 non-stream watchers on one key and
// fires them with one Apply (the usual client loop: watch, get one event,
// watch again).
func BenchmarkWatchOneShot(b *testing.B) {
	const n = 1000
	s := New()
	ws := make([]*Watcher, n)
	r := Request{Method: MethodPut, Path: "/1/hot", Val: "x"}
	loopCPU(b, func() {
		for i := range ws {
			w, err := s.Watch("/1/hot", false, false, 0)
			if err != nil {
				b.Fatal(err)
			}
			ws[i] = w
		}
		if _, err := s.Apply(&r); err != nil {
			b.Fatal(err)
		}
		for _, w := range ws {
			<-w.EventChan()
			w.Remove()
		}
	})
}
