package raft

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The binary encoding of entries, hard states, snapshots, conf changes and
// messages. It is used both on disk (the WAL) and on the wire (peer streams),
// so it is compact and simple: unsigned integers are uvarints
// (encoding/binary), byte strings are a uvarint length followed by the bytes,
// and small enums are one byte. Every type has three methods:
//
//	Size() int                  the exact length of the encoding
//	AppendTo(b []byte) []byte   append the encoding to b
//	Unmarshal(b []byte) error   decode exactly b (trailing bytes are an error)
//
// Decoding is defensive: it never panics on any input and never allocates
// more than the input could hold (a length or count is checked against the
// bytes that remain before anything is allocated). Decoded byte slices (Data,
// Context) alias b: the caller must not change b while it uses the result.
//
// The layouts (all fields always present, in this order):
//
//	Entry            Term Index Type(1 byte) len(Data) Data
//	HardState        Term Vote Commit
//	ConfState        n Voters[0..n)
//	SnapshotMetadata Index Term ConfState
//	Snapshot         SnapshotMetadata len(Data) Data
//	ConfChange       ID Type(1 byte) NodeID len(Context) Context
//	Message          Type(1 byte) To From Term LogTerm Index Commit RejectHint
//	                 Flags(1 byte: 1 = Reject, 2 = has Snapshot)
//	                 n Entries[0..n) [Snapshot] len(Context) Context

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("raft: malformed encoding")

// minEntrySize is the smallest possible encoded Entry: four one-byte fields.
const minEntrySize = 4

func uvarintSize(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func bytesSize(b []byte) int { return uvarintSize(uint64(len(b))) + len(b) }

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// decoder reads fields from b in order. The first failure sticks in err and
// every later read returns zero values, so callers check err once at the end.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrMalformed, what, d.off)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad or truncated " + what)
		return 0
	}
	d.off += n
	return x
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("truncated " + what)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

// bytes reads a length-prefixed byte string, aliasing d.b. Empty is nil.
func (d *decoder) bytes(what string) []byte {
	n := d.uvarint("length of " + what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(what + " longer than the input")
		return nil
	}
	if n == 0 {
		return nil
	}
	p := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return p
}

// count reads a element count and checks that that many elements of at least
// minSize bytes each could fit in what remains, so a hostile count cannot make
// the caller allocate more than the input's size.
func (d *decoder) count(what string, minSize int) int {
	n := d.uvarint("count of " + what)
	if d.err != nil {
		return 0
	}
	if n > uint64((len(d.b)-d.off)/minSize) {
		d.fail("count of " + what + " larger than the input")
		return 0
	}
	return int(n)
}

// done fails if anything is left over, then returns the sticky error.
func (d *decoder) done() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes")
	}
	return d.err
}

// Size returns the length of e's encoding.
func (e *Entry) Size() int {
	return uvarintSize(e.Term) + uvarintSize(e.Index) + 1 + bytesSize(e.Data)
}

// AppendTo appends e's encoding to b.
func (e *Entry) AppendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, e.Term)
	b = binary.AppendUvarint(b, e.Index)
	b = append(b, byte(e.Type))
	return appendBytes(b, e.Data)
}

// Unmarshal decodes an Entry from exactly b. Data aliases b.
func (e *Entry) Unmarshal(b []byte) error {
	d := decoder{b: b}
	d.entry(e)
	return d.done()
}

func (d *decoder) entry(e *Entry) {
	e.Term = d.uvarint("entry term")
	e.Index = d.uvarint("entry index")
	e.Type = EntryType(d.byte("entry type"))
	e.Data = d.bytes("entry data")
}

// Size returns the length of hs's encoding.
func (hs *HardState) Size() int {
	return uvarintSize(hs.Term) + uvarintSize(hs.Vote) + uvarintSize(hs.Commit)
}

// AppendTo appends hs's encoding to b.
func (hs *HardState) AppendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, hs.Term)
	b = binary.AppendUvarint(b, hs.Vote)
	return binary.AppendUvarint(b, hs.Commit)
}

// Unmarshal decodes a HardState from exactly b.
func (hs *HardState) Unmarshal(b []byte) error {
	d := decoder{b: b}
	hs.Term = d.uvarint("term")
	hs.Vote = d.uvarint("vote")
	hs.Commit = d.uvarint("commit")
	return d.done()
}

func (cs *ConfState) size() int {
	n := uvarintSize(uint64(len(cs.Voters)))
	for _, id := range cs.Voters {
		n += uvarintSize(id)
	}
	return n
}

func (cs *ConfState) appendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(cs.Voters)))
	for _, id := range cs.Voters {
		b = binary.AppendUvarint(b, id)
	}
	return b
}

func (d *decoder) confState(cs *ConfState) {
	n := d.count("voters", 1)
	cs.Voters = nil
	if n > 0 {
		cs.Voters = make([]uint64, n)
		for i := range cs.Voters {
			cs.Voters[i] = d.uvarint("voter")
		}
	}
}

// Size returns the length of m's encoding.
func (m *SnapshotMetadata) Size() int {
	return uvarintSize(m.Index) + uvarintSize(m.Term) + m.ConfState.size()
}

// AppendTo appends m's encoding to b.
func (m *SnapshotMetadata) AppendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, m.Index)
	b = binary.AppendUvarint(b, m.Term)
	return m.ConfState.appendTo(b)
}

