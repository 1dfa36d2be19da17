package kv

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustWatch(t testing.TB, s *Store, key string, recursive, stream bool, waitIndex uint64) *Watcher {
	t.Helper()
	w, err := s.Watch("/1"+key, recursive, stream, waitIndex)
	if err != nil {
		t.Fatalf("watch %s: %v", key, err)
	}
	return w
}

// summary renders an event as "action key index".
func summary(e *Event) string {
	return fmt.Sprintf("%s %s %d", e.Action, DisplayKey(e.Node.Key), e.Index())
}

func watchers(s *Store) uint64 { return s.Stats().Watchers }

// TestWatchLive covers the live matching rules of spec §4.3.
func TestWatchLive(t *testing.T) {
	now := at(t, "2026-01-01T00:00:00Z")
	tests := []struct {
		name      string
		setup     []Request
		key       string
		recursive bool
		then      []Request
		want      string // summary of the one event delivered, "" for none
	}{
		{"exact key", nil, "/k", false, []Request{put("/k", "1")}, "set /k 1"},
		{"missing key created later", nil, "/a/b", false, []Request{put("/a/x", "1"), put("/a/b", "1")}, "set /a/b 2"},
		{"child of a non-recursive dir watch", []Request{mkdir("/d")}, "/d", false, []Request{put("/d/x", "1")}, ""},
		{"dir's own update", []Request{mkdir("/d")}, "/d", false, []Request{put("/d/x", "1"), withTTL(Request{Method: MethodPut, Path: "/1/d", PrevExist: PrevExistTrue}, now, time.Hour)}, "update /d 3"},
		{"recursive descendant", []Request{mkdir("/d")}, "/d", true, []Request{put("/d/x/y", "1")}, "set /d/x/y 2"},
		{"recursive sibling prefix", []Request{mkdir("/d")}, "/d", true, []Request{put("/dd", "1")}, ""},
		{"recursive skips hidden child", []Request{mkdir("/w")}, "/w", true, []Request{put("/w/_h", "1"), put("/w/_h2/x", "1"), put("/w/k", "1")}, "set /w/k 4"},
		{"recursive inside a hidden dir", []Request{mkdir("/_h")}, "/_h", true, []Request{put("/_h/x", "1")}, "set /_h/x 2"},
		{"exact hidden key", nil, "/w/_h", false, []Request{put("/w/_h", "1")}, "set /w/_h 1"},
		{"recursive root", nil, "", true, []Request{{Method: MethodPut, Path: "/0/version", Val: "2.3.0"}, put("/x", "1")}, "set /x 2"},
		{"ancestor delete, watched node exists", []Request{put("/d/k", "1")}, "/d/k", false, []Request{{Method: MethodDelete, Path: "/1/d", Recursive: true}}, "delete /d 2"},
		{"ancestor delete, hidden watched node", []Request{put("/d/_k", "1")}, "/d/_k", false, []Request{{Method: MethodDelete, Path: "/1/d", Recursive: true}}, "delete /d 2"},
		{"ancestor delete, deep watched dir", []Request{put("/d/e/f/k", "1")}, "/d/e", false, []Request{{Method: MethodDelete, Path: "/1/d", Recursive: true}}, "delete /d 2"},
		{"ancestor delete, watched node missing", []Request{put("/d/k", "1")}, "/d/nonexist", false, []Request{{Method: MethodDelete, Path: "/1/d", Recursive: true}}, ""},
		{"ancestor expire, watched node exists", []Request{withTTL(mkdir("/d"), now, time.Second), put("/d/k", "1")}, "/d/k", false, []Request{syncAt(now.Add(time.Second))}, "expire /d 3"},
		{"delete of a watched file", []Request{put("/k", "1")}, "/k", false, []Request{del("/k")}, "delete /k 2"},
		{"cad of a watched file", []Request{put("/k", "1")}, "/k", false, []Request{{Method: MethodDelete, Path: "/1/k", PrevValue: "1"}}, "compareAndDelete /k 2"},
		{"refresh is not delivered", []Request{put("/k", "1")}, "/k", false, []Request{
			withTTL(Request{Method: MethodPut, Path: "/1/k", PrevExist: PrevExistTrue, Refresh: true}, now, time.Hour),
			withTTL(Request{Method: MethodPut, Path: "/1/k", Refresh: true}, now, time.Hour),
			withTTL(Request{Method: MethodPut, Path: "/1/k", PrevValue: "1", Refresh: true}, now, time.Hour),
		}, ""},
		{"failed write", []Request{put("/k", "1")}, "/k", false, []Request{{Method: MethodPut, Path: "/1/k", PrevValue: "2"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			for _, r := range tt.setup {
				apply(t, s, r)
			}
			w := mustWatch(t, s, tt.key, tt.recursive, false, 0)
			if w.StartIndex() != s.Index() {
				t.Fatalf("StartIndex %d, index %d", w.StartIndex(), s.Index())
			}
			if watchers(s) != 1 {
				t.Fatalf("watchers %d", watchers(s))
			}
			for _, r := range tt.then {
				apply(t, s, r)
			}
			if tt.want == "" {
				none(t, w)
				if watchers(s) != 1 {
					t.Fatalf("watcher unregistered without an event")
				}
				w.Remove()
			} else {
				if got := summary(next(t, w)); got != tt.want {
					t.Fatalf("got %s, want %s", got, tt.want)
				}
				none(t, w)
			}
			if watchers(s) != 0 {
				t.Fatalf("watchers %d after the event or Remove", watchers(s))
			}
			checkInvariants(t, s)
		})
	}
}

func TestWatchFutureIndex(t *testing.T) {
	s := New()
	w := mustWatch(t, s, "/k", false, false, 3)
	apply(t, s, put("/k", "1"))
	apply(t, s, put("/k", "2"))
	none(t, w)
	apply(t, s, put("/k", "3"))
	if got := summary(next(t, w)); got != "set /k 3" {
		t.Fatalf("got %s", got)
	}
}

// TestWatchStream covers stream watchers, their duplicate delete events
// (spec §4.8, also for files, seen on etcd 2.3.8) and the history quirk.
func TestWatchStream(t *testing.T) {
	now := at(t, "2026-01-01T00:00:00Z")
	s := New()
	apply(t, s, put("/w2/k", "0"))   // 1
	apply(t, s, put("/f", "0"))      // 2
	apply(t, s, put("/g", "0"))      // 3
	apply(t, s, put("/sd/a/b", "0")) // 4
	rec := mustWatch(t, s, "/w2", true, true, 0)
	file := mustWatch(t, s, "/f", false, true, 0)
	cad := mustWatch(t, s, "/g", false, true, 0)
	deep := mustWatch(t, s, "/sd/a/b", false, true, 0)
	mid := mustWatch(t, s, "/sd/a", false, true, 0)
	apply(t, s, put("/w2/k", "1"))                                             // 5
	apply(t, s, put("/w2/_h", "1"))                                            // 6
	apply(t, s, put("/w2/k", "2"))                                             // 7
	apply(t, s, Request{Method: MethodDelete, Path: "/1/w2", Recursive: true}) // 8
	apply(t, s, del("/f"))                                                     // 9
	apply(t, s, Request{Method: MethodDelete, Path: "/1/g", PrevIndex: 3})     // 10
	apply(t, s, Request{Method: MethodDelete, Path: "/1/sd", Recursive: true}) // 11
	var got []string
	for _, w := range []*Watcher{rec, file, cad, deep, mid} {
		var evs []string
		for len(w.EventChan()) > 0 {
			evs = append(evs, summary(next(t, w)))
		}
		got = append(got, strings.Join(evs, ", "))
	}
	want := []string{
		"set /w2/k 5, set /w2/k 7, delete /w2 8, delete /w2 8",
		"delete /f 9, delete /f 9",
		"compareAndDelete /g 10, compareAndDelete /g 10",
		"delete /sd 11",
		"delete /sd 11",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("stream %d: got %s\nwant %s", i, got[i], want[i])
		}
	}
	if watchers(s) != 5 {
		t.Fatalf("stream watchers unregistered: %d left", watchers(s))
	}
	// Expiry also reaches a stream watcher twice.
	apply(t, s, withTTL(put("/t", "x"), now, time.Second)) // 12
	exp := mustWatch(t, s, "/t", false, true, 0)
	apply(t, s, syncAt(now.Add(time.Second))) // 13
	if a, b := summary(next(t, exp)), summary(next(t, exp)); a != "expire /t 13" || b != a {
		t.Errorf("expire on a stream: %s, %s", a, b)
	}
	for _, w := range []*Watcher{rec, file, cad, deep, mid, exp} {
		w.Remove()
	}
	if watchers(s) != 0 {
		t.Fatalf("watchers %d after Remove", watchers(s))
	}

	// A stream watch answered from the history gets that one event, is not
	// registered, and stays silent.
	hist := mustWatch(t, s, "/f", false, true, 9)
	if got := summary(next(t, hist)); got != "delete /f 9" {
		t.Fatalf("history stream got %s", got)
	}
	if watchers(s) != 0 {
		t.Fatalf("history stream registered")
	}
	apply(t, s, put("/f", "again"))
	none(t, hist)
	hist.Remove()
	if _, ok := <-hist.EventChan(); ok {
		t.Fatalf("channel open after Remove")
	}
}

