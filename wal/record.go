package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"v2etcd/raft"
)

// This file holds the on-disk record format: how one record is framed,
// checked and decoded. doc.go describes the format in prose.

// castagnoli is the CRC-32C table used for every checksum in this package.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	// frameAlign is the alignment of every frame. A frame's first 8 bytes (its
	// length word and CRC) therefore never straddle a 512-byte sector, so a
	// crash cannot tear them: they are either written whole or not at all.
	frameAlign = 8
	// headerSize is the size of a frame's header word: a little-endian
	// uint32 payload length followed by a little-endian uint32 CRC.
	headerSize = 8
	// sectorSize is the smallest unit a disk writes atomically.
	sectorSize = 512
	// maxPayload bounds one record's payload (type byte and body). A larger
	// length word can only be damage.
	maxPayload = 1 << 30
)

// recordType is the first byte of a frame's payload.
type recordType uint8

const (
	recCarry     recordType = 1 // first record of a segment: the CRC chain value carried over
	recMetadata  recordType = 2 // format version, member ID, cluster ID
	recHardState recordType = 3 // raft.HardState
	recEntry     recordType = 4 // raft.Entry
	recMarker    recordType = 5 // snapshot marker: index, term, flags
	recBatch     recordType = 6 // starts every write: the write's length and a self-check
)

func (t recordType) String() string {
	switch t {
	case recCarry:
		return "crc carry"
	case recMetadata:
		return "metadata"
	case recHardState:
		return "hard state"
	case recEntry:
		return "entry"
	case recMarker:
		return "snapshot marker"
	case recBatch:
		return "batch"
	}
	return fmt.Sprintf("unknown (type %d)", uint8(t))
}

// Body sizes of the fixed-size records.
const (
	carryBodySize    = 4 + 8 + 8 // crc, segment sequence, first index
	metadataBodySize = 4 + 8 + 8 // format version, member ID, cluster ID
	markerBodySize   = 8 + 8 + 1 // index, term, flags
	batchBodySize    = 8 + 4     // length of the whole write, self-check
)

// markerReplacesLog is the marker flag saying that raft replaced its whole
// log with this snapshot: entries after the marker's index written before
// the marker belong to a discarded branch of the log.
const markerReplacesLog = 1

// Frame sizes of the fixed-size records (frameLen as constants).
const (
	batchFrameSize = (headerSize + 1 + batchBodySize + frameAlign - 1) &^ (frameAlign - 1)
	markerFrameLen = (headerSize + 1 + markerBodySize + frameAlign - 1) &^ (frameAlign - 1)
)

// frameLen returns the size of a frame with an n-byte payload, padding
// included.
func frameLen(n int) int { return (headerSize + n + frameAlign - 1) &^ (frameAlign - 1) }

// record is one decoded record. Which fields are set depends on typ.
type record struct {
	typ     recordType
	crc     uint32 // carry: the chain value at the end of the previous segment
	seq     uint64 // carry: the segment's sequence number
	index   uint64 // carry: the segment's first index; marker: snapshot index
	term    uint64 // marker: snapshot term
	flags   uint8  // marker: markerReplacesLog or 0
	version uint32 // metadata
	md      Metadata
	hs      raft.HardState
	entry   raft.Entry // Data aliases the frame's bytes
	length  uint64     // batch: length of the whole write, this frame included
	check   uint32     // batch: batchCheck(seq, offset, length)
}

// Frame reading errors. They never leave this package unwrapped: the scanner
// turns them into a *CorruptError or decides the frame is a torn tail.
var (
	errZeroHeader = errors.New("zero bytes where a record should start")
	errShort      = errors.New("record runs past the end of the file")
	errLength     = errors.New("impossible record length")
	errCRC        = errors.New("crc mismatch")
)

// frame is one frame located in a segment's bytes, not yet checked.
type frame struct {
	off     int    // offset of the header word
	end     int    // offset just past the padding: where the next frame starts
	payload []byte // type byte and body
	crc     uint32 // the CRC stored in the header
}

