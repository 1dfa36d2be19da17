package raft

import (
	"errors"
	"reflect"
	"testing"
)

// Fuzz tests: every decoder must refuse garbage with ErrMalformed and never
// panic, and whatever it accepts must re-encode to the same bytes; Step must
// survive any message a decoder accepts. (FuzzMessageUnmarshal is in
// encoding_test.go.)

// decodable is implemented by every encoded type.
type decodable interface {
	Unmarshal([]byte) error
	AppendTo([]byte) []byte
	Size() int
}

func fuzzDecoder[T any, P interface {
	*T
	decodable
}](f *testing.F, seeds ...T) {
	for i := range seeds {
		f.Add(P(&seeds[i]).AppendTo(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v T
		if err := P(&v).Unmarshal(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		enc := P(&v).AppendTo(nil)
		if len(enc) != P(&v).Size() {
			t.Fatalf("Size() = %d, encoding has %d bytes", P(&v).Size(), len(enc))
		}
		var v2 T
		if err := P(&v2).Unmarshal(enc); err != nil || !reflect.DeepEqual(v, v2) {
			t.Fatalf("second round trip: %+v, %v; want %+v", v2, err, v)
		}
	})
}

func FuzzEntryUnmarshal(f *testing.F) {
	fuzzDecoder(f, Entry{}, Entry{Term: 3, Index: 1 << 40, Type: EntryConfChange, Data: []byte("x")})
}

func FuzzHardStateUnmarshal(f *testing.F) {
	fuzzDecoder(f, HardState{}, HardState{Term: 1 << 50, Vote: 3, Commit: 77})
}

func FuzzSnapshotMetadataUnmarshal(f *testing.F) {
	fuzzDecoder(f, SnapshotMetadata{}, SnapshotMetadata{Index: 9, Term: 2, ConfState: ConfState{Voters: []uint64{1, 2, 3}}})
}

func FuzzSnapshotUnmarshal(f *testing.F) {
	fuzzDecoder(f, Snapshot{}, Snapshot{Metadata: SnapshotMetadata{Index: 9, Term: 2, ConfState: ConfState{Voters: []uint64{5}}}, Data: []byte("state")})
}

func FuzzConfChangeUnmarshal(f *testing.F) {
	fuzzDecoder(f, ConfChange{}, ConfChange{ID: 4, Type: ConfChangeRemoveNode, NodeID: 1 << 60, Context: []byte(`{"name":"a"}`)})
}

// FuzzStep feeds any decodable message to members in each role. Step may
// refuse it, but must not panic, and the member must stay consistent.
func FuzzStep(f *testing.F) {
	for _, m := range sampleMessages() {
		m.To = 1
		if m.From == 0 || m.From == 1 {
			m.From = 2
		}
		for role := range byte(4) {
			f.Add(role, m.Marshal())
		}
	}
	f.Fuzz(func(t *testing.T, role byte, b []byte) {
		var m Message
		if m.Unmarshal(b) != nil {
			return
		}
		r := newMember(t, 1, []uint64{1, 2, 3}, []uint64{1, 1, 2}, withCommit(1), withPreVote(role&4 != 0))
		switch role % 4 {
		case 1:
			r.campaign(campaignPreElection)
		case 2:
			r.campaign(campaignElection)
		case 3:
			r.campaign(campaignElection)
			r.Step(Message{Type: MsgVoteResp, From: 2, To: 1, Term: r.term})
		}
		r.Ready()
		r.Step(m)
		l := &r.log
		if l.committed > l.lastIndex() || l.applied > l.committed || l.stabled > l.lastIndex() || l.prevIndex > l.committed {
			t.Fatalf("inconsistent log after %+v: %+v", m, r.Status())
		}
		for i := l.firstIndex(); i <= l.lastIndex(); i++ {
			if l.entry(i).Index != i {
				t.Fatalf("entry at %d has index %d", i, l.entry(i).Index)
			}
		}
		rd := r.Ready()
		r.Advance(rd)
		r.Tick()
	})
}
