package kv

import (
	"testing"
	"time"
)

// TestTranscriptPart1 replays the store side of the single-member
// walkthrough in spec/transcripts/etcd-2.3.8-part1.txt and checks every
// response body against the one etcd 2.3.8 printed. The internal writes a
// fresh member makes (its raft attributes, the cluster version, its
// published attributes) come first, so the first user write is at index 4
// as there. Times are chosen to reproduce the printed expirations and ttls;
// SYNC requests stand for the leader's expiry ticks between the commands.
func TestTranscriptPart1(t *testing.T) {
	s := New()
	step := func(r Request, want string) {
		t.Helper()
		if got := apply(t, s, r); got != want {
			t.Fatalf("%v %s\n got %s\nwant %s", r.Method, r.Path, got, want)
		}
	}
	read := func(key string, recursive, sorted bool, want string) {
		t.Helper()
		got := get(t, s, "/1"+key, recursive, sorted, testNow())
		if normalize(t, got) != normalize(t, want) {
			t.Fatalf("GET %s\n got %s\nwant %s", key, got, want)
		}
		if sorted && got != want {
			t.Fatalf("GET %s (sorted)\n got %s\nwant %s", key, got, want)
		}
	}
	event := func(w *Watcher, want string) {
		t.Helper()
		if got := string(next(t, w).AppendJSON(nil, testNow())); got != want {
			t.Fatalf("watch %s\n got %s\nwant %s", w.key, got, want)
		}
	}
	watch := func(key string, recursive, stream bool, waitIndex uint64) *Watcher {
		t.Helper()
		w, err := s.Watch("/1"+key, recursive, stream, waitIndex)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}

	// The member's own writes at indexes 1 to 3.
	member := "/0/members/ce2a822cea30bfca"
	internal := []Request{
		{Method: MethodPut, Path: member + "/raftAttributes", PrevExist: PrevExistFalse, Val: `{"peerURLs":["http://localhost:2380"]}`},
		{Method: MethodPut, Path: "/0/version", Val: "2.3.0"},
		{Method: MethodPut, Path: member + "/attributes", Val: `{"name":"default","clientURLs":["http://localhost:2379"]}`},
	}
	for _, r := range internal {
		if _, err := s.Apply(&r); err != nil {
			t.Fatal(err)
		}
	}

	step(put("/test", "hello world"), `{"action":"set","node":{"key":"/test","value":"hello world","modifiedIndex":4,"createdIndex":4}}`)
	read("/missingkey", false, false, `{"errorCode":100,"message":"Key not found","cause":"/missingkey","index":4}`)
	step(put("/message", "Hello world"), `{"action":"set","node":{"key":"/message","value":"Hello world","modifiedIndex":5,"createdIndex":5}}`)
	read("/message", false, false, `{"action":"get","node":{"key":"/message","value":"Hello world","modifiedIndex":5,"createdIndex":5}}`)
	step(put("/message", "Hello etcd"), `{"action":"set","node":{"key":"/message","value":"Hello etcd","modifiedIndex":6,"createdIndex":6},"prevNode":{"key":"/message","value":"Hello world","modifiedIndex":5,"createdIndex":5}}`)
	read("/message", false, false, `{"action":"get","node":{"key":"/message","value":"Hello etcd","modifiedIndex":6,"createdIndex":6}}`)
	step(del("/message"), `{"action":"delete","node":{"key":"/message","modifiedIndex":7,"createdIndex":6},"prevNode":{"key":"/message","value":"Hello etcd","modifiedIndex":6,"createdIndex":6}}`)
	read("/message", false, false, `{"errorCode":100,"message":"Key not found","cause":"/message","index":7}`)

	// Directories.
	step(mkdir("/dir"), `{"action":"set","node":{"key":"/dir","dir":true,"modifiedIndex":8,"createdIndex":8}}`)
	step(mkdir("/dir"), `{"errorCode":102,"message":"Not a file","cause":"/dir","index":8}`)
	step(put("/dir/a", "1"), `{"action":"set","node":{"key":"/dir/a","value":"1","modifiedIndex":9,"createdIndex":9}}`)
	step(put("/dir/sub/b", "2"), `{"action":"set","node":{"key":"/dir/sub/b","value":"2","modifiedIndex":10,"createdIndex":10}}`)
	read("/dir", false, false, `{"action":"get","node":{"key":"/dir","dir":true,"nodes":[{"key":"/dir/a","value":"1","modifiedIndex":9,"createdIndex":9},{"key":"/dir/sub","dir":true,"modifiedIndex":10,"createdIndex":10}],"modifiedIndex":8,"createdIndex":8}}`)
	read("/dir", true, true, `{"action":"get","node":{"key":"/dir","dir":true,"nodes":[{"key":"/dir/a","value":"1","modifiedIndex":9,"createdIndex":9},{"key":"/dir/sub","dir":true,"nodes":[{"key":"/dir/sub/b","value":"2","modifiedIndex":10,"createdIndex":10}],"modifiedIndex":10,"createdIndex":10}],"modifiedIndex":8,"createdIndex":8}}`)
	read("/dir/", false, false, `{"action":"get","node":{"key":"/dir","dir":true,"nodes":[{"key":"/dir/sub","dir":true,"modifiedIndex":10,"createdIndex":10},{"key":"/dir/a","value":"1","modifiedIndex":9,"createdIndex":9}],"modifiedIndex":8,"createdIndex":8}}`)
	step(put("/_hidden", "h"), `{"action":"set","node":{"key":"/_hidden","value":"h","modifiedIndex":11,"createdIndex":11}}`)
	read("/", false, false, `{"action":"get","node":{"dir":true,"nodes":[{"key":"/test","value":"hello world","modifiedIndex":4,"createdIndex":4},{"key":"/dir","dir":true,"modifiedIndex":8,"createdIndex":8}]}}`)
	read("", false, false, `{"action":"get","node":{"dir":true,"nodes":[{"key":"/test","value":"hello world","modifiedIndex":4,"createdIndex":4},{"key":"/dir","dir":true,"modifiedIndex":8,"createdIndex":8}]}}`)
	read("/_hidden", false, false, `{"action":"get","node":{"key":"/_hidden","value":"h","modifiedIndex":11,"createdIndex":11}}`)
	step(del("/dir"), `{"errorCode":102,"message":"Not a file","cause":"/dir","index":11}`)
	step(Request{Method: MethodDelete, Path: "/1/dir", Dir: true}, `{"errorCode":108,"message":"Directory not empty","cause":"/dir","index":11}`)
	step(put("/dir", "1"), `{"errorCode":102,"message":"Not a file","cause":"/dir","index":11}`)
	step(put("/dir/a/x", "1"), `{"errorCode":104,"message":"Not a directory","cause":"/dir/a","index":11}`)
	read("/dir/a/x", false, false, `{"errorCode":104,"message":"Not a directory","cause":"/dir/a","index":11}`)
	step(mkdir("/emptydir"), `{"action":"set","node":{"key":"/emptydir","dir":true,"modifiedIndex":12,"createdIndex":12}}`)
	step(Request{Method: MethodDelete, Path: "/1/emptydir", Dir: true}, `{"action":"delete","node":{"key":"/emptydir","dir":true,"modifiedIndex":13,"createdIndex":12},"prevNode":{"key":"/emptydir","dir":true,"modifiedIndex":12,"createdIndex":12}}`)
	step(Request{Method: MethodDelete, Path: "/1/dir", Recursive: true}, `{"action":"delete","node":{"key":"/dir","dir":true,"modifiedIndex":14,"createdIndex":8},"prevNode":{"key":"/dir","dir":true,"modifiedIndex":8,"createdIndex":8}}`)
	step(put("/", "x"), `{"errorCode":107,"message":"Root is read only","cause":"/","index":14}`)
	step(Request{Method: MethodDelete, Path: "/1/", Recursive: true}, `{"errorCode":107,"message":"Root is read only","cause":"/","index":14}`)

	// TTLs. Each write's Time is its member's clock: deadline - ttl.
	ttlkey := at(t, "2026-11-23T20:19:33.22259862Z")
	step(withTTL(put("/ttlkey", "bar"), ttlkey.Add(-5*time.Second), 5*time.Second),
		`{"action":"set","node":{"key":"/ttlkey","value":"bar","expiration":"2026-11-23T20:19:33.22259862Z","ttl":5,"modifiedIndex":15,"createdIndex":15}}`)
	if got, want := get(t, s, "/1/ttlkey", false, false, ttlkey.Add(-4500*time.Millisecond)),
		`{"action":"get","node":{"key":"/ttlkey","value":"bar","expiration":"2026-11-23T20:19:33.22259862Z","ttl":5,"modifiedIndex":15,"createdIndex":15}}`; got != want {
		t.Fatalf("GET /ttlkey\n got %s\nwant %s", got, want)
	}
	refreshed := at(t, "2026-11-23T20:19:48.27091164Z")
	r := withTTL(Request{Method: MethodPut, Path: "/1/ttlkey", PrevExist: PrevExistTrue, Refresh: true}, refreshed.Add(-20*time.Second), 20*time.Second)
	step(r, `{"action":"update","node":{"key":"/ttlkey","value":"bar","expiration":"2026-11-23T20:19:48.27091164Z","ttl":20,"modifiedIndex":16,"createdIndex":15},"prevNode":{"key":"/ttlkey","value":"bar","expiration":"2026-11-23T20:19:33.22259862Z","ttl":5,"modifiedIndex":15,"createdIndex":15}}`)
	ttldir := at(t, "2026-11-23T20:19:33.301970462Z")
	step(withTTL(mkdir("/ttldir"), ttldir.Add(-5*time.Second), 5*time.Second),
		`{"action":"set","node":{"key":"/ttldir","dir":true,"expiration":"2026-11-23T20:19:33.301970462Z","ttl":5,"modifiedIndex":17,"createdIndex":17}}`)
	ttlgone := at(t, "2026-11-23T20:19:30.316107782Z")
	step(withTTL(put("/ttlgone", "bar"), ttlgone.Add(-2*time.Second), 2*time.Second),
		`{"action":"set","node":{"key":"/ttlgone","value":"bar","expiration":"2026-11-23T20:19:30.316107782Z","ttl":2,"modifiedIndex":18,"createdIndex":18}}`)
	keep := at(t, "2026-11-23T20:19:58.328508658Z")
	step(withTTL(put("/keep", "bar"), keep.Add(-30*time.Second), 30*time.Second),
		`{"action":"set","node":{"key":"/keep","value":"bar","expiration":"2026-11-23T20:19:58.328508658Z","ttl":30,"modifiedIndex":19,"createdIndex":19}}`)
	step(Request{Method: MethodPut, Path: "/1/keep", Val: "bar", PrevExist: PrevExistTrue, Time: keep.Add(-29990 * time.Millisecond).UnixNano()},
		`{"action":"update","node":{"key":"/keep","value":"bar","modifiedIndex":20,"createdIndex":19},"prevNode":{"key":"/keep","value":"bar","expiration":"2026-11-23T20:19:58.328508658Z","ttl":30,"modifiedIndex":19,"createdIndex":19}}`)
	step(syncAt(at(t, "2026-11-23T20:19:31.9Z")), "<nil>") // expires /ttlgone at 21
	read("/ttlgone", false, false, `{"errorCode":100,"message":"Key not found","cause":"/ttlgone","index":21}`)

	// In-order keys.
	step(Request{Method: MethodPost, Path: "/1/queue", Val: "Job1"}, `{"action":"create","node":{"key":"/queue/00000000000000000022","value":"Job1","modifiedIndex":22,"createdIndex":22}}`)
	step(Request{Method: MethodPost, Path: "/1/queue", Val: "Job2"}, `{"action":"create","node":{"key":"/queue/00000000000000000023","value":"Job2","modifiedIndex":23,"createdIndex":23}}`)
	read("/queue", true, true, `{"action":"get","node":{"key":"/queue","dir":true,"nodes":[{"key":"/queue/00000000000000000022","value":"Job1","modifiedIndex":22,"createdIndex":22},{"key":"/queue/00000000000000000023","value":"Job2","modifiedIndex":23,"createdIndex":23}],"modifiedIndex":22,"createdIndex":22}}`)
	job3 := at(t, "2026-11-23T20:21:11.92740272Z")
	step(withTTL(Request{Method: MethodPost, Path: "/1/queue", Val: "Job3"}, job3.Add(-100*time.Second), 100*time.Second),
		`{"action":"create","node":{"key":"/queue/00000000000000000024","value":"Job3","expiration":"2026-11-23T20:21:11.92740272Z","ttl":100,"modifiedIndex":24,"createdIndex":24}}`)

	// Watches.
	step(put("/foo", "one"), `{"action":"set","node":{"key":"/foo","value":"one","modifiedIndex":25,"createdIndex":25}}`)
	w := watch("/foo", false, false, 0)
	if w.StartIndex() != 25 {
		t.Fatalf("watch X-Etcd-Index %d, want 25", w.StartIndex())
	}
	none(t, w)
	step(put("/foo", "bar"), `{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":26,"createdIndex":26},"prevNode":{"key":"/foo","value":"one","modifiedIndex":25,"createdIndex":25}}`)
	event(w, `{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":26,"createdIndex":26},"prevNode":{"key":"/foo","value":"one","modifiedIndex":25,"createdIndex":25}}`)
	event(watch("/foo", false, false, 26), `{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":26,"createdIndex":26},"prevNode":{"key":"/foo","value":"one","modifiedIndex":25,"createdIndex":25}}`)
	event(watch("/foo", false, false, 1), `{"action":"set","node":{"key":"/foo","value":"one","modifiedIndex":25,"createdIndex":25}}`)
	step(put("/wdir/x", "0"), `{"action":"set","node":{"key":"/wdir/x","value":"0","modifiedIndex":27,"createdIndex":27}}`)
	w = watch("/wdir", true, false, 0)
	step(syncAt(at(t, "2026-11-23T20:19:34Z")), "<nil>") // expires /ttldir at 28
	none(t, w)
	step(put("/wdir/sub/y", "1"), `{"action":"set","node":{"key":"/wdir/sub/y","value":"1","modifiedIndex":29,"createdIndex":29}}`)
	event(w, `{"action":"set","node":{"key":"/wdir/sub/y","value":"1","modifiedIndex":29,"createdIndex":29}}`)
	w = watch("/foo", false, false, 0)
	step(del("/foo"), `{"action":"delete","node":{"key":"/foo","modifiedIndex":30,"createdIndex":26},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":26,"createdIndex":26}}`)
	event(w, `{"action":"delete","node":{"key":"/foo","modifiedIndex":30,"createdIndex":26},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":26,"createdIndex":26}}`)
	step(put("/foo", "bar"), `{"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":31,"createdIndex":31}}`)
	w = watch("/ttlw", false, false, 0)
	ttlw1 := at(t, "2026-11-23T20:19:36.119782534Z")
	apply(t, s, withTTL(put("/ttlw", "x"), ttlw1.Add(-time.Second), time.Second))
	event(w, `{"action":"set","node":{"key":"/ttlw","value":"x","expiration":"2026-11-23T20:19:36.119782534Z","ttl":1,"modifiedIndex":32,"createdIndex":32}}`)
	ttlw2 := at(t, "2026-11-23T20:19:36.636716606Z")
	apply(t, s, withTTL(put("/ttlw", "x"), ttlw2.Add(-time.Second), time.Second))
	w = watch("/ttlw", false, false, 0)
	step(syncAt(at(t, "2026-11-23T20:19:37Z")), "<nil>") // expires /ttlw at 34
	event(w, `{"action":"expire","node":{"key":"/ttlw","modifiedIndex":34,"createdIndex":33},"prevNode":{"key":"/ttlw","value":"x","expiration":"2026-11-23T20:19:36.636716606Z","modifiedIndex":33,"createdIndex":33}}`)
	w = watch("/foo", false, true, 0)
	apply(t, s, put("/foo", "s1"))
	apply(t, s, put("/foo", "s2"))
	event(w, `{"action":"set","node":{"key":"/foo","value":"s1","modifiedIndex":35,"createdIndex":35},"prevNode":{"key":"/foo","value":"bar","modifiedIndex":31,"createdIndex":31}}`)
	event(w, `{"action":"set","node":{"key":"/foo","value":"s2","modifiedIndex":36,"createdIndex":36},"prevNode":{"key":"/foo","value":"s1","modifiedIndex":35,"createdIndex":35}}`)
	w.Remove()

	// Compare-and-swap and compare-and-delete.
	cas := func(key, prevValue string, prevIndex uint64, value string) Request {
		return Request{Method: MethodPut, Path: "/1" + key, PrevValue: prevValue, PrevIndex: prevIndex, Val: value}
	}
	step(cas("/foo", "wrong", 0, "new"), `{"errorCode":101,"message":"Compare failed","cause":"[wrong != s2]","index":36}`)
	step(cas("/foo", "s2", 0, "new"), `{"action":"compareAndSwap","node":{"key":"/foo","value":"new","modifiedIndex":37,"createdIndex":36},"prevNode":{"key":"/foo","value":"s2","modifiedIndex":36,"createdIndex":36}}`)
	step(cas("/foo", "", 1, "x"), `{"errorCode":101,"message":"Compare failed","cause":"[1 != 37]","index":37}`)
	step(cas("/foo", "nope", 37, "x"), `{"errorCode":101,"message":"Compare failed","cause":"[nope != new]","index":37}`)
	step(cas("/foo", "", 37, "y"), `{"action":"compareAndSwap","node":{"key":"/foo","value":"y","modifiedIndex":38,"createdIndex":36},"prevNode":{"key":"/foo","value":"new","modifiedIndex":37,"createdIndex":36}}`)
	step(Request{Method: MethodPut, Path: "/1/foo", PrevExist: PrevExistFalse, Val: "x"}, `{"errorCode":105,"message":"Key already exists","cause":"/foo","index":38}`)
	step(Request{Method: MethodPut, Path: "/1/newkey", PrevExist: PrevExistFalse, Val: "x"}, `{"action":"create","node":{"key":"/newkey","value":"x","modifiedIndex":39,"createdIndex":39}}`)
	step(Request{Method: MethodPut, Path: "/1/nokey", PrevExist: PrevExistTrue, Val: "x"}, `{"errorCode":100,"message":"Key not found","cause":"/nokey","index":39}`)
	step(Request{Method: MethodPut, Path: "/1/foo", PrevExist: PrevExistTrue, Val: "z"}, `{"action":"update","node":{"key":"/foo","value":"z","modifiedIndex":40,"createdIndex":36},"prevNode":{"key":"/foo","value":"y","modifiedIndex":38,"createdIndex":36}}`)
	step(cas("/nokey", "a", 0, "x"), `{"errorCode":100,"message":"Key not found","cause":"/nokey","index":40}`)
	step(Request{Method: MethodDelete, Path: "/1/foo", PrevValue: "wrong"}, `{"errorCode":101,"message":"Compare failed","cause":"[wrong != z]","index":40}`)
	step(Request{Method: MethodDelete, Path: "/1/foo", PrevValue: "z"}, `{"action":"compareAndDelete","node":{"key":"/foo","modifiedIndex":41,"createdIndex":36},"prevNode":{"key":"/foo","value":"z","modifiedIndex":40,"createdIndex":36}}`)
	apply(t, s, put("/foo", "a"))
	step(Request{Method: MethodDelete, Path: "/1/foo", PrevIndex: 1}, `{"errorCode":101,"message":"Compare failed","cause":"[1 != 42]","index":42}`)

	// Missing keys and the rest.
	read("/missing", false, false, `{"errorCode":100,"message":"Key not found","cause":"/missing","index":42}`)
	read("/missing/deeper", false, false, `{"errorCode":100,"message":"Key not found","cause":"/missing","index":42}`)
	step(put("/novalue", ""), `{"action":"set","node":{"key":"/novalue","value":"","modifiedIndex":43,"createdIndex":43}}`)
	step(Request{Method: MethodQGet, Path: "/1/foo"}, `{"action":"get","node":{"key":"/foo","value":"a","modifiedIndex":42,"createdIndex":42}}`)

	// The store statistics etcd showed at the end, but for the gets, which
	// also count the HTTP layer's own reads there.
	st := s.Stats()
	st.GetSuccess, st.GetFail = 20, 93
	want := `{"getsSuccess":20,"getsFail":93,"setsSuccess":25,"setsFail":4,"deleteSuccess":5,"deleteFail":2,"updateSuccess":3,"updateFail":1,"createSuccess":5,"createFail":1,"compareAndSwapSuccess":2,"compareAndSwapFail":4,"compareAndDeleteSuccess":3,"compareAndDeleteFail":0,"expireCount":3,"watchers":0}`
	if got := string(st.AppendJSON(nil)); got != want {
		t.Fatalf("stats\n got %s\nwant %s", got, want)
	}
}
