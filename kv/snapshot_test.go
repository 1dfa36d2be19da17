package kv

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// workload generates random requests over a small key space, so that they
// collide: every operation, condition, TTL, hidden key and error shows up.
type workload struct {
	rng   *rand.Rand
	clock int64 // Unix nanoseconds, advancing
	index uint64
}

func newWorkload(seed uint64) *workload {
	return &workload{
		rng:   rand.New(rand.NewPCG(seed, seed^0x5eed)),
		clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
	}
}

func (w *workload) key() string {
	names := []string{"a", "b", "c", "_h", "00"}
	var sb strings.Builder
	switch w.rng.IntN(20) {
	case 0:
		return "/1"
	case 1:
		sb.WriteString("/0")
	case 2:
		sb.WriteString("/2")
	default:
		sb.WriteString("/1")
	}
	for range 1 + w.rng.IntN(3) {
		sb.WriteString("/")
		sb.WriteString(names[w.rng.IntN(len(names))])
	}
	return sb.String()
}

// recentIndex returns one of the last few indexes, or 0.
func (w *workload) recentIndex() uint64 {
	return w.index - w.rng.Uint64N(min(w.index, 6)+1)
}

func (w *workload) next() Request {
	rng := w.rng
	w.clock += rng.Int64N(int64(time.Second))
	r := Request{ID: rng.Uint64(), Path: w.key(), Time: w.clock}
	values := []string{"", "v0", "v1", "v2"}
	ttl := func() {
		if rng.IntN(3) == 0 {
			r.Expiration = w.clock + rng.Int64N(int64(5*time.Second))
		}
	}
	switch n := rng.IntN(100); {
	case n < 50:
		r.Method = MethodPut
		r.Val = values[rng.IntN(len(values))]
		r.Dir = rng.IntN(10) == 0
		r.PrevExist = PrevExist(max(0, rng.IntN(6)-3))
		if rng.IntN(4) == 0 {
			r.PrevValue = values[rng.IntN(len(values))]
		}
		if rng.IntN(5) == 0 {
			r.PrevIndex = w.recentIndex()
		}
		r.Refresh = rng.IntN(10) == 0
		ttl()
	case n < 55:
		r.Method = MethodPost
		r.Val = values[rng.IntN(len(values))]
		r.Dir = rng.IntN(5) == 0
		ttl()
	case n < 80:
		r.Method = MethodDelete
		r.Dir = rng.IntN(2) == 0
		r.Recursive = rng.IntN(3) == 0
		if rng.IntN(5) == 0 {
			r.PrevValue = values[rng.IntN(len(values))]
		}
		if rng.IntN(6) == 0 {
			r.PrevIndex = w.recentIndex()
		}
	case n < 88:
		r.Method = MethodQGet
		r.Recursive = rng.IntN(2) == 0
		r.Sorted = true
	default:
		r.Method = MethodSync
	}
	return r
}

// applyBoth applies r to every store and checks they answer the same.
func applyBoth(t *testing.T, w *workload, r Request, stores ...*Store) string {
	t.Helper()
	var first string
	for i, s := range stores {
		got := apply(t, s, r)
		if i == 0 {
			first = got
		} else if got != first {
			t.Fatalf("stores differ on %+v:\n%s\n%s", r, first, got)
		}
	}
	w.index = stores[0].Index()
	return first
}

// sameState checks that two stores hold the same state, as every read,
// watch and statistic shows it.
func sameState(t *testing.T, a, b *Store, now time.Time) {
	t.Helper()
	if a.Index() != b.Index() || a.Hash() != b.Hash() {
		t.Fatalf("index %d/%d hash %x/%x", a.Index(), b.Index(), a.Hash(), b.Hash())
	}
	for _, p := range []string{"/", "/1", "/0", "/2"} {
		ga, gb := get(t, a, p, true, true, now), get(t, b, p, true, true, now)
		if ga != gb {
			t.Fatalf("GET %s differs:\n%s\n%s", p, ga, gb)
		}
	}
	sa, sb := a.Stats(), b.Stats()
	sa.Watchers, sb.Watchers = 0, 0
	if sa != sb {
		t.Fatalf("stats differ:\n%+v\n%+v", sa, sb)
	}
	// Every history scan answers alike.
	first := a.history.first()
	for _, key := range []string{"/", "/1", "/1/a", "/1/a/b", "/1/_h", "/1/00/a", "/0", "/1/ab"} {
		for _, recursive := range []bool{false, true} {
			for idx := max(first, 1) - 1; idx <= a.Index()+1; idx += 1 + idx/50 {
				ea, erra := a.Watch(key, recursive, false, idx)
				eb, errb := b.Watch(key, recursive, false, idx)
				ra, rb := watchResult(t, ea, erra, now), watchResult(t, eb, errb, now)
				if ra != rb {
					t.Fatalf("watch %s recursive=%v from %d: %s / %s", key, recursive, idx, ra, rb)
				}
			}
		}
	}
	// The TTL heaps hold the same deadlines, in the same order.
	if ha, hb := heapOrder(a), heapOrder(b); ha != hb {
		t.Fatalf("TTL heaps differ:\n%s\n%s", ha, hb)
	}
}

