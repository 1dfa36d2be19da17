package kv

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// baseStore returns a store holding, at index 4:
//
//	/f     file "v"          (1)
//	/d     directory         (2)
//	/d/x   file "1"          (2)
//	/e     empty directory   (3)
//	/g     directory         (4)
//	/g/_h  hidden file "s"   (4)
func baseStore(t testing.TB) *Store {
	t.Helper()
	s := New()
	for _, r := range []Request{put("/f", "v"), put("/d/x", "1"), mkdir("/e"), put("/g/_h", "s")} {
		if _, err := s.Apply(&r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func statsDelta(before, after Stats) Stats {
	return Stats{
		GetSuccess:              after.GetSuccess - before.GetSuccess,
		GetFail:                 after.GetFail - before.GetFail,
		SetSuccess:              after.SetSuccess - before.SetSuccess,
		SetFail:                 after.SetFail - before.SetFail,
		DeleteSuccess:           after.DeleteSuccess - before.DeleteSuccess,
		DeleteFail:              after.DeleteFail - before.DeleteFail,
		UpdateSuccess:           after.UpdateSuccess - before.UpdateSuccess,
		UpdateFail:              after.UpdateFail - before.UpdateFail,
		CreateSuccess:           after.CreateSuccess - before.CreateSuccess,
		CreateFail:              after.CreateFail - before.CreateFail,
		CompareAndSwapSuccess:   after.CompareAndSwapSuccess - before.CompareAndSwapSuccess,
		CompareAndSwapFail:      after.CompareAndSwapFail - before.CompareAndSwapFail,
		CompareAndDeleteSuccess: after.CompareAndDeleteSuccess - before.CompareAndDeleteSuccess,
		CompareAndDeleteFail:    after.CompareAndDeleteFail - before.CompareAndDeleteFail,
		ExpireCount:             after.ExpireCount - before.ExpireCount,
		Watchers:                after.Watchers - before.Watchers,
	}
}

type readCheck struct {
	key       string
	recursive bool
	want      string
}

// TestApply covers every operation and every error of spec §3.10 on
// baseStore: the response, the statistics it counts (etcd's rules,
// oddities included) and what a read shows afterwards.
func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		setup []Request
		req   Request
		want  string
		stats Stats
		reads []readCheck
	}{
		// Set.
		{name: "set new file", req: put("/n", "x"),
			want:  `{"action":"set","node":{"key":"/n","value":"x","modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{SetSuccess: 1}},
		{name: "set replaces a file with a new node", req: put("/f", "w"),
			want:  `{"action":"set","node":{"key":"/f","value":"w","modifiedIndex":5,"createdIndex":5},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{SetSuccess: 1}},
		{name: "set makes missing directories", req: put("/a/b/c", "x"),
			want:  `{"action":"set","node":{"key":"/a/b/c","value":"x","modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{SetSuccess: 1},
			reads: []readCheck{{"/a", true, `{"action":"get","node":{"key":"/a","dir":true,"nodes":[{"key":"/a/b","dir":true,"nodes":[{"key":"/a/b/c","value":"x","modifiedIndex":5,"createdIndex":5}],"modifiedIndex":5,"createdIndex":5}],"modifiedIndex":5,"createdIndex":5}}`}}},
		{name: "set on a directory", req: put("/d", "x"),
			want:  `{"errorCode":102,"message":"Not a file","cause":"/d","index":4}`,
			stats: Stats{SetFail: 1}},
		{name: "set dir=true on a directory", req: mkdir("/e"),
			want:  `{"errorCode":102,"message":"Not a file","cause":"/e","index":4}`,
			stats: Stats{SetFail: 1}},
		{name: "set dir=true on a file makes an empty directory", req: mkdir("/f"),
			want:  `{"action":"set","node":{"key":"/f","dir":true,"modifiedIndex":5,"createdIndex":5},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{SetSuccess: 1},
			reads: []readCheck{{"/f", false, `{"action":"get","node":{"key":"/f","dir":true,"modifiedIndex":5,"createdIndex":5}}`}}},
		{name: "set dir=true ignores the value", req: Request{Method: MethodPut, Path: "/1/nd", Dir: true, Val: "x"},
			want:  `{"action":"set","node":{"key":"/nd","dir":true,"modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{SetSuccess: 1}},
		{name: "set under a file", req: put("/f/x/y", "1"),
			want:  `{"errorCode":104,"message":"Not a directory","cause":"/f","index":4}`,
			stats: Stats{SetFail: 1}},
		{name: "set the root", req: put("/", "x"),
			want:  `{"errorCode":107,"message":"Root is read only","cause":"/","index":4}`,
			stats: Stats{SetFail: 1}},
		{name: "set an internal top directory", req: Request{Method: MethodPut, Path: "/0", Val: "x"},
			want:  `{"errorCode":107,"message":"Root is read only","cause":"/","index":4}`,
			stats: Stats{SetFail: 1}},
		{name: "set the store root", req: Request{Method: MethodPut, Path: "/", Dir: true},
			want:  `{"errorCode":107,"message":"Root is read only","cause":"/","index":4}`,
			stats: Stats{SetFail: 1}},
		{name: "set cleans the path", req: Request{Method: MethodPut, Path: "1//d/./y/", Val: "z"},
			want:  `{"action":"set","node":{"key":"/d/y","value":"z","modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{SetSuccess: 1}},
		{name: "set a hidden key", req: put("/d/_x", "z"),
			want:  `{"action":"set","node":{"key":"/d/_x","value":"z","modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{SetSuccess: 1},
			reads: []readCheck{
				{"/d", false, `{"action":"get","node":{"key":"/d","dir":true,"nodes":[{"key":"/d/x","value":"1","modifiedIndex":2,"createdIndex":2}],"modifiedIndex":2,"createdIndex":2}}`},
				{"/d/_x", false, `{"action":"get","node":{"key":"/d/_x","value":"z","modifiedIndex":5,"createdIndex":5}}`}}},
		{name: "set refresh recreates the node with its value", req: Request{Method: MethodPut, Path: "/1/f", Refresh: true},
			want:  `{"action":"set","node":{"key":"/f","value":"v","modifiedIndex":5,"createdIndex":5},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{SetSuccess: 1}},
		{name: "set refresh of a missing key", req: Request{Method: MethodPut, Path: "/1/nope", Refresh: true},
			want:  `{"errorCode":100,"message":"Key not found","cause":"/nope","index":4}`,
			stats: Stats{SetFail: 1}},
		{name: "set refresh of a directory", req: Request{Method: MethodPut, Path: "/1/e", Refresh: true},
			want:  `{"errorCode":102,"message":"Not a file","cause":"/e","index":4}`,
			stats: Stats{SetFail: 1}},

		// Create.
		{name: "create", req: Request{Method: MethodPut, Path: "/1/n", PrevExist: PrevExistFalse, Val: "x"},
			want:  `{"action":"create","node":{"key":"/n","value":"x","modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{CreateSuccess: 1}},
		{name: "create a directory", req: Request{Method: MethodPut, Path: "/1/n", PrevExist: PrevExistFalse, Dir: true},
			want:  `{"action":"create","node":{"key":"/n","dir":true,"modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{CreateSuccess: 1}},
		{name: "create ignores the conditions", req: Request{Method: MethodPut, Path: "/1/n", PrevExist: PrevExistFalse, PrevValue: "a", PrevIndex: 9, Val: "x"},
			want:  `{"action":"create","node":{"key":"/n","value":"x","modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{CreateSuccess: 1}},
		{name: "create an existing file", req: Request{Method: MethodPut, Path: "/1/f", PrevExist: PrevExistFalse, Val: "x"},
			want:  `{"errorCode":105,"message":"Key already exists","cause":"/f","index":4}`,
			stats: Stats{CreateFail: 1}},
		{name: "create an existing directory", req: Request{Method: MethodPut, Path: "/1/d", PrevExist: PrevExistFalse, Dir: true},
			want:  `{"errorCode":105,"message":"Key already exists","cause":"/d","index":4}`,
			stats: Stats{CreateFail: 1}},
		{name: "create under a file counts a setsFail too", req: Request{Method: MethodPut, Path: "/1/f/x", PrevExist: PrevExistFalse, Val: "x"},
			want:  `{"errorCode":104,"message":"Not a directory","cause":"/f","index":4}`,
			stats: Stats{CreateFail: 1, SetFail: 1}},
		{name: "create the root", req: Request{Method: MethodPut, Path: "/1", PrevExist: PrevExistFalse, Val: "x"},
			want:  `{"errorCode":107,"message":"Root is read only","cause":"/","index":4}`,
			stats: Stats{CreateFail: 1}},

		// Create in order.
		{name: "post", req: Request{Method: MethodPost, Path: "/1/q", Val: "j"},
			want:  `{"action":"create","node":{"key":"/q/00000000000000000005","value":"j","modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{CreateSuccess: 1}},
		{name: "post into an existing directory", req: Request{Method: MethodPost, Path: "/1/d", Val: "j"},
			want:  `{"action":"create","node":{"key":"/d/00000000000000000005","value":"j","modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{CreateSuccess: 1}},
		{name: "post a directory", req: Request{Method: MethodPost, Path: "/1/q", Dir: true},
			want:  `{"action":"create","node":{"key":"/q/00000000000000000005","dir":true,"modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{CreateSuccess: 1}},
		{name: "post on the root", req: Request{Method: MethodPost, Path: "/1/", Val: "j"},
			want:  `{"action":"create","node":{"key":"/00000000000000000005","value":"j","modifiedIndex":5,"createdIndex":5}}`,
			stats: Stats{CreateSuccess: 1}},
		{name: "post on a file", req: Request{Method: MethodPost, Path: "/1/f", Val: "j"},
			want:  `{"errorCode":104,"message":"Not a directory","cause":"/f","index":4}`,
			stats: Stats{CreateFail: 1, SetFail: 1}},
		{name: "post under a file", req: Request{Method: MethodPost, Path: "/1/f/x", Val: "j"},
			want:  `{"errorCode":104,"message":"Not a directory","cause":"/f","index":4}`,
			stats: Stats{CreateFail: 1, SetFail: 1}},

		// Update.
		{name: "update a file keeps createdIndex", req: Request{Method: MethodPut, Path: "/1/f", PrevExist: PrevExistTrue, Val: "w"},
			want:  `{"action":"update","node":{"key":"/f","value":"w","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{UpdateSuccess: 1},
			reads: []readCheck{{"/f", false, `{"action":"get","node":{"key":"/f","value":"w","modifiedIndex":5,"createdIndex":1}}`}}},
		{name: "update without a value empties the file", req: Request{Method: MethodPut, Path: "/1/f", PrevExist: PrevExistTrue},
			want:  `{"action":"update","node":{"key":"/f","value":"","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{UpdateSuccess: 1}},
		{name: "update with dir=true on a file (GH518)", req: Request{Method: MethodPut, Path: "/1/f", PrevExist: PrevExistTrue, Dir: true},
			want:  `{"action":"update","node":{"key":"/f","value":"","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{UpdateSuccess: 1}},
		{name: "update a missing key", req: Request{Method: MethodPut, Path: "/1/nope", PrevExist: PrevExistTrue, Val: "w"},
			want:  `{"errorCode":100,"message":"Key not found","cause":"/nope","index":4}`,
			stats: Stats{UpdateFail: 1}},
		{name: "update under a file", req: Request{Method: MethodPut, Path: "/1/f/x", PrevExist: PrevExistTrue, Val: "w"},
			want:  `{"errorCode":104,"message":"Not a directory","cause":"/f","index":4}`,
			stats: Stats{UpdateFail: 1}},
		{name: "update a directory with a value counts as a success", req: Request{Method: MethodPut, Path: "/1/d", PrevExist: PrevExistTrue, Val: "w"},
			want:  `{"errorCode":102,"message":"Not a file","cause":"/d","index":4}`,
			stats: Stats{UpdateSuccess: 1}},
		{name: "update a directory keeps its stored modifiedIndex", req: Request{Method: MethodPut, Path: "/1/d", PrevExist: PrevExistTrue},
			want:  `{"action":"update","node":{"key":"/d","dir":true,"modifiedIndex":5,"createdIndex":2},"prevNode":{"key":"/d","dir":true,"modifiedIndex":2,"createdIndex":2}}`,
			stats: Stats{UpdateSuccess: 1},
			reads: []readCheck{{"/d", false, `{"action":"get","node":{"key":"/d","dir":true,"nodes":[{"key":"/d/x","value":"1","modifiedIndex":2,"createdIndex":2}],"modifiedIndex":2,"createdIndex":2}}`}}},
		{name: "update the root counts as a success", req: Request{Method: MethodPut, Path: "/1", PrevExist: PrevExistTrue},
			want:  `{"errorCode":107,"message":"Root is read only","cause":"/","index":4}`,
			stats: Stats{UpdateSuccess: 1}},
		{name: "update refresh keeps the value", req: Request{Method: MethodPut, Path: "/1/f", PrevExist: PrevExistTrue, Refresh: true},
			want:  `{"action":"update","node":{"key":"/f","value":"v","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{UpdateSuccess: 1}},

		// Compare-and-swap.
		{name: "cas on value", req: Request{Method: MethodPut, Path: "/1/f", PrevValue: "v", Val: "w"},
			want:  `{"action":"compareAndSwap","node":{"key":"/f","value":"w","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{CompareAndSwapSuccess: 1}},
		{name: "cas on index", req: Request{Method: MethodPut, Path: "/1/f", PrevIndex: 1, Val: "w"},
			want:  `{"action":"compareAndSwap","node":{"key":"/f","value":"w","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{CompareAndSwapSuccess: 1}},
		{name: "cas on both with prevExist=true", req: Request{Method: MethodPut, Path: "/1/f", PrevExist: PrevExistTrue, PrevValue: "v", PrevIndex: 1, Val: "w"},
			want:  `{"action":"compareAndSwap","node":{"key":"/f","value":"w","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{CompareAndSwapSuccess: 1}},
		{name: "cas value mismatch", req: Request{Method: MethodPut, Path: "/1/f", PrevValue: "zz", Val: "w"},
			want:  `{"errorCode":101,"message":"Compare failed","cause":"[zz != v]","index":4}`,
			stats: Stats{CompareAndSwapFail: 1}},
		{name: "cas index mismatch", req: Request{Method: MethodPut, Path: "/1/f", PrevIndex: 3, Val: "w"},
			want:  `{"errorCode":101,"message":"Compare failed","cause":"[3 != 1]","index":4}`,
			stats: Stats{CompareAndSwapFail: 1}},
		{name: "cas both mismatch", req: Request{Method: MethodPut, Path: "/1/f", PrevValue: "zz", PrevIndex: 3, Val: "w"},
			want:  `{"errorCode":101,"message":"Compare failed","cause":"[zz != v] [3 != 1]","index":4}`,
			stats: Stats{CompareAndSwapFail: 1}},
		{name: "cas on a directory", req: Request{Method: MethodPut, Path: "/1/d", PrevIndex: 2, Val: "w"},
			want:  `{"errorCode":102,"message":"Not a file","cause":"/d","index":4}`,
			stats: Stats{CompareAndSwapFail: 1}},
		{name: "cas on a missing key", req: Request{Method: MethodPut, Path: "/1/nope", PrevValue: "a", Val: "w"},
			want:  `{"errorCode":100,"message":"Key not found","cause":"/nope","index":4}`,
			stats: Stats{CompareAndSwapFail: 1}},
		{name: "cas under a file", req: Request{Method: MethodPut, Path: "/1/f/x", PrevValue: "a", Val: "w"},
			want:  `{"errorCode":104,"message":"Not a directory","cause":"/f","index":4}`,
			stats: Stats{CompareAndSwapFail: 1}},
		{name: "cas on the root counts as a success", req: Request{Method: MethodPut, Path: "/1/", PrevValue: "a", Val: "w"},
			want:  `{"errorCode":107,"message":"Root is read only","cause":"/","index":4}`,
			stats: Stats{CompareAndSwapSuccess: 1}},
		{name: "cas refresh keeps the value", req: Request{Method: MethodPut, Path: "/1/f", PrevValue: "v", Refresh: true},
			want:  `{"action":"compareAndSwap","node":{"key":"/f","value":"v","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{CompareAndSwapSuccess: 1}},

		// Delete.
		{name: "delete a file", req: del("/f"),
			want:  `{"action":"delete","node":{"key":"/f","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{DeleteSuccess: 1},
			reads: []readCheck{{"/f", false, `{"errorCode":100,"message":"Key not found","cause":"/f","index":5}`}}},
		{name: "delete a file with dir=true", req: Request{Method: MethodDelete, Path: "/1/f", Dir: true, Recursive: true},
			want:  `{"action":"delete","node":{"key":"/f","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{DeleteSuccess: 1}},
		{name: "delete a directory without dir", req: del("/e"),
			want:  `{"errorCode":102,"message":"Not a file","cause":"/e","index":4}`,
			stats: Stats{DeleteFail: 1}},
		{name: "delete an empty directory", req: Request{Method: MethodDelete, Path: "/1/e", Dir: true},
			want:  `{"action":"delete","node":{"key":"/e","dir":true,"modifiedIndex":5,"createdIndex":3},"prevNode":{"key":"/e","dir":true,"modifiedIndex":3,"createdIndex":3}}`,
			stats: Stats{DeleteSuccess: 1}},
		{name: "delete a non-empty directory", req: Request{Method: MethodDelete, Path: "/1/d", Dir: true},
			want:  `{"errorCode":108,"message":"Directory not empty","cause":"/d","index":4}`,
			stats: Stats{DeleteFail: 1}},
		{name: "delete a directory holding only a hidden key", req: Request{Method: MethodDelete, Path: "/1/g", Dir: true},
			want:  `{"errorCode":108,"message":"Directory not empty","cause":"/g","index":4}`,
			stats: Stats{DeleteFail: 1}},
		{name: "recursive delete implies dir", req: Request{Method: MethodDelete, Path: "/1/d", Recursive: true},
			want:  `{"action":"delete","node":{"key":"/d","dir":true,"modifiedIndex":5,"createdIndex":2},"prevNode":{"key":"/d","dir":true,"modifiedIndex":2,"createdIndex":2}}`,
			stats: Stats{DeleteSuccess: 1},
			reads: []readCheck{{"/d/x", false, `{"errorCode":100,"message":"Key not found","cause":"/d","index":5}`}}},
		{name: "delete a missing key", req: del("/nope"),
			want:  `{"errorCode":100,"message":"Key not found","cause":"/nope","index":4}`,
			stats: Stats{DeleteFail: 1}},
		{name: "delete the root counts as a success", req: Request{Method: MethodDelete, Path: "/1", Recursive: true},
			want:  `{"errorCode":107,"message":"Root is read only","cause":"/","index":4}`,
			stats: Stats{DeleteSuccess: 1}},
		{name: "delete /2", req: Request{Method: MethodDelete, Path: "/2", Recursive: true},
			want:  `{"errorCode":107,"message":"Root is read only","cause":"/","index":4}`,
			stats: Stats{DeleteSuccess: 1}},

		// Compare-and-delete.
		{name: "cad on value", req: Request{Method: MethodDelete, Path: "/1/f", PrevValue: "v"},
			want:  `{"action":"compareAndDelete","node":{"key":"/f","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{CompareAndDeleteSuccess: 1}},
		{name: "cad on index ignores dir and recursive", req: Request{Method: MethodDelete, Path: "/1/f", PrevIndex: 1, Dir: true, Recursive: true},
			want:  `{"action":"compareAndDelete","node":{"key":"/f","modifiedIndex":5,"createdIndex":1},"prevNode":{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1}}`,
			stats: Stats{CompareAndDeleteSuccess: 1}},
		{name: "cad mismatch counts as a success", req: Request{Method: MethodDelete, Path: "/1/f", PrevValue: "zz", PrevIndex: 7},
			want:  `{"errorCode":101,"message":"Compare failed","cause":"[zz != v] [7 != 1]","index":4}`,
			stats: Stats{CompareAndDeleteSuccess: 1}},
		{name: "cad on a directory counts as a success", req: Request{Method: MethodDelete, Path: "/1/d", PrevIndex: 2},
			want:  `{"errorCode":102,"message":"Not a file","cause":"/d","index":4}`,
			stats: Stats{CompareAndDeleteSuccess: 1}},
		{name: "cad on the root has no cause", req: Request{Method: MethodDelete, Path: "/1/", PrevValue: "x"},
			want:  `{"errorCode":102,"message":"Not a file","index":4}`,
			stats: Stats{CompareAndDeleteSuccess: 1}},
		{name: "cad on a missing key", req: Request{Method: MethodDelete, Path: "/1/nope", PrevValue: "x"},
			want:  `{"errorCode":100,"message":"Key not found","cause":"/nope","index":4}`,
			stats: Stats{CompareAndDeleteFail: 1}},

		// Quorum get.
		{name: "qget", req: Request{Method: MethodQGet, Path: "/1/d", Recursive: true, Sorted: true},
			want:  `{"action":"get","node":{"key":"/d","dir":true,"nodes":[{"key":"/d/x","value":"1","modifiedIndex":2,"createdIndex":2}],"modifiedIndex":2,"createdIndex":2}}`,
			stats: Stats{GetSuccess: 1}},
		{name: "qget missing", req: Request{Method: MethodQGet, Path: "/1/nope/x"},
			want:  `{"errorCode":100,"message":"Key not found","cause":"/nope","index":4}`,
			stats: Stats{GetFail: 1}},

		// The root of the user key space.
		{name: "qget the root", req: Request{Method: MethodQGet, Path: "/1", Sorted: true},
			want:  `{"action":"get","node":{"dir":true,"nodes":[{"key":"/d","dir":true,"modifiedIndex":2,"createdIndex":2},{"key":"/e","dir":true,"modifiedIndex":3,"createdIndex":3},{"key":"/f","value":"v","modifiedIndex":1,"createdIndex":1},{"key":"/g","dir":true,"modifiedIndex":4,"createdIndex":4}]}}`,
			stats: Stats{GetSuccess: 1}},
		{name: "qget the empty root", setup: []Request{
			{Method: MethodDelete, Path: "/1/f"}, {Method: MethodDelete, Path: "/1/d", Recursive: true},
			{Method: MethodDelete, Path: "/1/e", Dir: true}, {Method: MethodDelete, Path: "/1/g", Recursive: true}},
			req:   Request{Method: MethodQGet, Path: "/1"},
			want:  `{"action":"get","node":{"dir":true}}`,
			stats: Stats{GetSuccess: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := baseStore(t)
			for _, r := range tt.setup {
				if _, err := s.Apply(&r); err != nil {
					t.Fatal(err)
				}
			}
			before := s.Stats()
			indexBefore := s.Index()
			got := apply(t, s, tt.req)
			if got != tt.want {
				t.Fatalf("\n got %s\nwant %s", got, tt.want)
			}
			if d := statsDelta(before, s.Stats()); d != tt.stats {
				t.Errorf("stats delta %+v, want %+v", d, tt.stats)
			}
			if isErr := strings.HasPrefix(got, `{"errorCode"`); isErr || tt.req.Method == MethodQGet {
				if s.Index() != indexBefore {
					t.Errorf("a failure or a read moved the index from %d to %d", indexBefore, s.Index())
				}
			} else if s.Index() != indexBefore+1 {
				t.Errorf("a write moved the index from %d to %d", indexBefore, s.Index())
			}
			for _, rc := range tt.reads {
				if g := get(t, s, "/1"+rc.key, rc.recursive, true, testNow()); g != rc.want {
					t.Errorf("GET %s\n got %s\nwant %s", rc.key, g, rc.want)
				}
			}
		})
	}
}

func TestApplyUnknownMethod(t *testing.T) {
	s := New()
	e, err := s.Apply(&Request{Method: 99, Path: "/1/a"})
	if e != nil || err == nil || !strings.Contains(err.Error(), "kv: unknown method") {
		t.Fatalf("Apply of an unknown method = %v, %v", e, err)
	}
	if s.Index() != 0 {
		t.Fatalf("index moved")
	}
}

func TestEventIsCreated(t *testing.T) {
	s := baseStore(t)
	for _, tt := range []struct {
		r    Request
		want bool
	}{
		{put("/n", "x"), true},
		{put("/n", "y"), false},
		{Request{Method: MethodPost, Path: "/1/q"}, true},
		{Request{Method: MethodPut, Path: "/1/c", PrevExist: PrevExistFalse}, true},
		{Request{Method: MethodPut, Path: "/1/c", PrevExist: PrevExistTrue}, false},
		{del("/c"), false},
	} {
		e, err := s.Apply(&tt.r)
		if err != nil {
			t.Fatal(err)
		}
		if e.IsCreated() != tt.want {
			t.Errorf("%s %s: IsCreated %v", e.Action, e.Node.Key, e.IsCreated())
		}
	}
}

// TestGetListings covers hidden keys, sorted and recursive listings, the
// root, and read errors.
func TestGetListings(t *testing.T) {
	s := New()
	for _, r := range []Request{
		put("/b", "2"), put("/a", "1"), put("/c/z", "3"), put("/c/_y", "4"), put("/c/x/w", "5"),
		put("/_h/in", "6"), mkdir("/empty"), put("/only/_hidden", "7"),
	} {
		apply(t, s, r)
	}
	now := testNow()
	tests := []struct {
		key               string
		recursive, sorted bool
		want              string
	}{
		{"/", false, true, `{"action":"get","node":{"dir":true,"nodes":[{"key":"/a","value":"1","modifiedIndex":2,"createdIndex":2},{"key":"/b","value":"2","modifiedIndex":1,"createdIndex":1},{"key":"/c","dir":true,"modifiedIndex":3,"createdIndex":3},{"key":"/empty","dir":true,"modifiedIndex":7,"createdIndex":7},{"key":"/only","dir":true,"modifiedIndex":8,"createdIndex":8}]}}`},
		{"/", true, true, `{"action":"get","node":{"dir":true,"nodes":[{"key":"/a","value":"1","modifiedIndex":2,"createdIndex":2},{"key":"/b","value":"2","modifiedIndex":1,"createdIndex":1},{"key":"/c","dir":true,"nodes":[{"key":"/c/x","dir":true,"nodes":[{"key":"/c/x/w","value":"5","modifiedIndex":5,"createdIndex":5}],"modifiedIndex":5,"createdIndex":5},{"key":"/c/z","value":"3","modifiedIndex":3,"createdIndex":3}],"modifiedIndex":3,"createdIndex":3},{"key":"/empty","dir":true,"modifiedIndex":7,"createdIndex":7},{"key":"/only","dir":true,"modifiedIndex":8,"createdIndex":8}]}}`},
		{"/c", false, true, `{"action":"get","node":{"key":"/c","dir":true,"nodes":[{"key":"/c/x","dir":true,"modifiedIndex":5,"createdIndex":5},{"key":"/c/z","value":"3","modifiedIndex":3,"createdIndex":3}],"modifiedIndex":3,"createdIndex":3}}`},
		{"/c/_y", false, false, `{"action":"get","node":{"key":"/c/_y","value":"4","modifiedIndex":4,"createdIndex":4}}`},
		{"/_h", true, true, `{"action":"get","node":{"key":"/_h","dir":true,"nodes":[{"key":"/_h/in","value":"6","modifiedIndex":6,"createdIndex":6}],"modifiedIndex":6,"createdIndex":6}}`},
		{"/empty", true, true, `{"action":"get","node":{"key":"/empty","dir":true,"modifiedIndex":7,"createdIndex":7}}`},
		{"/only", true, true, `{"action":"get","node":{"key":"/only","dir":true,"modifiedIndex":8,"createdIndex":8}}`},
		{"/a/b", false, false, `{"errorCode":104,"message":"Not a directory","cause":"/a","index":8}`},
		{"/x/y/z", false, false, `{"errorCode":100,"message":"Key not found","cause":"/x","index":8}`},
		{"/c/x/nope", false, false, `{"errorCode":100,"message":"Key not found","cause":"/c/x/nope","index":8}`},
		// The server's own views: the store root and /0 keep their keys.
		{"/../0", false, true, `{"action":"get","node":{"key":"/0","dir":true}}`},
	}
	for _, tt := range tests {
		if got := get(t, s, "/1"+tt.key, tt.recursive, tt.sorted, now); got != tt.want {
			t.Errorf("GET %s recursive=%v sorted=%v\n got %s\nwant %s", tt.key, tt.recursive, tt.sorted, got, tt.want)
		}
	}
	if got, want := get(t, s, "/", false, true, now), `{"action":"get","node":{"key":"/","dir":true,"nodes":[{"key":"/0","dir":true},{"dir":true},{"key":"/2","dir":true}]}}`; got != want {
		t.Errorf("GET store root\n got %s\nwant %s", got, want)
	}
	// Unsorted listings hold the same nodes in some order.
	got := get(t, s, "/1", true, false, now)
	want := get(t, s, "/1", true, true, now)
	if normalize(t, got) != normalize(t, want) {
		t.Errorf("unsorted listing differs:\n%s\n%s", got, want)
	}
}

// TestTTLFields covers expiration and ttl as reads show them.
func TestTTLFields(t *testing.T) {
	s := New()
	now := at(t, "2026-01-01T00:00:00Z")
	apply(t, s, withTTL(put("/k", "v"), now, 5*time.Second+time.Millisecond))
	apply(t, s, withTTL(put("/z", "v"), now, 0))
	tests := []struct {
		key  string
		now  time.Time
		want string
	}{
		{"/k", now, `{"action":"get","node":{"key":"/k","value":"v","expiration":"2026-01-01T00:00:05.001Z","ttl":6,"modifiedIndex":1,"createdIndex":1}}`},
		{"/k", now.Add(4 * time.Second), `{"action":"get","node":{"key":"/k","value":"v","expiration":"2026-01-01T00:00:05.001Z","ttl":2,"modifiedIndex":1,"createdIndex":1}}`},
		{"/k", now.Add(5001 * time.Millisecond), `{"action":"get","node":{"key":"/k","value":"v","expiration":"2026-01-01T00:00:05.001Z","modifiedIndex":1,"createdIndex":1}}`},
		{"/k", now.Add(7 * time.Second), `{"action":"get","node":{"key":"/k","value":"v","expiration":"2026-01-01T00:00:05.001Z","ttl":-1,"modifiedIndex":1,"createdIndex":1}}`},
		// ttl=0: an expiration and no ttl until the next SYNC.
		{"/z", now, `{"action":"get","node":{"key":"/z","value":"v","expiration":"2026-01-01T00:00:00Z","modifiedIndex":2,"createdIndex":2}}`},
	}
	for _, tt := range tests {
		if got := get(t, s, "/1"+tt.key, false, false, tt.now); got != tt.want {
			t.Errorf("GET %s at %v\n got %s\nwant %s", tt.key, tt.now, got, tt.want)
		}
	}
	// Deadlines before 2000 mean no TTL.
	r := put("/old", "v")
	r.Expiration = at(t, "1999-12-31T23:59:59Z").UnixNano()
	if got, want := apply(t, s, r), `{"action":"set","node":{"key":"/old","value":"v","modifiedIndex":3,"createdIndex":3}}`; got != want {
		t.Errorf("old deadline\n got %s\nwant %s", got, want)
	}
	// With a Time in the request, an event read later from the history shows
	// the ttl the writer saw (etcd 2.3.8 answered a watch with "ttl":1 for a
	// ttl=1 key 2.5 s after it expired).
	w := mustWatch(t, s, "/k", false, false, 1)
	if got, want := string(next(t, w).AppendJSON(nil, now.Add(time.Hour))), `{"action":"set","node":{"key":"/k","value":"v","expiration":"2026-01-01T00:00:05.001Z","ttl":6,"modifiedIndex":1,"createdIndex":1}}`; got != want {
		t.Errorf("history event ttl\n got %s\nwant %s", got, want)
	}
	// Without a Time in the request, an event's ttl is counted at rendering.
	r = put("/late", "v")
	r.Expiration = now.Add(10 * time.Second).UnixNano()
	e, err := s.Apply(&r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(e.AppendJSON(nil, now.Add(3*time.Second))), `{"action":"set","node":{"key":"/late","value":"v","expiration":"2026-01-01T00:00:10Z","ttl":7,"modifiedIndex":4,"createdIndex":4}}`; got != want {
		t.Errorf("event ttl at rendering\n got %s\nwant %s", got, want)
	}
}

// TestTTLChanges covers how each write treats an existing TTL.
func TestTTLChanges(t *testing.T) {
	now := at(t, "2026-01-01T00:00:00Z")
	later := now.Add(time.Hour)
	tests := []struct {
		name string
		req  Request
		want string // the node's expiration after the write, "" for none
	}{
		{"set without ttl drops it", put("/k", "w"), ""},
		{"set with ttl replaces it", withTTL(put("/k", "w"), now, time.Hour), "2026-01-01T01:00:00Z"},
		{"update without ttl drops it", Request{Method: MethodPut, Path: "/1/k", PrevExist: PrevExistTrue, Val: "w"}, ""},
		{"update with ttl replaces it", withTTL(Request{Method: MethodPut, Path: "/1/k", PrevExist: PrevExistTrue, Val: "w"}, now, time.Hour), "2026-01-01T01:00:00Z"},
		{"cas without ttl drops it", Request{Method: MethodPut, Path: "/1/k", PrevValue: "v", Val: "w"}, ""},
		{"cas with ttl replaces it", withTTL(Request{Method: MethodPut, Path: "/1/k", PrevValue: "v", Val: "w"}, now, time.Hour), "2026-01-01T01:00:00Z"},
		{"refresh replaces it", withTTL(Request{Method: MethodPut, Path: "/1/k", PrevExist: PrevExistTrue, Refresh: true}, now, time.Hour), "2026-01-01T01:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			apply(t, s, withTTL(put("/k", "v"), now, time.Minute))
			apply(t, s, tt.req)
			e, err := s.Get("/1/k", false, false)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if e.Node.Expiration != 0 {
				got = time.Unix(0, e.Node.Expiration).UTC().Format(time.RFC3339Nano)
			}
			if got != tt.want {
				t.Fatalf("expiration %q, want %q", got, tt.want)
			}
			// The old deadline no longer expires the key.
			apply(t, s, syncAt(now.Add(2*time.Minute)))
			if _, err := s.Get("/1/k", false, false); err != nil {
				t.Fatalf("key expired at its old deadline: %v", err)
			}
			apply(t, s, syncAt(later))
			_, err = s.Get("/1/k", false, false)
			if expired := err != nil; expired != (tt.want != "") {
				t.Fatalf("after the new deadline: expired=%v", expired)
			}
		})
	}
	// A permanent node gets a TTL through update.
	s := New()
	apply(t, s, put("/k", "v"))
	apply(t, s, withTTL(Request{Method: MethodPut, Path: "/1/k", PrevExist: PrevExistTrue, Val: "v"}, now, time.Second))
	apply(t, s, syncAt(now.Add(time.Second)))
	if _, err := s.Get("/1/k", false, false); err == nil {
		t.Fatal("key with a TTL from update did not expire")
	}
}

// TestExpiry covers SYNC: deadline order, one index and event per expired
// node, directories going with their subtree, ttl=0, the expire event.
func TestExpiry(t *testing.T) {
	now := at(t, "2026-01-01T00:00:00Z")
	s := New()
	apply(t, s, withTTL(put("/c", "3"), now, 3*time.Second))                     // 1
	apply(t, s, withTTL(put("/a", "1"), now, 1*time.Second))                     // 2
	apply(t, s, withTTL(mkdir("/dir"), now, 2*time.Second))                      // 3
	apply(t, s, withTTL(put("/dir/in", "x"), now, 10*time.Second))               // 4
	apply(t, s, put("/dir/sub/deep", "y"))                                       // 5
	apply(t, s, withTTL(put("/tie2", "t"), now.Add(time.Second), 2*time.Second)) // 6: same deadline as /c
	apply(t, s, withTTL(put("/zero", "z"), now, 0))                              // 7
	apply(t, s, put("/perm", "p"))                                               // 8
	w, err := s.Watch("/1", true, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := apply(t, s, syncAt(now.Add(-time.Second))); got != "<nil>" || s.Index() != 8 {
		t.Fatalf("an early SYNC changed the store")
	}
	apply(t, s, syncAt(now.Add(3*time.Second)))
	var order []string
	for range 5 {
		e := next(t, w)
		if e.Action != ActionExpire {
			t.Fatalf("action %s", e.Action)
		}
		order = append(order, DisplayKey(e.Node.Key))
		if e.Index() != uint64(8+len(order)) {
			t.Fatalf("expire of %s at %d", e.Node.Key, e.Index())
		}
	}
	none(t, w)
	if got, want := strings.Join(order, " "), "/zero /a /dir /c /tie2"; got != want {
		t.Fatalf("expiry order %s, want %s", got, want)
	}
	if got, want := get(t, s, "/1", true, true, now), `{"action":"get","node":{"dir":true,"nodes":[{"key":"/perm","value":"p","modifiedIndex":8,"createdIndex":8}]}}`; got != want {
		t.Fatalf("after expiry\n got %s\nwant %s", got, want)
	}
	if st := s.Stats(); st.ExpireCount != 5 {
		t.Fatalf("expireCount %d", st.ExpireCount)
	}
	// The directory's event, from the history: no dir flag on node (2.3),
	// prevNode with its expiration, ttl counted at the SYNC's time.
	wd, err := s.Watch("/1/dir", false, false, 9)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(next(t, wd).AppendJSON(nil, now.Add(time.Hour))), `{"action":"expire","node":{"key":"/dir","modifiedIndex":11,"createdIndex":3},"prevNode":{"key":"/dir","dir":true,"expiration":"2026-01-01T00:00:02Z","ttl":-1,"modifiedIndex":3,"createdIndex":3}}`; got != want {
		t.Fatalf("dir expire event\n got %s\nwant %s", got, want)
	}
	if s.ttl.len() != 0 {
		t.Fatalf("%d TTLs left in the heap", s.ttl.len())
	}
	w.Remove()
}

// TestHash checks that the hash sees every part of a node and the index,
// and nothing else.
func TestHash(t *testing.T) {
	now := at(t, "2026-01-01T00:00:00Z")
	build := func(extra ...Request) *Store {
		s := New()
		for _, r := range append([]Request{put("/a/b", "1"), mkdir("/d"), withTTL(put("/t", "x"), now, time.Hour)}, extra...) {
			apply(t, s, r)
		}
		return s
	}
	base := build().Hash()
	if build().Hash() != base {
		t.Fatal("same content, different hash")
	}
	for name, s := range map[string]*Store{
		"value":               build(put("/a/b", "2")),
		"dir update":          build(Request{Method: MethodPut, Path: "/1/d", PrevExist: PrevExistTrue}),
		"ttl":                 build(withTTL(Request{Method: MethodPut, Path: "/1/t", PrevExist: PrevExistTrue, Val: "x"}, now, 2*time.Hour)),
		"file to dir":         build(mkdir("/a/b")),
		"internal key":        build(Request{Method: MethodPut, Path: "/0/version", Val: "2.3.0"}),
		"same name elsewhere": build(put("/b/a", "1")),
	} {
		if s.Hash() == base {
			t.Errorf("%s: hash unchanged", name)
		}
	}
	// Reads, watches and failed writes change nothing.
	s := build()
	s.Get("/1/a", true, true)
	w := mustWatch(t, s, "/a", true, false, 0)
	apply(t, s, put("/a", "x"))
	if s.Hash() != base {
		t.Fatal("reads, watches or failures changed the hash")
	}
	w.Remove()
	// A key set and deleted again leaves the content but not the index.
	apply(t, s, put("/z", "1"))
	apply(t, s, del("/z"))
	if s.Hash() == base {
		t.Fatal("the index is not in the hash")
	}
}

func TestHasTTL(t *testing.T) {
	now := at(t, "2026-01-01T00:00:00Z")
	s := New()
	if s.HasTTL() {
		t.Fatal("empty store has a TTL")
	}
	apply(t, s, withTTL(put("/k", "v"), now, time.Second))
	if !s.HasTTL() {
		t.Fatal("TTL not seen")
	}
	apply(t, s, syncAt(now.Add(time.Second)))
	if s.HasTTL() {
		t.Fatal("TTL left after expiry")
	}
}

// TestInternalPaths covers writes the server makes outside /1: their keys
// and causes are shown whole.
func TestInternalPaths(t *testing.T) {
	s := New()
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Method: MethodPost, Path: "/"}, `{"action":"create","node":{"key":"/00000000000000000001","value":"","modifiedIndex":1,"createdIndex":1}}`},
		{Request{Method: MethodPut, Path: "/2/enabled", Val: "true"}, `{"action":"set","node":{"key":"/2/enabled","value":"true","modifiedIndex":2,"createdIndex":2}}`},
		{Request{Method: MethodPut, Path: "/2/enabled/x", Val: "true"}, `{"errorCode":104,"message":"Not a directory","cause":"/2/enabled","index":2}`},
		{Request{Method: MethodQGet, Path: "/0/nope"}, `{"errorCode":100,"message":"Key not found","cause":"/0/nope","index":2}`},
	}
	for _, tt := range tests {
		if got := apply(t, s, tt.req); got != tt.want {
			t.Errorf("%v %s\n got %s\nwant %s", tt.req.Method, tt.req.Path, got, tt.want)
		}
	}
}

func TestNodeJSON(t *testing.T) {
	n := Node{Key: "/1/a", Value: "v", Expiration: at(t, "2026-01-01T00:00:10Z").UnixNano(), ModifiedIndex: 3, CreatedIndex: 2,
		Nodes: []Node{{Key: "/1/a/b", Dir: true}}}
	got := string(n.AppendJSON(nil, at(t, "2026-01-01T00:00:00Z")))
	want := `{"key":"/a","value":"v","expiration":"2026-01-01T00:00:10Z","ttl":10,"nodes":[{"key":"/a/b","dir":true}],"modifiedIndex":3,"createdIndex":2}`
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestNamesAndMessages(t *testing.T) {
	for code := range 600 {
		msg := Message(code)
		known := code >= 100 && code <= 110 || code >= 200 && code <= 212 || code == 300 || code == 301 ||
			code >= 400 && code <= 404 || code == 500
		if (msg != "") != known {
			t.Errorf("code %d: message %q", code, msg)
		}
	}
	for m, want := range map[Method]string{MethodPut: "PUT", MethodPost: "POST", MethodDelete: "DELETE", MethodQGet: "QGET", MethodSync: "SYNC", 0: "Method(0)"} {
		if m.String() != want {
			t.Errorf("%d: %s", m, m.String())
		}
	}
}

// TestNodesCount checks the node count through creates, deletes, expiry and
// a snapshot round trip.
func TestNodesCount(t *testing.T) {
	s := New()
	apply := func(r Request) {
		t.Helper()
		if _, err := s.Apply(&r); err != nil {
			t.Fatal(err)
		}
	}
	apply(Request{Method: MethodPut, Path: "/1/a/b/c", Val: "1"}) // a, a/b, a/b/c
	apply(Request{Method: MethodPut, Path: "/1/a/b/c", Val: "2"}) // replaced, not added
	apply(Request{Method: MethodPut, Path: "/1/d", Val: "x", Expiration: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()})
	if n := s.Nodes(); n != 4 {
		t.Fatalf("nodes = %d, want 4", n)
	}
	var buf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	r := New()
	if err := r.Recover(buf.Bytes()); err != nil || r.Nodes() != 4 {
		t.Fatalf("recovered nodes = %d (%v), want 4", r.Nodes(), err)
	}
	apply(Request{Method: MethodDelete, Path: "/1/a", Dir: true, Recursive: true})
	apply(Request{Method: MethodSync, Time: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()})
	if n := s.Nodes(); n != 0 {
		t.Fatalf("nodes after delete and expiry = %d, want 0", n)
	}
}
