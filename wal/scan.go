package wal

import (
	"fmt"
	"math"
)

// This file holds the segment scanner: it walks one segment's bytes frame by
// frame, checks the CRC chain and the batch structure, hands the records of
// every complete batch to a visitor, and decides whether damage at the end
// of the last segment is a torn tail or corruption (the rule is in doc.go).

// visitFunc receives each record of a segment's header and of each complete
// batch, in order, with the offset of its frame. Entry data aliases the
// segment's bytes, which are reused for the next segment: copy what you keep.
type visitFunc func(r *record, off int) error

// scanResult is what scanSegment found.
type scanResult struct {
	end  int       // offset just past the last complete batch: where appends continue
	crc  uint32    // CRC chain value at end
	torn *tornTail // non-nil if the last segment ends in a torn write
}

// tornTail describes a torn write at the end of the last segment.
type tornTail struct {
	offset  int    // start of the torn write: everything from here on is dropped
	damaged int    // offset of the first frame that does not check
	dropped int    // bytes from offset to the last non-zero byte
	cause   string // why the frame at damaged does not check
}

type pendingRecord struct {
	rec record
	off int
}

// scanSegment scans the bytes of seg. prev is the CRC chain value at the end
// of the previous segment, checked against the carry record if havePrev.
// Damage in a segment that is not the last one is always corruption; in the
// last one, damage that looks like a write interrupted by a crash is
// reported in the result's torn field instead (see doc.go for the rule).
func scanSegment(seg segment, data []byte, last bool, prev uint32, havePrev bool, visit visitFunc) (scanResult, error) {
	corrupt := func(off int, reason string, err error) error {
		return &CorruptError{File: seg.path, Offset: int64(off), Reason: reason, Err: err}
	}

	// The segment header: carry, metadata, hard state. It is written under a
	// temporary name and fsynced before the segment gets its name, so any
	// damage here is corruption, even in the last segment.
	f, err := readFrame(data, 0)
	if err != nil {
		return scanResult{}, corrupt(0, "segment header: "+err.Error(), nil)
	}
	carry, err := decodeRecord(f.payload)
	if err != nil || carry.typ != recCarry {
		return scanResult{}, corrupt(0, "segment header: no crc carry record", err)
	}
	if !f.verify(data, carry.crc) {
		return scanResult{}, corrupt(0, errCRC.Error(), nil)
	}
	if havePrev && carry.crc != prev {
		return scanResult{}, corrupt(0, fmt.Sprintf(
			"crc carry %08x does not match %08x at the end of the previous segment", carry.crc, prev), nil)
	}
	if carry.seq != seg.seq || carry.index != seg.first {
		return scanResult{}, corrupt(0, fmt.Sprintf(
			"segment header says sequence %d, first index %d, unlike the file name", carry.seq, carry.index), nil)
	}
	crc, off := f.crc, f.end
	for _, want := range []recordType{recMetadata, recHardState} {
		f, err := readFrame(data, off)
		if err == nil && !f.verify(data, crc) {
			err = errCRC
		}
		if err != nil {
			return scanResult{}, corrupt(off, "segment header: "+err.Error(), nil)
		}
		rec, err := decodeRecord(f.payload)
		if err != nil {
			return scanResult{}, corrupt(off, "undecodable record", err)
		}
		if rec.typ != want {
			return scanResult{}, corrupt(off, fmt.Sprintf("segment header: %s record where %s belongs", rec.typ, want), nil)
		}
		if err := visit(&rec, off); err != nil {
			return scanResult{}, err
		}
		crc, off = f.crc, f.end
	}

	// Batches. off == batchEnd means we are between batches.
	res := scanResult{end: off, crc: crc}
	var pending []pendingRecord
	batchStart, batchEnd := off, off
	for {
		atBoundary := off == batchEnd
		if off >= len(data) && atBoundary {
			return res, nil // the segment ends exactly after a complete batch
		}
		var ferr error
		if off >= len(data) {
			f, ferr = frame{off: off}, errShort
		} else {
			f, ferr = readFrame(data, off)
		}
		if ferr == nil && !f.verify(data, crc) {
			ferr = errCRC
		}
		if ferr != nil {
			if !last {
				return scanResult{}, corrupt(off, ferr.Error(), nil)
			}
			return tail(seg, data, res, f, ferr, atBoundary, batchStart, batchEnd)
		}
		// The frame checks: it is exactly what the writer wrote, so from here
		// on every problem is corruption (or a bug), never a torn write.
		rec, err := decodeRecord(f.payload)
		if err != nil {
			return scanResult{}, corrupt(off, "undecodable record", err)
		}
		if atBoundary {
			if rec.typ != recBatch {
				return scanResult{}, corrupt(off, fmt.Sprintf("%s record outside a batch", rec.typ), nil)
			}
			if rec.length <= uint64(batchFrameSize) || rec.length > math.MaxInt32*uint64(frameAlign) ||
				rec.check != batchCheck(seg.seq, int64(off), rec.length) {
				return scanResult{}, corrupt(off, "batch record does not match its position", nil)
			}
			batchStart, batchEnd = off, off+int(rec.length)
			pending = pending[:0]
		} else {
			switch rec.typ {
			case recBatch, recCarry, recMetadata:
				return scanResult{}, corrupt(off, fmt.Sprintf("%s record inside a batch", rec.typ), nil)
			}
			if f.end > batchEnd {
				return scanResult{}, corrupt(off, "record crosses the end of its batch", nil)
			}
			pending = append(pending, pendingRecord{rec, off})
		}
		crc, off = f.crc, f.end
		if off == batchEnd {
			for i := range pending {
				if err := visit(&pending[i].rec, pending[i].off); err != nil {
					return scanResult{}, err
				}
			}
			res.end, res.crc = off, crc
		}
	}
}