func watchResult(t *testing.T, w *Watcher, err error, now time.Time) string {
	t.Helper()
	if err != nil {
		return result(t, nil, err, now)
	}
	defer w.Remove()
	select {
	case e := <-w.EventChan():
		return string(e.AppendJSON(nil, now))
	default:
		return "registered"
	}
}

func heapOrder(s *Store) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	items := slices.Clone(s.ttl.items)
	slices.SortFunc(items, func(x, y *ttlEntry) int {
		if c := cmp.Compare(x.deadline, y.deadline); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
	var sb strings.Builder
	for _, e := range items {
		fmt.Fprintf(&sb, "%s@%d/%d ", e.path, e.deadline, e.seq)
	}
	return sb.String()
}

func saveBytes(t testing.TB, s *Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func recovered(t testing.TB, data []byte) *Store {
	t.Helper()
	s := New()
	if err := s.Recover(data); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, s)
	return s
}

// TestTwoStoresOneRecovered runs the same random requests against two
// stores, the second recovered from a snapshot of the first taken midway,
// and checks that every answer, event and state is identical.
func TestTwoStoresOneRecovered(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newWorkload(seed)
			a := New()
			for range 1500 {
				applyBoth(t, w, w.next(), a)
			}
			b := recovered(t, saveBytes(t, a))
			now := time.Unix(0, w.clock)
			sameState(t, a, b, now)
			// The same watchers on both stores see the same events.
			type pair struct{ a, b *Watcher }
			var pairs []pair
			for i := range 20 {
				key := w.key()
				wa, erra := a.Watch(key, i%2 == 0, i%3 == 0, 0)
				wb, errb := b.Watch(key, i%2 == 0, i%3 == 0, 0)
				if erra != nil || errb != nil {
					t.Fatal(erra, errb)
				}
				pairs = append(pairs, pair{wa, wb})
			}
			for i := range 1500 {
				applyBoth(t, w, w.next(), a, b)
				for _, p := range pairs {
					for len(p.a.EventChan()) > 0 || len(p.b.EventChan()) > 0 {
						ra := watchEvent(t, p.a)
						rb := watchEvent(t, p.b)
						if ra != rb {
							t.Fatalf("watchers differ: %s / %s", ra, rb)
						}
					}
				}
				if i%500 == 0 {
					sameState(t, a, b, time.Unix(0, w.clock))
				}
			}
			for _, p := range pairs {
				p.a.Remove()
				p.b.Remove()
			}
			sameState(t, a, b, time.Unix(0, w.clock))
		})
	}
}

func watchEvent(t *testing.T, w *Watcher) string {
	t.Helper()
	select {
	case e, ok := <-w.EventChan():
		if !ok {
			return "closed"
		}
		return summary(e)
	default:
		return "none"
	}
}

// TestSnapshotRoundTrip saves and recovers random stores, including a
// recovered store saved again, and an empty one.
func TestSnapshotRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 10, 200, 3000}
	for i, n := range sizes {
		w := newWorkload(uint64(100 + i))
		s := New()
		for range n {
			applyBoth(t, w, w.next(), s)
		}
		data := saveBytes(t, s)
		r := recovered(t, data)
		sameState(t, s, r, time.Unix(0, w.clock))
		r2 := recovered(t, saveBytes(t, r))
		sameState(t, s, r2, time.Unix(0, w.clock))
		// Expiring everything gives the same events, in the same order.
		far := syncAt(time.Unix(0, w.clock).Add(time.Hour))
		applyBoth(t, w, far, s, r, r2)
		for range 50 {
			applyBoth(t, w, w.next(), s, r, r2)
		}
		sameState(t, s, r2, time.Unix(0, w.clock))
	}
}