// TestWatchDrop covers a stream watcher that falls behind: after 100
// buffered events it is dropped and its channel closed, and Apply goes on.
func TestWatchDrop(t *testing.T) {
	s := New()
	w := mustWatch(t, s, "/k", false, true, 0)
	other := mustWatch(t, s, "/k", false, true, 0)
	for i := range 150 {
		apply(t, s, put("/k", fmt.Sprint(i)))
		if i%10 == 0 {
			for len(other.EventChan()) > 0 {
				next(t, other)
			}
		}
	}
	if watchers(s) != 1 {
		t.Fatalf("watchers %d, want only the one that kept up", watchers(s))
	}
	n := 0
	for range w.EventChan() {
		n++
	}
	if n != watcherBuffer {
		t.Fatalf("dropped watcher held %d events, want %d", n, watcherBuffer)
	}
	w.Remove() // after a drop, Remove is harmless
	other.Remove()
	other.Remove()
	if watchers(s) != 0 {
		t.Fatalf("watchers %d", watchers(s))
	}
	apply(t, s, put("/k", "after"))
	checkInvariants(t, s)
}

func TestWatchRemove(t *testing.T) {
	s := New()
	var ws []*Watcher
	for i := range 10 {
		ws = append(ws, mustWatch(t, s, "/k", i%2 == 0, i%3 == 0, 0))
	}
	for i, w := range ws {
		if i%2 == 1 {
			w.Remove()
			if _, ok := <-w.EventChan(); ok {
				t.Fatal("channel open after Remove")
			}
		}
	}
	if watchers(s) != 5 {
		t.Fatalf("watchers %d, want 5", watchers(s))
	}
	apply(t, s, put("/k", "1"))
	for i, w := range ws {
		if i%2 == 0 {
			if got := summary(next(t, w)); got != "set /k 1" {
				t.Fatalf("watcher %d got %s", i, got)
			}
		}
	}
	// The two stream watchers (0 and 6) stay.
	if watchers(s) != 2 {
		t.Fatalf("watchers %d, want 2", watchers(s))
	}
	for _, w := range ws {
		w.Remove()
	}
	checkInvariants(t, s)
}

