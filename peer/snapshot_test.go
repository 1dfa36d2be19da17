package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"v2etcd/raft"
)

// randomBytes returns n bytes from a fixed seed.
func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func snapMsg(from, to ID, meta raft.SnapshotMetadata, data []byte) raft.Message {
	return raft.Message{Type: raft.MsgSnap, From: uint64(from), To: uint64(to), Term: meta.Term,
		Snapshot: &raft.Snapshot{Metadata: meta, Data: data}}
}

func TestSnapshotTransfer(t *testing.T) {
	data := randomBytes(6 << 20)
	meta := raft.SnapshotMetadata{Index: 100, Term: 3, ConfState: raft.ConfState{Voters: []uint64{1, 2}}}
	tests := []struct {
		name         string
		inline       bool  // raft put the data in the message
		senderFail   int64 // the sender's store fails after this many bytes
		receiverFail int64 // the receiver's store fails after this many bytes
		wantOK       bool
	}{
		{"whole snapshot from the store", false, 0, 0, true},
		{"data carried by the message", true, 0, 0, true},
		{"receiver fails midway", false, 0, 1 << 20, false},
		{"sender fails midway", false, 1 << 20, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := newNode(t, 1), newNode(t, 2)
			connect(a, b)
			a.snaps.data[meta.Index] = data
			a.snaps.openFail = tt.senderFail
			b.snaps.saveFail = tt.receiverFail
			var inline []byte
			if tt.inline {
				inline = data
			}
			a.tr.Send([]raft.Message{snapMsg(1, 2, meta, inline)})
			waitFor(t, "the snapshot report", func() bool { return len(a.raft.snapshotReports()) > 0 })
			if got := a.raft.snapshotReports(); len(got) != 1 || got[0] != (snapshotReport{2, tt.wantOK}) {
				t.Fatalf("reports %+v, want [{2 %v}]", got, tt.wantOK)
			}
			saved, ok := b.snaps.savedAt(meta.Index)
			var snaps []raft.Message
			for _, m := range b.raft.received(1) {
				if m.Type == raft.MsgSnap {
					snaps = append(snaps, m)
				}
			}
			if !tt.wantOK {
				if ok || len(snaps) != 0 {
					t.Fatalf("a failed transfer left saved=%v and %d MsgSnap", ok, len(snaps))
				}
				return
			}
			if !ok || !bytes.Equal(saved, data) {
				t.Fatalf("saved %d bytes (ok=%v), want the %d sent", len(saved), ok, len(data))
			}
			if len(snaps) != 1 {
				t.Fatalf("%d MsgSnap delivered", len(snaps))
			}
			got := snaps[0].Snapshot
			if len(got.Data) != 0 || got.Metadata.Index != 100 || got.Metadata.Term != 3 ||
				len(got.Metadata.ConfState.Voters) != 2 {
				t.Errorf("delivered snapshot %+v (data %d bytes)", got.Metadata, len(got.Data))
			}
		})
	}
}

func TestSnapshotOneAtATime(t *testing.T) {
	a, b := newNode(t, 1), newNode(t, 2)
	connect(a, b)
	meta := raft.SnapshotMetadata{Index: 5, Term: 1}
	a.snaps.data[5] = randomBytes(1000)
	gate := make(chan struct{})
	b.raft.mu.Lock()
	b.raft.gate = gate // the first transfer waits in Process
	b.raft.mu.Unlock()
	a.tr.Send([]raft.Message{snapMsg(1, 2, meta, nil)})
	waitFor(t, "the first snapshot to be saved", func() bool { _, ok := b.snaps.savedAt(5); return ok })
	a.tr.Send([]raft.Message{snapMsg(1, 2, meta, nil)}) // while the first is under way
	waitFor(t, "the second to fail", func() bool { return len(a.raft.snapshotReports()) == 1 })
	close(gate)
	waitFor(t, "the first to succeed", func() bool { return len(a.raft.snapshotReports()) == 2 })
	want := []snapshotReport{{2, false}, {2, true}}
	if got := a.raft.snapshotReports(); got[0] != want[0] || got[1] != want[1] {
		t.Errorf("reports %+v, want %+v", got, want)
	}
	// A snapshot the store does not have fails at once.
	a.tr.Send([]raft.Message{snapMsg(1, 2, raft.SnapshotMetadata{Index: 6, Term: 1}, nil)})
	waitFor(t, "the missing one to fail", func() bool { return len(a.raft.snapshotReports()) == 3 })
	if got := a.raft.snapshotReports()[2]; got.ok {
		t.Error("a missing snapshot was reported sent")
	}
	if a.logs.count("failed to send snapshot [index 6, term 1] to 2: peer: cannot open the snapshot: no snapshot at index 6") != 1 {
		t.Errorf("log:\n%s", a.logs)
	}
}

