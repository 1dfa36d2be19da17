package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"v2etcd/raft"
)

// lastSegmentBatches returns the batches written to the last segment.
func lastSegmentBatches(b builtWAL) []batchPos {
	last := b.batches[len(b.batches)-1].seg
	var out []batchPos
	for _, bp := range b.batches {
		if bp.seg == last {
			out = append(out, bp)
		}
	}
	return out
}

// modelBefore returns what replay should give when the last segment is cut
// at cut: the batches whose records are complete before the cut survive. A
// batch is complete once its last record's payload is; the zero padding
// after it may be missing.
func modelBefore(t *testing.T, b builtWAL, data []byte, batches []batchPos, cut int64) logModel {
	m := b.base
	for _, bp := range b.batches {
		if bp.seg < batches[0].seg {
			m = bp.model
		}
	}
	for _, bp := range batches {
		last := lastFrameStart(t, data, bp)
		n := int64(binary.LittleEndian.Uint32(data[last:]))
		if last+headerSize+n <= cut {
			m = bp.model
		}
	}
	return m
}

// TestTornTailAtEveryOffset cuts the last segment at every byte offset of
// its final records by truncating the file there (a write that extended the
// file and stopped short), and at every sector boundary of them by zeroing
// everything after the cut (preallocated space the write never reached: a
// disk writes whole 512-byte sectors, so zeros start at a sector boundary).
// Replay must succeed and return exactly the writes that were complete
// before the cut; every Save is one write, kept or dropped whole.
func TestTornTailAtEveryOffset(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBatch int
		final    int // how many of the last writes to cut
	}{
		{"one entry per write", 1, 6},
		{"batches", 5, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{SegmentSize: 8192, noSync: true}
			b := buildWAL(t, 10, 90, tc.maxBatch, opts)
			batches := lastSegmentBatches(b)
			if len(batches) < 8 {
				t.Fatalf("only %d batches in the last segment", len(batches))
			}
			final := batches[len(batches)-tc.final:] // the final records
			path := final[0].path
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dataEnd := final[len(final)-1].end
			checked := 0
			for cut := final[0].start; cut <= dataEnd+16; cut++ {
				for _, variant := range []string{"truncated", "zeroed"} {
					if variant == "zeroed" && cut%sectorSize != 0 {
						continue
					}
					var torn []byte
					if variant == "truncated" {
						torn = orig[:cut]
					} else {
						torn = append([]byte(nil), orig...)
						clear(torn[cut:max(cut, dataEnd)])
					}
					restore(t, b.dir, path, torn)
					want := modelBefore(t, b, orig, batches, cut)
					w, err := Open(b.dir, SnapshotMarker{}, opts)
					if err != nil {
						t.Fatalf("%s at %d: Open: %v", variant, cut, err)
					}
					_, hs, ents, err := w.ReadAll()
					if err != nil {
						t.Fatalf("%s at %d: ReadAll: %v", variant, cut, err)
					}
					if hs != want.hs || !equalEntries(ents, want.ents) {
						t.Fatalf("%s at %d: replayed %+v %s, want %+v %s", variant, cut, hs, describeEntries(ents), want.hs, describeEntries(want.ents))
					}
					// Every so often, check that the repaired WAL takes
					// new writes and replays them.
					if cut%37 == 0 {
						checkAppendAfterRepair(t, w, b.dir, want, opts)
					} else {
						w.Close()
					}
					checked++
				}
			}
			t.Logf("checked %d cuts over %d bytes", checked, dataEnd-final[0].start)
		})
	}
}

