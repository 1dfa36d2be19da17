package raft

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"testing"
)

func sampleMessages() []Message {
	big := bytes.Repeat([]byte("x"), 300)
	return []Message{
		{},
		{Type: MsgHeartbeat, To: 2, From: 1, Term: 7, Commit: 99},
		{Type: MsgApp, To: 3, From: 1, Term: 5, LogTerm: 4, Index: 10, Commit: 9,
			Entries: []Entry{
				{Term: 5, Index: 11, Data: []byte("a")},
				{Term: 5, Index: 12, Type: EntryConfChange, Data: big},
				{Term: 5, Index: 13},
			}},
		{Type: MsgAppResp, To: 1, From: 2, Term: math.MaxUint64, Index: 8, Reject: true, RejectHint: 6},
		{Type: MsgSnap, To: 2, From: 1, Term: 3, Snapshot: &Snapshot{
			Metadata: SnapshotMetadata{Index: 1000, Term: 3, ConfState: ConfState{Voters: []uint64{1, 2, 1 << 63}}},
			Data:     big,
		}},
		{Type: MsgSnap, To: 2, From: 1, Term: 3, Snapshot: &Snapshot{Metadata: SnapshotMetadata{Index: 5, Term: 1}}},
		{Type: MsgReadIndex, To: 1, From: 3, Context: []byte("req-42")},
	}
}

// TestMessageRoundTrip checks that every field survives encoding, and that
// Size predicts the encoding's length exactly.
func TestMessageRoundTrip(t *testing.T) {
	for i, m := range sampleMessages() {
		b := m.Marshal()
		if len(b) != m.Size() {
			t.Errorf("message %d: Size() = %d, encoding has %d bytes", i, m.Size(), len(b))
		}
		var got Message
		if err := got.Unmarshal(b); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("message %d: round trip\n got %+v\nwant %+v", i, got, m)
		}
	}
}

// TestMessageTruncated cuts each encoding at every length: decoding a strict
// prefix must fail with ErrMalformed, never panic or succeed.
func TestMessageTruncated(t *testing.T) {
	for i, m := range sampleMessages() {
		b := m.Marshal()
		for n := 0; n < len(b); n++ {
			var got Message
			err := got.Unmarshal(b[:n])
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("message %d cut at %d/%d: err = %v, want ErrMalformed", i, n, len(b), err)
			}
		}
		var got Message
		if err := got.Unmarshal(append(b, 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("message %d with a trailing byte: err = %v, want ErrMalformed", i, err)
		}
	}
}

func TestMessageRejectsUnknownTypeAndFlags(t *testing.T) {
	b := (&Message{Type: MsgApp}).Marshal()
	b[0] = byte(msgTypeCount)
	var m Message
	if err := m.Unmarshal(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown type: err = %v", err)
	}
	b = (&Message{Type: MsgApp}).Marshal()
	b[9] = 0x80 // the flags byte of a message whose integers are all one byte
	if err := m.Unmarshal(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown flag: err = %v", err)
	}
}

// TestHostileCountDoesNotAllocate claims a huge number of entries in a tiny
// input: decoding must refuse before allocating.
func TestHostileCountDoesNotAllocate(t *testing.T) {
	b := (&Message{Type: MsgApp}).Marshal()
	b = b[:len(b)-2]                                              // drop the entry count and the context length
	b = append(b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f) // ~2^56 entries
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var m Message
	err := m.Unmarshal(b)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("decoded a message claiming 2^56 entries")
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4096 {
		t.Errorf("decoding a hostile count allocated %d bytes", n)
	}
}

func TestEntryHardStateConfChangeRoundTrip(t *testing.T) {
	e := Entry{Term: 1 << 40, Index: 77, Type: EntryConfChange, Data: []byte("payload")}
	b := e.AppendTo(nil)
	if len(b) != e.Size() {
		t.Errorf("Entry Size() = %d, encoding %d", e.Size(), len(b))
	}
	var e2 Entry
	if err := e2.Unmarshal(b); err != nil || !reflect.DeepEqual(e, e2) {
		t.Errorf("entry round trip: %+v, %v", e2, err)
	}

	hs := HardState{Term: 9, Vote: 3, Commit: 1 << 33}
	b = hs.AppendTo(nil)
	var hs2 HardState
	if err := hs2.Unmarshal(b); err != nil || hs2 != hs || len(b) != hs.Size() {
		t.Errorf("hard state round trip: %+v, %v", hs2, err)
	}

	cc := ConfChange{ID: 12, Type: ConfChangeRemoveNode, NodeID: 0xce2a822cea30bfca, Context: []byte(`{"x":1}`)}
	b = cc.AppendTo(nil)
	var cc2 ConfChange
	if err := cc2.Unmarshal(b); err != nil || !reflect.DeepEqual(cc, cc2) || len(b) != cc.Size() {
		t.Errorf("conf change round trip: %+v, %v", cc2, err)
	}
	var cc3 ConfChange
	if err := cc3.Unmarshal([]byte{0, 9, 0, 0}); !errors.Is(err, ErrMalformed) { // ID=0 Type=9 NodeID=0 no Context
		t.Errorf("unknown conf change type: err = %v", err)
	}

	md := SnapshotMetadata{Index: 5, Term: 2, ConfState: ConfState{Voters: []uint64{1, 2, 3}}}
	b = md.AppendTo(nil)
	var md2 SnapshotMetadata
	if err := md2.Unmarshal(b); err != nil || !reflect.DeepEqual(md, md2) || len(b) != md.Size() {
		t.Errorf("snapshot metadata round trip: %+v, %v", md2, err)
	}
}

// FuzzMessageUnmarshal feeds arbitrary bytes to the decoder. It must never
// panic, and whatever it accepts must survive a second round trip unchanged.
func FuzzMessageUnmarshal(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Marshal())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		var m2 Message
		if err := m2.Unmarshal(m.Marshal()); err != nil {
			t.Fatalf("re-encoding of an accepted message does not decode: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("second round trip differs:\n%+v\n%+v", m, m2)
		}
	})
}