// tail decides what the first frame that does not check, f, in the last
// segment means. It is a torn tail only if
//
//   - the frame looks like an interrupted write: nothing was written where it
//     starts (a zero header word), it runs past the end of the file, or its
//     CRC fails and one of the 512-byte sectors it spans is all zeros; and
//   - nothing was written after the write it belongs to: when that write's
//     batch record survived, every byte after the write's end is zero; when
//     the damage is where a write would begin, no valid batch record appears
//     anywhere after it.
//
// A zero header word must moreover be followed by zeros up to the end of its
// sector. Anything else is corruption.
func tail(seg segment, data []byte, res scanResult, f frame, ferr error, atBoundary bool, batchStart, batchEnd int) (scanResult, error) {
	damaged := f.off
	corrupt := func(reason string) error {
		return &CorruptError{File: seg.path, Offset: int64(damaged), Reason: reason}
	}
	looksTorn := ferr == errZeroHeader || ferr == errShort ||
		(ferr == errCRC && hasZeroSector(data, f.off, f.end))
	if !looksTorn {
		return scanResult{}, corrupt(ferr.Error())
	}
	if ferr == errZeroHeader {
		// A sector is written whole or not at all: if the header word is
		// missing, so is the rest of its sector.
		sectorEnd := min((damaged/sectorSize+1)*sectorSize, len(data))
		if i := firstNonZero(data[damaged:sectorEnd]); i >= 0 {
			return scanResult{}, corrupt(fmt.Sprintf("%s, yet its sector holds data at offset %d", ferr, damaged+i))
		}
	}
	start := damaged // where the interrupted write began
	if atBoundary {
		for x := damaged + frameAlign; x+batchFrameSize <= len(data); x += frameAlign {
			if isBatchAt(data, x, seg.seq) {
				return scanResult{}, corrupt(fmt.Sprintf("%s, yet a later write starts at offset %d", ferr, x))
			}
		}
	} else {
		start = batchStart
		if batchEnd < len(data) {
			if i := firstNonZero(data[batchEnd:]); i >= 0 {
				return scanResult{}, corrupt(fmt.Sprintf("%s, yet data was written after that write, at offset %d", ferr, batchEnd+i))
			}
		}
	}
	dropped := 0
	if start < len(data) {
		dropped = lastNonZero(data[start:]) + 1
	}
	if dropped > 0 {
		res.torn = &tornTail{offset: start, damaged: damaged, dropped: dropped, cause: ferr.Error()}
	}
	return res, nil
}

// hasZeroSector reports whether some 512-byte sector that the frame
// [start, end) overlaps holds only zeros within the frame (or within data,
// for a frame cut short by the end of the file).
func hasZeroSector(data []byte, start, end int) bool {
	end = min(end, len(data))
	for s := start; s < end; {
		next := min((s/sectorSize+1)*sectorSize, end)
		if allZero(data[s:next]) {
			return true
		}
		s = next
	}
	return false
}

// firstNonZero returns the index of the first non-zero byte of b, or -1.
func firstNonZero(b []byte) int {
	i := 0
	for ; i+8 <= len(b) && allZero(b[i:i+8]); i += 8 {
	}
	for ; i < len(b); i++ {
		if b[i] != 0 {
			return i
		}
	}
	return -1
}

// lastNonZero returns the index of the last non-zero byte of b, or -1.
func lastNonZero(b []byte) int {
	i := len(b)
	for ; i >= 8 && allZero(b[i-8:i]); i -= 8 {
	}
	for i--; i >= 0; i-- {
		if b[i] != 0 {
			return i
		}
	}
	return -1
}
