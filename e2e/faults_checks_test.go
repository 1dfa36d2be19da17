package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"v2etcd/e2e/lin"
)

// The checks and the WAL cuts of TestFaults, on made-up histories, watch
// records and files: each must catch what it is there to catch, and cut
// only what it may.

func TestLostWrites(t *testing.T) {
	ms := func(n int64) int64 { return n * int64(time.Millisecond) }
	put := func(client int, v string, call, ret int64) lin.Op {
		return lin.Op{Client: client, Key: "k", Kind: lin.Put, Value: v, Call: ms(call), Return: ms(ret)}
	}
	unknown := func(op lin.Op) lin.Op { op.Return = lin.Unknown; return op }
	del := lin.Op{Client: 3, Key: "k", Kind: lin.Delete, Call: ms(20), Return: ms(21)}
	failedCAS := lin.Op{Client: 4, Key: "k", Kind: lin.CompareAndSwap, Prev: "x", Value: "c", Call: ms(30), Return: ms(31), Code: lin.CodeTestFailed}
	tests := []struct {
		name  string
		hist  []lin.Op
		final lin.State
		lost  bool
	}{
		{"last write read", []lin.Op{put(1, "a", 1, 2), put(2, "b", 3, 4)}, lin.State{Exists: true, Value: "b"}, false},
		{"last write lost", []lin.Op{put(1, "a", 1, 2), put(2, "b", 3, 4)}, lin.State{Exists: true, Value: "a"}, true},
		{"overlapping writes, either", []lin.Op{put(1, "a", 1, 4), put(2, "b", 2, 3)}, lin.State{Exists: true, Value: "a"}, false},
		{"an unknown write may come after", []lin.Op{put(1, "a", 1, 2), unknown(put(2, "b", 0, 0))}, lin.State{Exists: true, Value: "b"}, false},
		{"equal times overlap", []lin.Op{put(1, "a", 1, 3), put(2, "b", 3, 4)}, lin.State{Exists: true, Value: "a"}, false},
		{"a delete last", []lin.Op{put(1, "a", 1, 2), del}, lin.State{}, false},
		{"a delete lost", []lin.Op{put(1, "a", 1, 2), del}, lin.State{Exists: true, Value: "a"}, true},
		{"a failed cas changes nothing", []lin.Op{put(1, "a", 1, 2), failedCAS}, lin.State{Exists: true, Value: "c"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lostWrites(tt.hist, map[string]lin.State{"k": tt.final})
			if (len(got) > 0) != tt.lost {
				t.Errorf("lostWrites: %q, want lost %v", got, tt.lost)
			}
		})
	}
}

func TestCheckWatchers(t *testing.T) {
	ev := func(i uint64, v string) wevent { return wevent{index: i, key: "/g/k0", action: "set", value: v} }
	seg := func(from uint64, es ...wevent) *watchSeg { return &watchSeg{from: from, events: es} }
	tests := []struct {
		name  string
		segs  [][]*watchSeg // per watcher
		acked []wevent
		want  string // a problem that must be reported, "" for none
	}{
		{"agree", [][]*watchSeg{{seg(1, ev(2, "a"), ev(5, "b"))}, {seg(1, ev(2, "a"), ev(5, "b"))}}, []wevent{ev(2, "a"), ev(5, "b")}, ""},
		{"restart after 401", [][]*watchSeg{{seg(1, ev(2, "a")), seg(4, ev(5, "b"))}, {seg(1, ev(2, "a"), ev(5, "b"))}}, nil, ""},
		{"gap", [][]*watchSeg{{seg(1, ev(2, "a"), ev(5, "b"), ev(7, "c"))}, {seg(1, ev(2, "a"), ev(7, "c"))}}, nil, "missed 5"},
		{"acknowledged change missed by all", [][]*watchSeg{{seg(1, ev(2, "a"), ev(7, "c"))}}, []wevent{ev(5, "b")}, "missed 5"},
		{"disagree", [][]*watchSeg{{seg(1, ev(2, "a"))}, {seg(1, ev(2, "x"))}}, nil, "disagree at index 2"},
		{"acknowledged another value", [][]*watchSeg{{seg(1, ev(2, "a"))}}, []wevent{ev(2, "z")}, "acknowledged 2"},
		{"repeated", [][]*watchSeg{{seg(1, ev(2, "a"), ev(2, "a"))}}, nil, "out of order or repeated"},
		{"out of order", [][]*watchSeg{{seg(1, ev(5, "b"), ev(2, "a"))}}, nil, "out of order or repeated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &gen{dir: "/g", keys: []string{"/g/k0"}}
			for i, segs := range tt.segs {
				g.watchers = append(g.watchers, &watcher{gen: g, slot: &fslot{name: fmt.Sprintf("f%d", i+1)}, segs: segs})
			}
			acked := map[uint64]wevent{}
			for _, e := range tt.acked {
				acked[e.index] = e
			}
			r := checkWatchers([]*gen{g}, acked)
			got := strings.Join(r.problems, "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("problems:\n%s\nwant one with %q", got, tt.want)
			}
		})
	}
}