// TestRecoverWatchers: a watcher registered on a store that then recovers
// a snapshot (a member catching up from the leader's snapshot) must not
// wait for an event the snapshot already holds. It stays registered when
// the snapshot's history has nothing for it; gets the event a watch made
// now would get (non-stream); or is dropped, so its client watches again
// (a stream, or an index that left the history). The fault tests found
// watchers of a member added back with an empty data directory waiting
// for ever, as etcd 2.3.8's do.
func TestRecoverWatchers(t *testing.T) {
	small := New()
	for _, r := range []Request{put("/d/a", "1"), put("/d/b", "2"), put("/o", "x")} {
		apply(t, small, r)
	}
	big := New()
	for i := range 1100 {
		apply(t, big, put(fmt.Sprintf("/d/k%d", i%5), "v"))
	}
	tests := []struct {
		name      string
		src       *Store
		key       string
		recursive bool
		stream    bool
		waitIndex uint64 // 0: the next index of the empty store, 1
		want      string // the event it gets, "registered" or "closed"
	}{
		{"event in the snapshot", small, "/d", true, false, 0, "set /d/a 1"},
		{"later event in the snapshot", small, "/d/b", false, false, 2, "set /d/b 2"},
		{"nothing for it in the snapshot", small, "/z", false, false, 1, "registered"},
		{"waits past the snapshot", small, "/d", true, false, 4, "registered"},
		{"stream with events in the snapshot", small, "/d", true, true, 1, "closed"},
		{"stream with nothing in the snapshot", small, "/z", true, true, 1, "registered"},
		{"index left the history", big, "/d", true, false, 1, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			w := mustWatch(t, s, tt.key, tt.recursive, tt.stream, tt.waitIndex)
			if err := s.Recover(saveBytes(t, tt.src)); err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, s)
			got := "registered"
			select {
			case e, ok := <-w.EventChan():
				got = "closed"
				if ok {
					got = summary(e)
				}
			default:
			}
			if got != tt.want {
				t.Fatalf("after Recover: %s, want %s", got, tt.want)
			}
			if n := watchers(s); (n == 1) != (got == "registered") {
				t.Fatalf("%d watchers registered after %s", n, got)
			}
			if got == "registered" {
				// It still hears of the next change.
				key := tt.key
				if tt.recursive {
					key += "/x"
				}
				apply(t, s, put(key, "later"))
				if e := next(t, w); e.Index() != tt.src.Index()+1 {
					t.Fatalf("next event %s", summary(e))
				}
			}
		})
	}
}

// TestRecoverBadData checks that damaged snapshots are refused, whole, with
// the store left as it was.
func TestRecoverBadData(t *testing.T) {
	w := newWorkload(9)
	src := New()
	for range 300 {
		applyBoth(t, w, w.next(), src)
	}
	data := saveBytes(t, src)
	s := New()
	apply(t, s, put("/mine", "x"))
	hash := s.Hash()
	refuse := func(name string, b []byte) {
		t.Helper()
		if err := s.Recover(b); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("%s: Recover = %v", name, err)
		}
		if s.Hash() != hash {
			t.Fatalf("%s: a failed Recover changed the store", name)
		}
	}
	for i := 0; i < len(data); i += 1 + i/64 {
		refuse(fmt.Sprintf("cut at %d", i), data[:i])
		flipped := slices.Clone(data)
		flipped[i] ^= 1 << (i % 8)
		refuse(fmt.Sprintf("bit flip at %d", i), flipped)
	}
	refuse("trailing byte", append(slices.Clone(data), 0))
	// Well-sealed garbage: a valid CRC over bytes that do not decode.
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < len(data)-4; i += 1 + i/32 {
		body := slices.Clone(data[:len(data)-4])
		body[i] = byte(rng.IntN(256))
		body = body[:len(body)-rng.IntN(min(3, len(body)-len(snapshotMagic)))]
		if err := s.Recover(seal(body)); err != nil && !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("sealed garbage: %v", err)
		}
	}
}

// seal appends the CRC a snapshot ends with.
func seal(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, crcTable()))
}

func FuzzRecover(f *testing.F) {
	w := newWorkload(10)
	src := New()
	for range 40 {
		r := w.next()
		src.Apply(&r)
	}
	var buf bytes.Buffer
	src.Save(&buf)
	f.Add(buf.Bytes()[:buf.Len()-4])
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := New()
		if err := s.Recover(seal(body)); err != nil {
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("error not wrapping ErrBadSnapshot: %v", err)
			}
			return
		}
		// Whatever decoded must work as a store.
		s.Hash()
		s.AppendGet(nil, "/", true, true, testNow())
		r := syncAt(testNow().Add(1000 * time.Hour))
		s.Apply(&r)
		var out bytes.Buffer
		if err := s.Save(&out); err != nil {
			t.Fatal(err)
		}
	})
}
