package wal

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"v2etcd/raft"
)

// segmentBuilder writes segments by hand, for records the WAL itself never
// writes.
type segmentBuilder struct {
	data []byte
	crc  uint32
	seq  uint64
}

func newSegmentBuilder(seq, first uint64, prev uint32, version uint32, md Metadata) *segmentBuilder {
	sb := &segmentBuilder{seq: seq}
	sb.data, sb.crc = appendCarry(nil, prev, seq, first)
	var start int
	sb.data, start = beginFrame(sb.data, recMetadata)
	sb.data = binary.LittleEndian.AppendUint32(sb.data, version)
	sb.data = binary.LittleEndian.AppendUint64(sb.data, md.MemberID)
	sb.data = binary.LittleEndian.AppendUint64(sb.data, md.ClusterID)
	sb.data, sb.crc = endFrame(sb.data, start, sb.crc)
	sb.data, sb.crc = appendHardState(sb.data, sb.crc, &raft.HardState{})
	return sb
}

// batch appends one write holding the given records (made by the append*
// functions, chained from 0; they are re-chained here).
func (sb *segmentBuilder) batch(recs ...func(b []byte, prev uint32) ([]byte, uint32)) {
	var body []byte
	for _, r := range recs {
		body, _ = r(body, 0)
	}
	sb.data, sb.crc = appendBatch(sb.data, sb.crc, sb.seq, int64(len(sb.data)), uint64(batchFrameSize+len(body)))
	for _, r := range recs {
		sb.data, sb.crc = r(sb.data, sb.crc)
	}
}

func entryRec(index, term uint64) func([]byte, uint32) ([]byte, uint32) {
	e := raft.Entry{Index: index, Term: term, Data: []byte("x")}
	return func(b []byte, prev uint32) ([]byte, uint32) { return appendEntry(b, prev, &e) }
}

func markerRec(index, term uint64, flags uint8) func([]byte, uint32) ([]byte, uint32) {
	return func(b []byte, prev uint32) ([]byte, uint32) {
		return appendMarker(b, prev, SnapshotMarker{Index: index, Term: term}, flags)
	}
}

