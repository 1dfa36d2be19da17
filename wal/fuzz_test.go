package wal

import (
	"os"
	"path/filepath"
	"testing"

	"v2etcd/raft"
)

// FuzzScanSegment feeds arbitrary bytes to the segment scanner, as the last
// segment and as a sealed one, and to the replay that consumes its records.
// It must never panic, and what it accepts must be consistent.
// Run it with: go test -fuzz FuzzScanSegment ./wal
func FuzzScanSegment(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "wal")
	w, err := Create(dir, Metadata{MemberID: 1, ClusterID: 2}, Options{SegmentSize: 1024, noSync: true})
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		ents := makeEntries(uint64(i*2+1), 2, 1, 20*i)
		if err := w.Save(raft.HardState{Term: 1, Commit: uint64(i)}, ents); err != nil {
			f.Fatal(err)
		}
		if i == 5 {
			if err := w.SaveSnapshot(SnapshotMarker{Index: 4, Term: 1}); err != nil {
				f.Fatal(err)
			}
		}
	}
	w.Close()
	segs, err := listSegments(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, seg := range segs {
		data, err := os.ReadFile(seg.path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 2048)], seg.seq, seg.first, true)
		f.Add(data[:min(len(data), 2048)], seg.seq, seg.first, false)
	}
	f.Add([]byte{}, uint64(0), uint64(0), true)
	f.Fuzz(func(t *testing.T, data []byte, seq, first uint64, last bool) {
		seg := segment{seq: seq, first: first, path: "fuzz.wal"}
		for _, at := range []SnapshotMarker{{}, {Index: 4, Term: 1}} {
			rp := replay{at: at, seg: seg}
			res, err := scanSegment(seg, data, last, 0, false, rp.visit)
			if err != nil {
				continue
			}
			if res.end%frameAlign != 0 || res.end > len(data)+frameAlign {
				t.Fatalf("end %d for %d bytes", res.end, len(data))
			}
			if res.torn != nil && (!last || res.torn.offset < res.end || res.torn.offset > len(data) || res.torn.dropped <= 0) {
				t.Fatalf("torn tail %+v with end %d, last %v, %d bytes", *res.torn, res.end, last, len(data))
			}
			for i := 1; i < len(rp.ents); i++ {
				if rp.ents[i].Index != rp.ents[i-1].Index+1 {
					t.Fatalf("replay returned entries %d then %d", rp.ents[i-1].Index, rp.ents[i].Index)
				}
			}
		}
	})
}

// FuzzDecodeRecord feeds arbitrary payloads to the record decoder.
func FuzzDecodeRecord(f *testing.F) {
	for _, p := range [][]byte{
		{byte(recCarry), 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{byte(recEntry), 1, 1, 0, 2, 'h', 'i'},
		{byte(recHardState), 1, 2, 3},
		{byte(recMarker), 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1},
		{byte(recBatch), 48, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
		{99},
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := decodeRecord(p)
		if err != nil {
			return
		}
		// A fixed-size record that decodes re-encodes to the same bytes.
		// (Raft's uvarint encodings accept non-minimal forms, so hard
		// states and entries need not.)
		var b []byte
		switch r.typ {
		case recCarry:
			b, _ = appendCarry(nil, r.crc, r.seq, r.index)
		case recMarker:
			b, _ = appendMarker(nil, 0, SnapshotMarker{Index: r.index, Term: r.term}, r.flags)
		case recBatch:
			b, _ = beginFrame(nil, recBatch)
			b = append(b, p[1:]...)
			b, _ = endFrame(b, 0, 0)
		default:
			return
		}
		f, err := readFrame(b, 0)
		if err != nil || string(f.payload) != string(p) {
			t.Fatalf("%s record %x re-encodes as %x (%v)", r.typ, p, f.payload, err)
		}
	})
}

// FuzzReplayScript builds segments with valid CRCs from a script of
// records (batches, entries, hard states, markers, raw records) so the
// fuzzer reaches the structure checks and the replay rules that random
// bytes never get past the CRC to. Nothing may panic, and replay must only
// ever return consecutive entries after the snapshot index.
func FuzzReplayScript(f *testing.F) {
	f.Add([]byte{0, 2, 1, 1, 1, 2, 5, 1}, true)
	f.Add([]byte{0, 2, 1, 1, 1, 1, 2, 1, 0, 1, 3, 1, 1, 1, 0, 1, 1, 2, 1}, false)
	f.Add([]byte{0, 3, 1, 1, 1, 1, 2, 1, 3, 2, 2, 1, 0, 1, 1, 3, 2}, true)
	f.Add([]byte{4, 6, 3, 1, 2, 3}, true)
	f.Fuzz(func(t *testing.T, script []byte, last bool) {
		type item struct {
			batch int // > 0: a batch record covering the next batch items
			typ   recordType
			body  []byte
		}
		var items []item
		next := func() byte {
			if len(script) == 0 {
				return 0
			}
			c := script[0]
			script = script[1:]
			return c
		}
		for len(script) > 0 && len(items) < 64 {
			switch next() % 5 {
			case 0:
				items = append(items, item{batch: int(next()%8) + 1})
			case 1:
				e := raft.Entry{Index: uint64(next()), Term: uint64(next()), Data: []byte{next()}}
				items = append(items, item{typ: recEntry, body: e.AppendTo(nil)})
			case 2:
				hs := raft.HardState{Term: uint64(next()), Commit: uint64(next())}
				items = append(items, item{typ: recHardState, body: hs.AppendTo(nil)})
			case 3:
				b, _ := appendMarker(nil, 0, SnapshotMarker{Index: uint64(next()), Term: uint64(next())}, next()%2)
				items = append(items, item{typ: recMarker, body: b[headerSize+1 : headerSize+1+markerBodySize]})
			case 4:
				typ := recordType(next() % 8)
				n := int(next() % 24)
				body := make([]byte, n)
				for i := range body {
					body[i] = next()
				}
				items = append(items, item{typ: typ, body: body})
			}
		}
		size := func(it item) int {
			if it.batch > 0 {
				return batchFrameSize
			}
			return frameLen(1 + len(it.body))
		}
		w := &WAL{md: Metadata{MemberID: 1}}
		data, crc := w.segmentHeader(nil, 0, 0, 0)
		for i, it := range items {
			if it.batch > 0 {
				length := batchFrameSize
				for j := i + 1; j < len(items) && j <= i+it.batch; j++ {
					length += size(items[j])
				}
				data, crc = appendBatch(data, crc, 0, int64(len(data)), uint64(length))
				continue
			}
			var start int
			data, start = beginFrame(data, it.typ)
			data = append(data, it.body...)
			data, crc = endFrame(data, start, crc)
		}
		seg := segment{path: "fuzz.wal"}
		for _, at := range []SnapshotMarker{{}, {Index: 2, Term: 1}} {
			rp := replay{at: at, seg: seg}
			if _, err := scanSegment(seg, data, last, 0, false, rp.visit); err != nil {
				continue
			}
			for i, e := range rp.ents {
				if e.Index != at.Index+uint64(i)+1 {
					t.Fatalf("replay from %d returned entry %d at position %d", at.Index, e.Index, i)
				}
			}
		}
	})
}