// readFrame locates the frame at off in data. It checks only the length
// word; verify checks the CRC. A frame whose payload is complete but whose
// padding is cut off by the end of data is returned whole: padding is zero
// by definition.
func readFrame(data []byte, off int) (frame, error) {
	if off >= len(data) {
		return frame{off: off}, errShort
	}
	if len(data)-off < headerSize {
		if allZero(data[off:]) {
			return frame{off: off}, errZeroHeader
		}
		return frame{off: off}, errShort
	}
	word := binary.LittleEndian.Uint64(data[off:])
	if word == 0 {
		return frame{off: off}, errZeroHeader
	}
	n := int(uint32(word))
	if n == 0 || n > maxPayload {
		return frame{off: off}, errLength
	}
	f := frame{off: off, end: off + frameLen(n), crc: uint32(word >> 32)}
	if n > len(data)-off-headerSize {
		return f, errShort
	}
	f.payload = data[off+headerSize : off+headerSize+n]
	return f, nil
}

var zeroPad [frameAlign]byte

// verify reports whether f's stored CRC matches the chain value prev
// extended by f's length word, payload and padding.
func (f *frame) verify(data []byte, prev uint32) bool {
	return f.crc == frameCRC(data, f, prev)
}

func frameCRC(data []byte, f *frame, prev uint32) uint32 {
	crc := crc32.Update(prev, castagnoli, data[f.off:f.off+4])
	end := min(f.end, len(data))
	crc = crc32.Update(crc, castagnoli, data[f.off+headerSize:end])
	if missing := f.end - end; missing > 0 {
		crc = crc32.Update(crc, castagnoli, zeroPad[:missing])
	}
	return crc
}

// decodeRecord decodes a frame's payload. Entry data aliases p.
func decodeRecord(p []byte) (record, error) {
	if len(p) == 0 {
		return record{}, errors.New("empty record")
	}
	r := record{typ: recordType(p[0])}
	body := p[1:]
	le := binary.LittleEndian
	fixed := func(size int) error {
		if len(body) != size {
			return fmt.Errorf("%s record has %d bytes, want %d", r.typ, len(body), size)
		}
		return nil
	}
	switch r.typ {
	case recCarry:
		if err := fixed(carryBodySize); err != nil {
			return r, err
		}
		r.crc, r.seq, r.index = le.Uint32(body), le.Uint64(body[4:]), le.Uint64(body[12:])
	case recMetadata:
		if err := fixed(metadataBodySize); err != nil {
			return r, err
		}
		r.version = le.Uint32(body)
		r.md = Metadata{MemberID: le.Uint64(body[4:]), ClusterID: le.Uint64(body[12:])}
	case recHardState:
		if err := r.hs.Unmarshal(body); err != nil {
			return r, err
		}
	case recEntry:
		if err := r.entry.Unmarshal(body); err != nil {
			return r, err
		}
	case recMarker:
		if err := fixed(markerBodySize); err != nil {
			return r, err
		}
		r.index, r.term, r.flags = le.Uint64(body), le.Uint64(body[8:]), body[16]
		if r.flags&^markerReplacesLog != 0 {
			return r, fmt.Errorf("snapshot marker has unknown flags %#x", r.flags)
		}
	case recBatch:
		if err := fixed(batchBodySize); err != nil {
			return r, err
		}
		r.length, r.check = le.Uint64(body), le.Uint32(body[8:])
	default:
		return r, fmt.Errorf("unknown record type %d", p[0])
	}
	return r, nil
}

// batchCheck is the self-check stored in a batch record. It does not depend
// on the CRC chain, so a batch record can be recognised on its own anywhere
// in a segment: see isBatchAt.
func batchCheck(seq uint64, off int64, length uint64) uint32 {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], seq)
	binary.LittleEndian.PutUint64(b[8:], uint64(off))
	binary.LittleEndian.PutUint64(b[16:], length)
	return crc32.Checksum(b[:], castagnoli)
}