func (sb *segmentBuilder) write(t *testing.T, dir string, first uint64) string {
	t.Helper()
	path := filepath.Join(dir, segmentName(sb.seq, first))
	if err := os.WriteFile(path, sb.data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestHandMadeSegments(t *testing.T) {
	md := Metadata{MemberID: 1, ClusterID: 2}
	for _, tc := range []struct {
		name  string
		build func(t *testing.T, dir string) string // returns the path named by the error
		want  string
	}{
		{"format version", func(t *testing.T, dir string) string {
			sb := newSegmentBuilder(0, 0, 0, FormatVersion+1, md)
			sb.batch(markerRec(0, 0, 0))
			return sb.write(t, dir, 0)
		}, "format version 2"},
		{"metadata differs between segments", func(t *testing.T, dir string) string {
			sb := newSegmentBuilder(0, 0, 0, FormatVersion, md)
			sb.batch(markerRec(0, 0, 0), entryRec(1, 1))
			sb.write(t, dir, 0)
			sb2 := newSegmentBuilder(1, 2, sb.crc, FormatVersion, Metadata{MemberID: 9, ClusterID: 2})
			return sb2.write(t, dir, 2)
		}, "metadata"},
		{"entry index gap", func(t *testing.T, dir string) string {
			sb := newSegmentBuilder(0, 0, 0, FormatVersion, md)
			sb.batch(markerRec(0, 0, 0), entryRec(1, 1), entryRec(3, 1))
			return sb.write(t, dir, 0)
		}, "entry 3 does not follow entry 1"},
		{"markers going backwards", func(t *testing.T, dir string) string {
			sb := newSegmentBuilder(0, 0, 0, FormatVersion, md)
			sb.batch(markerRec(0, 0, 0), entryRec(1, 1), entryRec(2, 1), markerRec(2, 1, 0), markerRec(1, 1, 0))
			return sb.write(t, dir, 0)
		}, "snapshot marker 1 follows marker 2"},
		{"record outside a batch", func(t *testing.T, dir string) string {
			sb := newSegmentBuilder(0, 0, 0, FormatVersion, md)
			sb.batch(markerRec(0, 0, 0))
			sb.data, sb.crc = entryRec(1, 1)(sb.data, sb.crc)
			return sb.write(t, dir, 0)
		}, "entry record outside a batch"},
		{"carry record inside a batch", func(t *testing.T, dir string) string {
			sb := newSegmentBuilder(0, 0, 0, FormatVersion, md)
			sb.batch(markerRec(0, 0, 0), func(b []byte, prev uint32) ([]byte, uint32) { return appendCarry(b, prev, 0, 0) })
			return sb.write(t, dir, 0)
		}, "crc carry record inside a batch"},
		{"batch record at the wrong offset", func(t *testing.T, dir string) string {
			sb := newSegmentBuilder(0, 0, 0, FormatVersion, md)
			sb.data, sb.crc = appendBatch(sb.data, sb.crc, 0, 8, uint64(batchFrameSize+markerFrameLen))
			sb.data, sb.crc = markerRec(0, 0, 0)(sb.data, sb.crc)
			return sb.write(t, dir, 0)
		}, "batch record does not match its position"},
		{"header without metadata", func(t *testing.T, dir string) string {
			sb := &segmentBuilder{}
			sb.data, sb.crc = appendCarry(nil, 0, 0, 0)
			sb.data, sb.crc = appendHardState(sb.data, sb.crc, &raft.HardState{})
			return sb.write(t, dir, 0)
		}, "hard state record where metadata belongs"},
		{"header cut short", func(t *testing.T, dir string) string {
			sb := newSegmentBuilder(0, 0, 0, FormatVersion, md)
			sb.data = sb.data[:20]
			return sb.write(t, dir, 0)
		}, "segment header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.build(t, dir)
			_, _, _, err := replayAll(t, dir, SnapshotMarker{}, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("replay: %v; want an error about %q naming %s", err, tc.want, path)
			}
		})
	}
}

// TestWriteFailureIsSticky checks that after a failed write the WAL refuses
// every later write, and that what was acknowledged before is intact.
func TestWriteFailureIsSticky(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Metadata{}, Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ents := makeEntries(1, 5, 1, 10)
	if err := w.Save(raft.HardState{Term: 1}, ents); err != nil {
		t.Fatal(err)
	}
	w.f.Close() // the next write fails
	if err := w.Save(raft.HardState{Term: 1}, makeEntries(6, 1, 1, 10)); err == nil {
		t.Fatal("Save on a closed file succeeded")
	}
	for _, err := range []error{
		w.Save(raft.HardState{Term: 2}, nil),
		w.SaveSnapshot(SnapshotMarker{Index: 5, Term: 1}),
		w.ReleaseTo(0),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("after a failed write: %v, want ErrClosed", err)
		}
	}
	w.f = nil
	w.Close()
	_, _, got := mustReplay(t, dir, SnapshotMarker{}, Options{SegmentSize: 64 << 10})
	if !equalEntries(got, ents) {
		t.Fatalf("replayed %s", describeEntries(got))
	}
}

func TestPreallocateByWritingZeros(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := writeZeros(f, 3, 3<<20+5); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 3<<20+5 || string(data[:3]) != "abc" || !allZero(data[3:]) {
		t.Fatalf("file is %d bytes, starting %q", len(data), data[:3])
	}
}

func TestSegmentNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ok    bool
		seq   uint64
		first uint64
	}{
		{"0000000000000001-00000000000012a4.wal", true, 1, 0x12a4},
		{"0000000000000001-00000000000012A4.wal", false, 0, 0},
		{"000000000000001-00000000000012a4.wal", false, 0, 0},
		{"0000000000000001_00000000000012a4.wal", false, 0, 0},
		{"0000000000000001-00000000000012a4.snap", false, 0, 0},
	} {
		seq, first, ok := parseSegmentName(tc.name)
		if ok != tc.ok || seq != tc.seq || first != tc.first {
			t.Errorf("parseSegmentName(%s) = %d, %d, %v", tc.name, seq, first, ok)
		}
	}
	if recordType(42).String() != "unknown (type 42)" || recBatch.String() != "batch" {
		t.Error("recordType.String")
	}
	if batchFrameSize != frameLen(1+batchBodySize) || markerFrameLen != frameLen(1+markerBodySize) || batchFrameSize != 24 {
		t.Error("frame size constants disagree with frameLen")
	}
}