// TestWatchHistory covers watches that start in the past (spec §4.2, §4.3
// history rules, §4.5).
func TestWatchHistory(t *testing.T) {
	now := at(t, "2026-01-01T00:00:00Z")
	s := New()
	for _, r := range []Request{
		put("/z", "1"),     // 1
		put("/q", "1"),     // 2
		put("/w/_h", "1"),  // 3
		put("/foo/x", "1"), // 4
		{Method: MethodDelete, Path: "/1/foo", Recursive: true},                                                      // 5
		withTTL(put("/r", "1"), now, time.Hour),                                                                      // 6
		withTTL(Request{Method: MethodPut, Path: "/1/r", PrevExist: PrevExistTrue, Refresh: true}, now, 2*time.Hour), // 7
		put("/other", "1"),                      // 8
		withTTL(mkdir("/ed"), now, time.Second), // 9
		put("/ed/k", "1"),                       // 10
		syncAt(now.Add(time.Second)),            // 11: expire /ed
	} {
		apply(t, s, r)
	}
	tests := []struct {
		name      string
		key       string
		recursive bool
		waitIndex uint64
		want      string // summary, "" for none (registered)
	}{
		{"first match from the start", "/q", false, 1, "set /q 2"},
		{"exact index", "/q", false, 2, "set /q 2"},
		{"past the event", "/q", false, 3, ""},
		{"hidden key found recursively", "/w", true, 1, "set /w/_h 3"},
		{"dir delete reaches a child key", "/foo/x", false, 5, "delete /foo 5"},
		{"dir delete reaches a prefix key", "/foobar", false, 1, "delete /foo 5"},
		{"refresh skipped", "/r", false, 7, ""},
		{"refresh skipped, earlier set found", "/r", false, 6, "set /r 6"},
		{"dir expire reaches a child key", "/ed/k", false, 11, "expire /ed 11"},
		{"recursive quirk: exact key on the first event", "/q", true, 2, "set /q 2"},
		{"recursive quirk: exact key after the first event", "/q", true, 1, ""},
		{"recursive finds a child after the first event", "/foo", true, 1, "set /foo/x 4"},
		{"recursive dir delete", "/foo", true, 5, "delete /foo 5"},
		{"under a file", "/q/x/y", false, 1, ""},
		{"future", "/q", false, 100, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWatch(t, s, tt.key, tt.recursive, false, tt.waitIndex)
			defer w.Remove()
			if w.StartIndex() != 11 {
				t.Fatalf("StartIndex %d", w.StartIndex())
			}
			if tt.want == "" {
				none(t, w)
				if watchers(s) != 1 {
					t.Fatalf("not registered")
				}
				return
			}
			if got := summary(next(t, w)); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			if watchers(s) != 0 {
				t.Fatalf("a history answer registered the watcher")
			}
		})
	}
}