// isBatchAt reports whether data holds, at off, a batch record that was
// written at exactly that offset of segment seq. It is how the torn-tail
// rule recognises a write that began after a damaged record.
func isBatchAt(data []byte, off int, seq uint64) bool {
	if len(data)-off < batchFrameSize {
		return false
	}
	le := binary.LittleEndian
	if le.Uint32(data[off:]) != 1+batchBodySize || recordType(data[off+headerSize]) != recBatch {
		return false
	}
	body := data[off+headerSize+1 : off+batchFrameSize]
	if !allZero(body[batchBodySize:]) {
		return false
	}
	length := le.Uint64(body)
	return length > uint64(batchFrameSize) && le.Uint32(body[8:]) == batchCheck(seq, int64(off), length)
}

// beginFrame appends a frame header placeholder and the type byte to b and
// returns the frame's start. The caller appends the body, then endFrame.
func beginFrame(b []byte, typ recordType) ([]byte, int) {
	start := len(b)
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0, byte(typ)), start
}

// endFrame pads the frame that starts at start, fills in its length word and
// its CRC chained from prev, and returns the new chain value.
func endFrame(b []byte, start int, prev uint32) ([]byte, uint32) {
	n := len(b) - start - headerSize
	for (len(b)-start)%frameAlign != 0 {
		b = append(b, 0)
	}
	binary.LittleEndian.PutUint32(b[start:], uint32(n))
	crc := crc32.Update(prev, castagnoli, b[start:start+4])
	crc = crc32.Update(crc, castagnoli, b[start+headerSize:])
	binary.LittleEndian.PutUint32(b[start+4:], crc)
	return b, crc
}

// The append* functions encode one record as a frame chained from prev.

func appendCarry(b []byte, prev uint32, seq, first uint64) ([]byte, uint32) {
	b, start := beginFrame(b, recCarry)
	b = binary.LittleEndian.AppendUint32(b, prev)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint64(b, first)
	// The carry record's own CRC is chained from the value it carries, so
	// it can be checked without the previous segment.
	return endFrame(b, start, prev)
}

func appendMetadata(b []byte, prev uint32, md Metadata) ([]byte, uint32) {
	b, start := beginFrame(b, recMetadata)
	b = binary.LittleEndian.AppendUint32(b, FormatVersion)
	b = binary.LittleEndian.AppendUint64(b, md.MemberID)
	b = binary.LittleEndian.AppendUint64(b, md.ClusterID)
	return endFrame(b, start, prev)
}

func appendHardState(b []byte, prev uint32, hs *raft.HardState) ([]byte, uint32) {
	b, start := beginFrame(b, recHardState)
	b = hs.AppendTo(b)
	return endFrame(b, start, prev)
}

func appendEntry(b []byte, prev uint32, e *raft.Entry) ([]byte, uint32) {
	b, start := beginFrame(b, recEntry)
	b = e.AppendTo(b)
	return endFrame(b, start, prev)
}

func appendMarker(b []byte, prev uint32, m SnapshotMarker, flags uint8) ([]byte, uint32) {
	b, start := beginFrame(b, recMarker)
	b = binary.LittleEndian.AppendUint64(b, m.Index)
	b = binary.LittleEndian.AppendUint64(b, m.Term)
	b = append(b, flags)
	return endFrame(b, start, prev)
}

// appendBatch appends the batch record for a write of length bytes (this
// frame included) that will start at offset off of segment seq.
func appendBatch(b []byte, prev uint32, seq uint64, off int64, length uint64) ([]byte, uint32) {
	b, start := beginFrame(b, recBatch)
	b = binary.LittleEndian.AppendUint64(b, length)
	b = binary.LittleEndian.AppendUint32(b, batchCheck(seq, off, length))
	return endFrame(b, start, prev)
}

// Frame sizes of the variable records, for computing a batch's length
// before encoding it.

func hardStateFrameLen(hs *raft.HardState) int { return frameLen(1 + hs.Size()) }
func entryFrameLen(e *raft.Entry) int          { return frameLen(1 + e.Size()) }

// allZero reports whether every byte of b is zero.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