// snapshotBodyFor builds a snapshot request body by hand.
func snapshotBodyFor(m raft.Message, data []byte, crc uint32) []byte {
	b := appendFrame(nil, &m)
	b = binary.AppendUvarint(b, uint64(len(data)))
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc)
}

func TestSnapshotHandlerAnswers(t *testing.T) {
	n := newNode(t, 1)
	n.raft.remove(9)
	data := []byte("snapshot data")
	crc := crc32.Checksum(data, castagnoli)
	meta := raft.SnapshotMetadata{Index: 7, Term: 2}
	good := snapshotBodyFor(snapMsg(5, 1, meta, nil), data, crc)
	tests := []struct {
		name   string
		method string
		body   []byte
		status int
		prefix string // of the body
		saved  bool
	}{
		{"method", "GET", nil, 405, "Method Not Allowed", false},
		{"garbage", "POST", []byte{200}, 400, "cannot read the snapshot message", false},
		{"not a snapshot", "POST", snapshotBodyFor(heartbeat(5, 1, 1), data, crc), 400, "expected a snapshot for 1, got MsgHeartbeat to 1", false},
		{"not for us", "POST", snapshotBodyFor(snapMsg(5, 3, meta, nil), data, crc), 400, "expected a snapshot for 1, got MsgSnap to 3", false},
		{"removed sender", "POST", snapshotBodyFor(snapMsg(9, 1, meta, nil), data, crc), 403, `{"message":"cannot process message from removed member"}`, false},
		{"bad checksum", "POST", snapshotBodyFor(snapMsg(5, 1, meta, nil), data, crc+1), 400, "cannot save the snapshot: peer: snapshot checksum mismatch", false},
		{"cut in the data", "POST", good[:len(good)-8], 400, "cannot save the snapshot: peer: snapshot body ends after", false},
		{"cut in the checksum", "POST", good[:len(good)-2], 400, "cannot save the snapshot: peer: snapshot checksum missing", false},
		{"ok", "POST", good, 204, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawRequest(t, n, tt.method, "/raft/snapshot", tt.body, nil)
			if resp.StatusCode != tt.status || !strings.HasPrefix(body, tt.prefix) {
				t.Errorf("got %d %q, want %d %q...", resp.StatusCode, body, tt.status, tt.prefix)
			}
			saved, ok := n.snaps.savedAt(7)
			if ok != tt.saved || ok && !bytes.Equal(saved, data) {
				t.Errorf("saved %q (%v), want saved=%v", saved, ok, tt.saved)
			}
		})
	}
	if got := n.raft.received(5); len(got) != 1 || got[0].Type != raft.MsgSnap {
		t.Errorf("delivered %+v", got)
	}
}

func TestSnapshotBodyChecksItsSource(t *testing.T) {
	data := randomBytes(1000)
	tests := []struct {
		name string
		src  io.Reader
		size int64
		want string // error, "" for none
	}{
		{"exact", bytes.NewReader(data), 1000, ""},
		{"short", bytes.NewReader(data[:900]), 1000, "the snapshot ended after 900 of 1000 bytes"},
		{"long", bytes.NewReader(data), 999, "the snapshot is longer than its stated size"},
		{"failing at the end", io.MultiReader(bytes.NewReader(data), errReader{errors.New("snapshot file damaged")}), 1000, "snapshot file damaged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &snapshotBody{head: []byte("head"), data: tt.src, size: tt.size, idle: time.AfterFunc(time.Hour, func() {}), idleFor: time.Hour}
			got, err := io.ReadAll(b)
			if tt.want == "" {
				crc := crc32.Checksum(data[:tt.size], castagnoli)
				want := binary.BigEndian.AppendUint32(append([]byte("head"), data[:tt.size]...), crc)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("read %d bytes, err %v", len(got), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