// TestWatchHistoryCleared checks the 1000-event window and error 401.
func TestWatchHistoryCleared(t *testing.T) {
	s := New()
	for i := range 1046 {
		apply(t, s, put(fmt.Sprintf("/k%d", i%7), "v"))
	}
	_, err := s.Watch("/1/foo", false, false, 8)
	if got, want := result(t, nil, err, testNow()), `{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [47/8]","index":1046}`; got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if err.(*Error).StatusCode() != 400 {
		t.Fatalf("status %d", err.(*Error).StatusCode())
	}
	w := mustWatch(t, s, "/k3", false, false, 47)
	if got := summary(next(t, w)); got != "set /k3 53" {
		t.Fatalf("oldest kept: %s", got)
	}
}

func TestWatchCleansPath(t *testing.T) {
	s := New()
	w, err := s.Watch("1//a/./b/", false, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, s, put("/a/b", "1"))
	if got := summary(next(t, w)); got != "set /a/b 1" {
		t.Fatalf("got %s", got)
	}
}

// TestConcurrentUse runs Apply on one goroutine and reads, watches and
// removals on others; run it with -race.
func TestConcurrentUse(t *testing.T) {
	s := New()
	const writes = 2000
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range writes {
			r := put(fmt.Sprintf("/d%d/k%d", i%5, i%13), fmt.Sprint(i))
			if i%17 == 0 {
				r = Request{Method: MethodDelete, Path: fmt.Sprintf("/1/d%d", i%5), Recursive: true}
			}
			s.Apply(&r)
		}
	}()
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 4096)
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				buf, _, _ = s.AppendGet(buf[:0], "/1", true, g%2 == 0, testNow())
				s.Get(fmt.Sprintf("/1/d%d", i%5), true, true)
				w, err := s.Watch(fmt.Sprintf("/1/d%d", i%5), i%2 == 0, i%3 == 0, 0)
				if err == nil {
					if i%4 == 0 {
						select {
						case <-w.EventChan():
						case <-done:
						}
					}
					w.Remove()
				}
				s.Stats()
				s.Index()
			}
		}()
	}
	wg.Wait()
	checkInvariants(t, s)
	if watchers(s) != 0 {
		t.Fatalf("watchers %d", watchers(s))
	}
}