// TestCutWAL cuts a made-up segment every way, at several points: the
// bytes before the synced offset never change, zeroed bytes are only past
// it and within the written bytes, and a truncation lands between the
// synced offset and the file's end.
func TestCutWAL(t *testing.T) {
	const synced, written, size = 1000, 1700, 8192
	for _, cut := range []walCut{cutInData, cutAnywhere, zeroTail, zeroSectors} {
		for _, frac := range []float64{0, 0.3, 0.999} {
			dir := t.TempDir()
			s := &fslot{name: "f1", dataDir: filepath.Join(dir, "data"), syncLog: filepath.Join(dir, "walsync.log")}
			walDir := filepath.Join(s.dataDir, "member", "wal")
			if err := os.MkdirAll(walDir, 0o700); err != nil {
				t.Fatal(err)
			}
			seg := filepath.Join(walDir, "0000000000000000-0000000000000000.wal")
			data := make([]byte, size)
			for i := range data[:written] {
				data[i] = byte(1 + i%255)
			}
			if err := os.WriteFile(seg, data, 0o600); err != nil {
				t.Fatal(err)
			}
			log := fmt.Sprintf("%s 512\n%s %d\n", seg, seg, synced)
			if err := os.WriteFile(s.syncLog, []byte(log), 0o600); err != nil {
				t.Fatal(err)
			}
			what, err := cutWAL(s, cut, frac, func(n int) int { return 0 })
			if err != nil {
				t.Fatalf("%s at %v: %v", cut, frac, err)
			}
			got, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case len(got) < synced || !bytes.Equal(got[:synced], data[:synced]):
				t.Errorf("%s at %v (%s): the synced bytes changed", cut, frac, what)
			case (cut == zeroTail || cut == zeroSectors) && len(got) != size:
				t.Errorf("%s at %v (%s): size %d", cut, frac, what, len(got))
			case cut == cutInData && len(got) > written:
				t.Errorf("%s at %v (%s): cut at %d, past the written bytes", cut, frac, what, len(got))
			}
			for i := synced; i < len(got); i++ {
				if got[i] != data[i] && (got[i] != 0 || i >= written) {
					t.Fatalf("%s at %v (%s): byte %d is %d, was %d", cut, frac, what, i, got[i], data[i])
				}
			}
			if cut == zeroTail && frac == 0 && !bytes.Equal(got[synced:written], make([]byte, written-synced)) {
				t.Errorf("%s from the synced offset (%s): the written bytes are still there", cut, what)
			}
		}
	}
	// Nothing reported: the WAL is left alone.
	s := &fslot{name: "f1", dataDir: t.TempDir(), syncLog: filepath.Join(t.TempDir(), "none.log")}
	if what, err := cutWAL(s, cutInData, 0.5, nil); err != nil || !strings.Contains(what, "left as is") {
		t.Errorf("no sync log: %q, %v", what, err)
	}
}

func TestHealToWrite(t *testing.T) {
	w := func(call, ret int64) lin.Op {
		return lin.Op{Key: "k", Kind: lin.Put, Value: "v", Call: call, Return: ret}
	}
	hist := []lin.Op{w(10, 50), w(20, 30), w(60, 90), {Key: "k", Kind: lin.Get, Call: 61, Return: 62}, w(70, lin.Unknown)}
	heals, last := healToWrite(hist, []int64{0, 15, 55}, 100)
	if want := []time.Duration{30, 15, 35}; fmt.Sprint(heals) != fmt.Sprint(want) || last != 0 {
		t.Errorf("heals %v, last %v; want %v, 0", heals, last, want)
	}
}
