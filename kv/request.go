package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Method is what a Request asks the store to do.
type Method uint8

// The methods of a replicated request (spec §3.5).
const (
	MethodPut    Method = iota + 1 // set, create, update or compare-and-swap
	MethodPost                     // create in order
	MethodDelete                   // delete or compare-and-delete
	MethodQGet                     // quorum read
	MethodSync                     // the leader's clock: expire keys
)

// String returns the method's etcd name (PUT, POST, DELETE, QGET, SYNC).
func (m Method) String() string {
	switch m {
	case MethodPut:
		return "PUT"
	case MethodPost:
		return "POST"
	case MethodDelete:
		return "DELETE"
	case MethodQGet:
		return "QGET"
	case MethodSync:
		return "SYNC"
	}
	return fmt.Sprintf("Method(%d)", uint8(m))
}

// PrevExist is the tri-state prevExist condition of a PUT.
type PrevExist uint8

// The values of PrevExist: not given, prevExist=true, prevExist=false.
const (
	PrevExistUnset PrevExist = iota
	PrevExistTrue
	PrevExistFalse
)

// Request is one replicated command: the server encodes it into a raft
// entry and every member decodes it and passes it to Store.Apply.
type Request struct {
	// ID is opaque to the store; the server uses it to match the result
	// of Apply to the client waiting for it.
	ID     uint64
	Method Method
	// Path is the full internal store path (/1/<key> for /v2/keys/<key>).
	Path string
	Val  string
	Dir  bool
	// PrevExist, PrevValue and PrevIndex are the conditions of a PUT or
	// DELETE; PrevValue "" and PrevIndex 0 mean "not given".
	PrevExist PrevExist
	PrevValue string
	PrevIndex uint64
	Recursive bool
	Sorted    bool
	Refresh   bool
	// Expiration is the absolute deadline in Unix nanoseconds, computed by
	// the member that received the request (now + ttl). 0, or any time
	// before 2000-01-01, means no TTL.
	Expiration int64
	// Time is a clock reading in Unix nanoseconds. For SYNC it is the
	// leader's clock: every node whose deadline is at or before it
	// expires. For any other method it is optional: when not 0, the ttl
	// fields of the events this request makes are counted from it (etcd
	// computes them when it applies the request), so a watcher reading
	// the event later from the history sees the ttl the writer saw.
	Time int64
}

// requestVersion is the first byte of every encoded Request.
const requestVersion = 1

// Flag bits of the encoded Request.
const (
	reqDir = 1 << iota
	reqRecursive
	reqSorted
	reqRefresh
	reqPrevExistTrue
	reqPrevExistFalse
	reqKnownFlags = reqDir | reqRecursive | reqSorted | reqRefresh | reqPrevExistTrue | reqPrevExistFalse
)

// ErrMalformedRequest is wrapped by every Request decoding error.
var ErrMalformedRequest = errors.New("kv: malformed request")

// Marshal returns the request's compact binary encoding:
//
//	version(1 byte) method(1 byte) flags(1 byte) ID(uvarint)
//	len(Path) Path len(Val) Val len(PrevValue) PrevValue
//	PrevIndex(uvarint) Expiration(varint) Time(varint)
//
// The flags are Dir, Recursive, Sorted, Refresh, prevExist=true and
// prevExist=false, from the lowest bit up. Equal requests have equal
// encodings.
func (r *Request) Marshal() []byte {
	n := 3 + binary.MaxVarintLen64*6 + len(r.Path) + len(r.Val) + len(r.PrevValue)
	b := make([]byte, 0, n)
	var flags byte
	if r.Dir {
		flags |= reqDir
	}
	if r.Recursive {
		flags |= reqRecursive
	}
	if r.Sorted {
		flags |= reqSorted
	}
	if r.Refresh {
		flags |= reqRefresh
	}
	switch r.PrevExist {
	case PrevExistTrue:
		flags |= reqPrevExistTrue
	case PrevExistFalse:
		flags |= reqPrevExistFalse
	}
	b = append(b, requestVersion, byte(r.Method), flags)
	b = binary.AppendUvarint(b, r.ID)
	b = appendLenString(b, r.Path)
	b = appendLenString(b, r.Val)
	b = appendLenString(b, r.PrevValue)
	b = binary.AppendUvarint(b, r.PrevIndex)
	b = binary.AppendVarint(b, r.Expiration)
	b = binary.AppendVarint(b, r.Time)
	return b
}

// Unmarshal decodes exactly b into r. On any malformed input (an unknown
// version, method or flag, a truncated field, a length beyond the input,
// trailing bytes) it returns an error wrapping ErrMalformedRequest and
// leaves r unchanged. It never panics and allocates at most len(b) bytes
// for the strings.
func (r *Request) Unmarshal(b []byte) error {
	d := decoder{b: b, what: ErrMalformedRequest}
	if len(b) < 3 {
		return fmt.Errorf("%w: %d bytes, want at least 3", ErrMalformedRequest, len(b))
	}
	if b[0] != requestVersion {
		return fmt.Errorf("%w: unknown version %d", ErrMalformedRequest, b[0])
	}
	var q Request
	q.Method = Method(b[1])
	if q.Method < MethodPut || q.Method > MethodSync {
		return fmt.Errorf("%w: unknown method %d", ErrMalformedRequest, b[1])
	}
	flags := b[2]
	if flags&^reqKnownFlags != 0 || flags&reqPrevExistTrue != 0 && flags&reqPrevExistFalse != 0 {
		return fmt.Errorf("%w: bad flags %#x", ErrMalformedRequest, flags)
	}
	q.Dir = flags&reqDir != 0
	q.Recursive = flags&reqRecursive != 0
	q.Sorted = flags&reqSorted != 0
	q.Refresh = flags&reqRefresh != 0
	switch {
	case flags&reqPrevExistTrue != 0:
		q.PrevExist = PrevExistTrue
	case flags&reqPrevExistFalse != 0:
		q.PrevExist = PrevExistFalse
	}
	d.off = 3
	q.ID = d.uvarint("ID")
	q.Path = d.str("Path")
	q.Val = d.str("Val")
	q.PrevValue = d.str("PrevValue")
	q.PrevIndex = d.uvarint("PrevIndex")
	q.Expiration = d.varint("Expiration")
	q.Time = d.varint("Time")
	if d.err == nil && d.off != len(b) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return d.err
	}
	*r = q
	return nil
}

func appendLenString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads fields from b in order. The first failure sticks in err and
// every later read returns zero values, so callers check err once at the
// end. It is shared by the Request and snapshot decoders.
type decoder struct {
	b    []byte
	off  int
	err  error
	what error // wrapped by every error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", d.what, msg, d.off)
	}
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad or truncated " + field)
		return 0
	}
	d.off += n
	return x
}

func (d *decoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad or truncated " + field)
		return 0
	}
	d.off += n
	return x
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("truncated " + field)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

// bytes returns the next length-prefixed byte string, aliasing d.b.
func (d *decoder) bytes(field string) []byte {
	n := d.uvarint("length of " + field)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail(fmt.Sprintf("%s of %d bytes overruns the input", field, n))
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

// str returns the next length-prefixed byte string as a new string.
func (d *decoder) str(field string) string {
	p := d.bytes(field)
	if len(p) == 0 {
		return ""
	}
	return string(p)
}