// restore puts data back as the segment at path and removes .broken copies.
func restore(t *testing.T, dir, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(len(data))); err != nil {
		t.Fatal(err)
	}
	for _, name := range listDir(t, dir) {
		if strings.Contains(name, brokenExt) {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

func checkAppendAfterRepair(t *testing.T, w *WAL, dir string, want logModel, opts Options) {
	t.Helper()
	m := want.clone()
	more := makeEntries(uint64(len(m.ents))+1, 2, m.hs.Term, 40)
	m.append(more)
	m.hs.Commit = uint64(len(m.ents))
	if err := w.Save(m.hs, more); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, hs, ents := mustReplay(t, dir, SnapshotMarker{}, opts)
	if hs != m.hs || !equalEntries(ents, m.ents) {
		t.Fatalf("after repair and append: %+v %s, want %+v %s", hs, describeEntries(ents), m.hs, describeEntries(m.ents))
	}
}

// frameStarts returns the offsets of the frames of batch bp.
func frameStarts(t *testing.T, data []byte, bp batchPos) []int64 {
	t.Helper()
	var starts []int64
	for off := int(bp.start); off < int(bp.end); {
		f, err := readFrame(data, off)
		if err != nil {
			t.Fatalf("frame at %d: %v", off, err)
		}
		starts = append(starts, int64(off))
		off = f.end
	}
	return starts
}

// TestFlippedByteIsCorruption flips, one at a time, every byte of a batch
// in the middle of the log: in a sealed segment, and in the last segment
// with later writes after it. Replay must fail, naming the file and the
// offset of the damaged record, and must leave the files as they were.
func TestFlippedByteIsCorruption(t *testing.T) {
	opts := Options{SegmentSize: 4096, noSync: true}
	b := buildWAL(t, 11, 60, 3, opts)
	lastSeg := b.batches[len(b.batches)-1].seg
	var sealed, inLast *batchPos
	for i := range b.batches {
		bp := &b.batches[i]
		if bp.seg == lastSeg/2 && sealed == nil && i > 0 && b.batches[i-1].seg == bp.seg {
			sealed = bp
		}
		if bp.seg == lastSeg && inLast == nil && i+3 < len(b.batches) {
			inLast = bp
		}
	}
	if sealed == nil || inLast == nil {
		t.Fatal("did not find batches to damage")
	}
	for name, bp := range map[string]*batchPos{"sealed segment": sealed, "last segment": inLast} {
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(bp.path)
			if err != nil {
				t.Fatal(err)
			}
			starts := frameStarts(t, orig, *bp)
			for off := bp.start; off < bp.end; off++ {
				frameStart := starts[0]
				for _, s := range starts {
					if s <= off {
						frameStart = s
					}
				}
				damaged := append([]byte(nil), orig...)
				damaged[off] ^= 0xff
				restore(t, b.dir, bp.path, damaged)
				_, _, _, err := replayAll(t, b.dir, SnapshotMarker{}, opts)
				wantCorrupt(t, err, bp.path, frameStart)
				after, err := os.ReadFile(bp.path)
				if err != nil {
					t.Fatal(err)
				}
				if string(after) != string(damaged) {
					t.Fatalf("flip at %d: the damaged segment was changed", off)
				}
				for _, n := range listDir(t, b.dir) {
					if strings.Contains(n, brokenExt) {
						t.Fatalf("flip at %d: made %s", off, n)
					}
				}
			}
			restore(t, b.dir, bp.path, orig)
		})
	}
}