// Unmarshal decodes SnapshotMetadata from exactly b.
func (m *SnapshotMetadata) Unmarshal(b []byte) error {
	d := decoder{b: b}
	d.snapshotMetadata(m)
	return d.done()
}

func (d *decoder) snapshotMetadata(m *SnapshotMetadata) {
	m.Index = d.uvarint("snapshot index")
	m.Term = d.uvarint("snapshot term")
	d.confState(&m.ConfState)
}

// Size returns the length of s's encoding.
func (s *Snapshot) Size() int { return s.Metadata.Size() + bytesSize(s.Data) }

// AppendTo appends s's encoding to b.
func (s *Snapshot) AppendTo(b []byte) []byte {
	b = s.Metadata.AppendTo(b)
	return appendBytes(b, s.Data)
}

// Unmarshal decodes a Snapshot from exactly b. Data aliases b.
func (s *Snapshot) Unmarshal(b []byte) error {
	d := decoder{b: b}
	d.snapshot(s)
	return d.done()
}

func (d *decoder) snapshot(s *Snapshot) {
	d.snapshotMetadata(&s.Metadata)
	s.Data = d.bytes("snapshot data")
}

// Size returns the length of cc's encoding.
func (cc *ConfChange) Size() int {
	return uvarintSize(cc.ID) + 1 + uvarintSize(cc.NodeID) + bytesSize(cc.Context)
}

// AppendTo appends cc's encoding to b.
func (cc *ConfChange) AppendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, cc.ID)
	b = append(b, byte(cc.Type))
	b = binary.AppendUvarint(b, cc.NodeID)
	return appendBytes(b, cc.Context)
}

// Unmarshal decodes a ConfChange from exactly b. Context aliases b.
func (cc *ConfChange) Unmarshal(b []byte) error {
	d := decoder{b: b}
	cc.ID = d.uvarint("conf change id")
	cc.Type = ConfChangeType(d.byte("conf change type"))
	cc.NodeID = d.uvarint("conf change node id")
	cc.Context = d.bytes("conf change context")
	if d.err == nil && cc.Type > ConfChangeUpdateNode {
		d.fail(fmt.Sprintf("unknown conf change type %d", cc.Type))
	}
	return d.done()
}

const (
	flagReject      = 1
	flagHasSnapshot = 2
)

// Size returns the length of m's encoding.
func (m *Message) Size() int {
	n := 1 + uvarintSize(m.To) + uvarintSize(m.From) + uvarintSize(m.Term) +
		uvarintSize(m.LogTerm) + uvarintSize(m.Index) + uvarintSize(m.Commit) +
		uvarintSize(m.RejectHint) + 1 + uvarintSize(uint64(len(m.Entries)))
	for i := range m.Entries {
		n += m.Entries[i].Size()
	}
	if m.Snapshot != nil {
		n += m.Snapshot.Size()
	}
	return n + bytesSize(m.Context)
}

// AppendTo appends m's encoding to b.
func (m *Message) AppendTo(b []byte) []byte {
	b = append(b, byte(m.Type))
	b = binary.AppendUvarint(b, m.To)
	b = binary.AppendUvarint(b, m.From)
	b = binary.AppendUvarint(b, m.Term)
	b = binary.AppendUvarint(b, m.LogTerm)
	b = binary.AppendUvarint(b, m.Index)
	b = binary.AppendUvarint(b, m.Commit)
	b = binary.AppendUvarint(b, m.RejectHint)
	var flags byte
	if m.Reject {
		flags |= flagReject
	}
	if m.Snapshot != nil {
		flags |= flagHasSnapshot
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(m.Entries)))
	for i := range m.Entries {
		b = m.Entries[i].AppendTo(b)
	}
	if m.Snapshot != nil {
		b = m.Snapshot.AppendTo(b)
	}
	return appendBytes(b, m.Context)
}

// Marshal returns m's encoding in a new slice of exactly the right size.
func (m *Message) Marshal() []byte { return m.AppendTo(make([]byte, 0, m.Size())) }

// Unmarshal decodes a Message from exactly b. Entry data, snapshot data and
// Context alias b.
func (m *Message) Unmarshal(b []byte) error {
	d := decoder{b: b}
	*m = Message{}
	m.Type = MessageType(d.byte("message type"))
	if d.err == nil && m.Type >= msgTypeCount {
		d.off--
		d.fail(fmt.Sprintf("unknown message type %d", m.Type))
	}
	m.To = d.uvarint("to")
	m.From = d.uvarint("from")
	m.Term = d.uvarint("term")
	m.LogTerm = d.uvarint("log term")
	m.Index = d.uvarint("index")
	m.Commit = d.uvarint("commit")
	m.RejectHint = d.uvarint("reject hint")
	flags := d.byte("flags")
	if d.err == nil && flags&^(flagReject|flagHasSnapshot) != 0 {
		d.off--
		d.fail(fmt.Sprintf("unknown flags %#x", flags))
	}
	m.Reject = flags&flagReject != 0
	if n := d.count("entries", minEntrySize); n > 0 {
		m.Entries = make([]Entry, n)
		for i := range m.Entries {
			d.entry(&m.Entries[i])
		}
	}
	if flags&flagHasSnapshot != 0 && d.err == nil {
		m.Snapshot = new(Snapshot)
		d.snapshot(m.Snapshot)
	}
	m.Context = d.bytes("context")
	if err := d.done(); err != nil {
		*m = Message{}
		return err
	}
	return nil
}