// TestTailCases covers the torn-tail rule case by case.
func TestTailCases(t *testing.T) {
	opts := Options{SegmentSize: 64 << 10, noSync: true}
	b := buildWAL(t, 12, 40, 4, opts)
	appendBigBatch(t, &b, opts)
	batches := lastSegmentBatches(b)
	if len(batches) < 10 {
		t.Fatalf("only %d batches in the last segment", len(batches))
	}
	path := batches[0].path
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lastB := batches[len(batches)-1]
	prevB := batches[len(batches)-2]
	midB := batches[len(batches)/2]
	dataEnd := lastB.end
	lastFrame := lastFrameStart(t, orig, lastB)
	// The sector at the middle of the segment's records, and the frame it
	// starts in.
	midSector := (midB.start + sectorSize - 1) / sectorSize * sectorSize
	var midFrame int64
	for _, bp := range batches {
		for _, f := range frameStarts(t, orig, bp) {
			if f <= midSector {
				midFrame = f
			}
		}
	}

	type result struct {
		corruptAt int64    // -1: replay succeeds
		model     logModel // when it succeeds
	}
	for _, tc := range []struct {
		name   string
		damage func(d []byte) []byte
		want   result
	}{
		{"intact", func(d []byte) []byte { return d }, result{-1, lastB.model}},
		{"zeroed sector inside the last write", func(d []byte) []byte {
			// a middle sector of the final write never reached the disk
			zeroRange(d, lastB.start+headerSize+1, lastB.end-1)
			return d
		}, result{-1, prevB.model}},
		{"zeroed sector in the middle of the log", func(d []byte) []byte {
			clear(d[midSector : midSector+sectorSize])
			return d
		}, result{midFrame, logModel{}}},
		{"garbage in the sector after the end of the last write", func(d []byte) []byte {
			d[dataEnd+8] = 1
			return d
		}, result{dataEnd, logModel{}}},
		{"garbage in a later sector, no batch record", func(d []byte) []byte {
			// as if a write began at the end and only a later sector of
			// it reached the disk: never acknowledged, dropped
			d[(dataEnd/sectorSize+2)*sectorSize+40] = 1
			return d
		}, result{-1, lastB.model}},
		{"a later write after a gap of zeros", func(d []byte) []byte {
			// a batch record valid at its offset, past the end: a write
			// was acknowledged after a write that is now missing
			at := int((dataEnd/sectorSize + 3) * sectorSize)
			copy(d[at:], batchRecordAt(b.batches[len(b.batches)-1].seg, at))
			return d
		}, result{dataEnd, logModel{}}},
		{"garbage after a torn last write", func(d []byte) []byte {
			clear(d[lastB.start+int64(batchFrameSize) : lastB.end])
			d[dataEnd+4000] = 1
			return d
		}, result{lastB.start + int64(batchFrameSize), logModel{}}},
		{"lost first sector of the last write, later sectors kept", func(d []byte) []byte {
			clear(d[lastB.start : (lastB.start/sectorSize+1)*sectorSize])
			return d
		}, result{-1, prevB.model}},
		{"lost batch record, but a later write exists", func(d []byte) []byte {
			clear(d[prevB.start : prevB.start+8])
			return d
		}, result{prevB.start, logModel{}}},
		{"bit flip in the last write", func(d []byte) []byte {
			d[lastB.end-3] ^= 0x10
			return d
		}, result{lastFrame, logModel{}}},
		{"impossible length in the last write", func(d []byte) []byte {
			d[lastB.start+3] = 0x7f
			return d
		}, result{lastB.start, logModel{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.damage(append([]byte(nil), orig...))
			restore(t, b.dir, path, d)
			_, hs, ents, err := replayAll(t, b.dir, SnapshotMarker{}, opts)
			if tc.want.corruptAt >= 0 {
				wantCorrupt(t, err, path, tc.want.corruptAt)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if hs != tc.want.model.hs || !equalEntries(ents, tc.want.model.ents) {
				t.Fatalf("replayed %+v %s, want %+v %s", hs, describeEntries(ents), tc.want.model.hs, describeEntries(tc.want.model.ents))
			}
		})
	}
}

// zeroRange zeroes the 512-byte sectors that lie wholly in [from, to), and
// fails if there is none.
func zeroRange(d []byte, from, to int64) {
	s := (from + sectorSize - 1) / sectorSize * sectorSize
	if s+sectorSize > to {
		panic(fmt.Sprintf("no whole sector in [%d, %d)", from, to))
	}
	clear(d[s : s+sectorSize])
}

func lastFrameStart(t *testing.T, d []byte, bp batchPos) int64 {
	starts := frameStarts(t, d, bp)
	return starts[len(starts)-1]
}

// TestRepairKeepsACopyAndLogs checks the repair's side effects.
func TestRepairKeepsACopyAndLogs(t *testing.T) {
	logger, logs := newTestLogger()
	opts := Options{SegmentSize: 8192, Logger: logger}
	b := buildWAL(t, 13, 20, 3, opts)
	batches := lastSegmentBatches(b)
	lastB := batches[len(batches)-1]
	orig, err := os.ReadFile(lastB.path)
	if err != nil {
		t.Fatal(err)
	}
	torn := orig[:lastB.end-5]
	if err := os.WriteFile(lastB.path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(lastB.path, int64(len(torn))); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		_, hs, ents := mustReplay(t, b.dir, SnapshotMarker{}, opts)
		want := batches[len(batches)-2].model
		if hs != want.hs || !equalEntries(ents, want.ents) {
			t.Fatalf("round %d: replayed %s, want %s", round, describeEntries(ents), describeEntries(want.ents))
		}
	}
	copyData, err := os.ReadFile(lastB.path + brokenExt)
	if err != nil {
		t.Fatal(err)
	}
	if string(copyData) != string(torn) {
		t.Fatal("the .broken copy differs from the segment before repair")
	}
	st, err := os.Stat(lastB.path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != opts.SegmentSize {
		t.Fatalf("repaired segment is %d bytes, want it preallocated to %d", st.Size(), opts.SegmentSize)
	}
	repaired, _ := os.ReadFile(lastB.path)
	if !allZero(repaired[lastB.start:]) {
		t.Fatal("repaired segment holds data after the cut")
	}
	out := logs.String()
	dropped := fmt.Sprintf("dropped_bytes=%d", lastNonZero(torn[lastB.start:])+1)
	if strings.Count(out, "repaired torn tail") != 1 || !strings.Contains(out, dropped) || !strings.Contains(out, lastB.path) {
		t.Fatalf("log does not report the repair once with %s:\n%s", dropped, out)
	}
}

// TestMarkersIgnoresTornTail checks that Markers reads a WAL with a torn
// tail without changing it, and reports damage like ReadAll.
func TestMarkersIgnoresTornTail(t *testing.T) {
	opts := Options{SegmentSize: 8192}
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Metadata{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Save(raft.HardState{Term: 1}, makeEntries(1, 10, 1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := w.SaveSnapshot(SnapshotMarker{Index: 5, Term: 1}); err != nil {
		t.Fatal(err)
	}
	start := w.off
	if err := w.SaveSnapshot(SnapshotMarker{Index: 9, Term: 1}); err != nil {
		t.Fatal(err)
	}
	path := w.segs[0].path
	data, _ := os.ReadFile(path)
	torn := append([]byte(nil), data...)
	clear(torn[start+int64(batchFrameSize) : w.off])
	w.Close()
	if err := os.WriteFile(path, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	markers, err := Markers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(markers) != 2 || markers[1] != (SnapshotMarker{Index: 5, Term: 1}) {
		t.Fatalf("Markers = %v", markers)
	}
	if after, _ := os.ReadFile(path); string(after) != string(torn) {
		t.Fatal("Markers changed the segment")
	}
	damaged := append([]byte(nil), data...)
	damaged[100] ^= 1
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Markers(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Markers on a damaged WAL: %v", err)
	}
}

// appendBigBatch appends to b's WAL one write that spans several sectors.
func appendBigBatch(t *testing.T, b *builtWAL, opts Options) {
	t.Helper()
	w, err := Open(b.dir, SnapshotMarker{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, _, _, err := w.ReadAll(); err != nil {
		t.Fatal(err)
	}
	m := b.final.clone()
	ents := makeEntries(uint64(len(m.ents))+1, 3, m.hs.Term, 700)
	m.append(ents)
	m.hs.Commit++
	pos := batchPos{seg: len(w.segs) - 1, path: w.segs[len(w.segs)-1].path, start: w.off}
	if err := w.Save(m.hs, ents); err != nil {
		t.Fatal(err)
	}
	if len(w.segs)-1 != pos.seg {
		t.Fatal("the big batch cut the segment")
	}
	pos.end, pos.model = w.off, m.clone()
	b.batches = append(b.batches, pos)
	b.final = m
}

// batchRecordAt returns a batch record frame for offset off of segment seq.
func batchRecordAt(seq int, off int) []byte {
	b, _ := appendBatch(nil, 0, uint64(seq), int64(off), 4096)
	return b
}
