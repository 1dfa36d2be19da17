package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// The snapshot format: the whole state of a store in a compact binary form
// of our own. Integers are uvarints (varints for times), byte strings a
// uvarint length and the bytes.
//
//	magic "v2kv" and version 1 (5 bytes)
//	index
//	15 counters, in /v2/stats/store order (watchers are not saved)
//	the tree, depth first from the root:
//	    node:  flags(1 byte: 1 dir, 2 TTL) created modified
//	           [file] len(value) value
//	           [TTL]  deadline(varint) seq
//	           [dir]  n, then n times: len(name) name node
//	the history, oldest first: n, then n events:
//	    event: action(1 byte) flags(1 byte: 1 refresh, 2 has prevNode)
//	           time(varint) etcdIndex node [prevNode]
//	    node:  len(key) key flags(1 byte: 1 dir, 2 no value)
//	           [shown value] len(value) value
//	           expiration(varint) modifiedIndex createdIndex
//	CRC-32C of all the bytes before it (4 bytes, little endian)
//
// Children are written in map order, so two saves of one state may differ
// in bytes; they recover to the same state (Hash compares states).

const snapshotMagic = "v2kv\x01"

// crcTable returns the CRC-32C table (crc32 makes it once and caches it).
func crcTable() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// ErrBadSnapshot is wrapped by every Recover error.
var ErrBadSnapshot = errors.New("kv: bad snapshot")

// Flags of the snapshot's records.
const (
	snapDir   = 1
	snapTTL   = 2
	snapKnown = snapDir | snapTTL

	snapRefresh   = 1
	snapHasPrev   = 2
	snapEvKnown   = snapRefresh | snapHasPrev
	snapNoValue   = 2
	snapNodeKnown = snapDir | snapNoValue
)

// actionCode and actionOf map the actions of history events to their
// snapshot codes and back.
func actionCode(a string) byte {
	for i := byte(0); ; i++ {
		if x, ok := actionOf(i); !ok || x == a {
			return i
		}
	}
}

func actionOf(code byte) (string, bool) {
	switch code {
	case 0:
		return ActionGet, true
	case 1:
		return ActionSet, true
	case 2:
		return ActionCreate, true
	case 3:
		return ActionUpdate, true
	case 4:
		return ActionCompareAndSwap, true
	case 5:
		return ActionDelete, true
	case 6:
		return ActionCompareAndDelete, true
	case 7:
		return ActionExpire, true
	}
	return "", false
}

// snapshotWriter appends records to a buffer that it hands to w, with the
// running CRC, whenever it passes flushSize.
type snapshotWriter struct {
	w   io.Writer
	buf []byte
	crc uint32
	err error
}

const flushSize = 1 << 20

func (sw *snapshotWriter) flush() {
	if sw.err == nil && len(sw.buf) > 0 {
		sw.crc = crc32.Update(sw.crc, crcTable(), sw.buf)
		_, sw.err = sw.w.Write(sw.buf)
	}
	sw.buf = sw.buf[:0]
}

func (sw *snapshotWriter) maybeFlush() {
	if len(sw.buf) >= flushSize {
		sw.flush()
	}
}

func (sw *snapshotWriter) uvarint(x uint64) { sw.buf = binary.AppendUvarint(sw.buf, x) }
func (sw *snapshotWriter) varint(x int64)   { sw.buf = binary.AppendVarint(sw.buf, x) }
func (sw *snapshotWriter) str(s string)     { sw.buf = appendLenString(sw.buf, s) }

// Save writes the whole state of the store (tree, index, TTLs, history and
// statistics; not the watchers) to w. It holds the read lock while it
// writes, so Apply waits for it.
func (s *Store) Save(w io.Writer) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sw := &snapshotWriter{w: w, buf: make([]byte, 0, flushSize+64*1024)}
	sw.buf = append(sw.buf, snapshotMagic...)
	sw.uvarint(s.index)
	for i := range numStats {
		sw.uvarint(s.stats[i].Load())
	}
	sw.tree(s.root)
	sw.uvarint(uint64(s.history.len()))
	for i := range s.history.len() {
		sw.event(s.history.at(i))
	}
	sw.flush()
	if sw.err != nil {
		return fmt.Errorf("kv: save snapshot: %w", sw.err)
	}
	var crc [4]byte
	binary.LittleEndian.PutUint32(crc[:], sw.crc)
	if _, err := w.Write(crc[:]); err != nil {
		return fmt.Errorf("kv: save snapshot: %w", err)
	}
	return nil
}

func (sw *snapshotWriter) tree(n *node) {
	var flags byte
	if n.dir {
		flags |= snapDir
	}
	if n.ttl != nil {
		flags |= snapTTL
	}
	sw.buf = append(sw.buf, flags)
	sw.uvarint(n.created)
	sw.uvarint(n.modified)
	if !n.dir {
		sw.str(n.value)
	}
	if n.ttl != nil {
		sw.varint(n.ttl.deadline)
		sw.uvarint(n.ttl.seq)
	}
	if n.dir {
		sw.uvarint(uint64(len(n.children)))
		for name, c := range n.children {
			sw.str(name)
			sw.tree(c)
			sw.maybeFlush()
		}
	}
}

func (sw *snapshotWriter) event(e *Event) {
	var flags byte
	if e.Refresh {
		flags |= snapRefresh
	}
	if e.PrevNode != nil {
		flags |= snapHasPrev
	}
	sw.buf = append(sw.buf, actionCode(e.Action), flags)
	sw.varint(e.time)
	sw.uvarint(e.EtcdIndex)
	sw.eventNode(&e.Node)
	if e.PrevNode != nil {
		sw.eventNode(e.PrevNode)
	}
	sw.maybeFlush()
}

func (sw *snapshotWriter) eventNode(n *Node) {
	sw.str(n.Key)
	var flags byte
	if n.Dir {
		flags |= snapDir
	}
	if n.NoValue {
		flags |= snapNoValue
	}
	sw.buf = append(sw.buf, flags)
	if !n.Dir && !n.NoValue {
		sw.str(n.Value)
	}
	sw.varint(n.Expiration)
	sw.uvarint(n.ModifiedIndex)
	sw.uvarint(n.CreatedIndex)
}

// Recover replaces the state of the store with the snapshot in data, as
// written by Save: afterwards it answers every read and watch as the saved
// store did. Registered watchers stay registered, except those the
// snapshot's events concern (see hub.recovered): a member that catches up
// from a snapshot must not leave a watcher waiting for an event it now
// holds. Damaged or foreign data is an error wrapping ErrBadSnapshot and
// leaves the store as it was.
func (s *Store) Recover(data []byte) error {
	st, err := decodeSnapshot(data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.root, s.index, s.ttl, s.history, s.sum, s.nodes = st.root, st.index, st.ttl, st.history, st.sum, st.nodes-len(namespaceDirs)
	for i := range numStats {
		s.stats[i].Store(st.stats[i])
	}
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.recovered(func(w *Watcher) (*Event, *Error) {
		return s.history.scan(w.key, w.recursive, w.since, s.index)
	})
	return nil
}

// snapshotState is a decoded snapshot, not yet in a store.
type snapshotState struct {
	root    *node
	index   uint64
	stats   [numStats]uint64
	ttl     ttlHeap
	history history
	sum     uint64
	nodes   int // nodes decoded below the root, /0, /1 and /2 included
}

func decodeSnapshot(data []byte) (*snapshotState, error) {
	if len(data) < len(snapshotMagic)+4 || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fmt.Errorf("%w: not a v2kv snapshot", ErrBadSnapshot)
	}
	body := data[:len(data)-4]
	if got, want := crc32.Checksum(body, crcTable()), binary.LittleEndian.Uint32(data[len(body):]); got != want {
		return nil, fmt.Errorf("%w: crc mismatch (%08x, want %08x)", ErrBadSnapshot, got, want)
	}
	d := &decoder{b: body, off: len(snapshotMagic), what: ErrBadSnapshot}
	st := &snapshotState{index: d.uvarint("index")}
	for i := range numStats {
		st.stats[i] = d.uvarint("counter")
	}
	st.root = st.decodeTree(d)
	n := d.uvarint("history length")
	if n > historySize {
		d.fail(fmt.Sprintf("history of %d events", n))
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		e := decodeEvent(d)
		if d.err == nil && st.history.len() > 0 && e.Index() != st.history.last()+1 {
			d.fail(fmt.Sprintf("history event %d after %d", e.Index(), st.history.last()))
		}
		st.history.add(e)
	}
	if d.err == nil && st.history.last() > st.index {
		d.fail(fmt.Sprintf("history ends at %d, after the index %d", st.history.last(), st.index))
	}
	if d.err == nil && d.off != len(body) {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	for _, name := range [...]string{"0", "1", "2"} {
		if c := st.root.children[name]; c == nil || !c.dir {
			return nil, fmt.Errorf("%w: no directory /%s", ErrBadSnapshot, name)
		}
	}
	return st, nil
}

// decodeNode reads one tree node record; count is a directory's number of
// children, still to be read.
func (st *snapshotState) decodeNode(d *decoder) (n *node, count uint64, deadline int64, seq uint64) {
	flags := d.byte("node flags")
	if flags&^snapKnown != 0 {
		d.fail(fmt.Sprintf("bad node flags %#x", flags))
		return nil, 0, 0, 0
	}
	n = &node{dir: flags&snapDir != 0}
	n.created = d.uvarint("createdIndex")
	n.modified = d.uvarint("modifiedIndex")
	if !n.dir {
		n.value = d.str("value")
	}
	if flags&snapTTL != 0 {
		deadline = d.varint("deadline")
		seq = d.uvarint("deadline seq")
		if d.err == nil && deadline == 0 {
			d.fail("TTL without a deadline")
		}
	}
	if n.dir {
		count = d.uvarint("number of children")
		// Each child takes at least 5 bytes: this bounds the map below.
		if count > uint64(len(d.b)-d.off)/5 {
			d.fail(fmt.Sprintf("%d children overrun the input", count))
		}
	}
	if d.err != nil {
		return nil, 0, 0, 0
	}
	if count > 0 {
		n.children = make(map[string]*node, count)
	}
	return n, count, deadline, seq
}

// decodeTree reads the tree without recursion (its depth is the data's to
// choose), rebuilding the TTL heap and the hash sum on the way.
func (st *snapshotState) decodeTree(d *decoder) *node {
	root, count, deadline, _ := st.decodeNode(d)
	if d.err != nil {
		return nil
	}
	if !root.dir || deadline != 0 {
		d.fail("root is not a permanent directory")
		return nil
	}
	st.sum = hashNode(rootPathHash, root)
	type frame struct {
		dir      *node
		left     uint64 // children still to read
		pathLen  int    // len(path) before the directory's name
		pathHash uint64 // the running hash of the directory's path
	}
	stack := []frame{{dir: root, left: count, pathHash: rootPathHash}}
	var path []byte
	for len(stack) > 0 && d.err == nil {
		top := &stack[len(stack)-1]
		if top.left == 0 {
			path = path[:top.pathLen]
			stack = stack[:len(stack)-1]
			continue
		}
		top.left--
		name := d.bytes("name")
		if d.err == nil && (len(name) == 0 || strings.ContainsRune(string(name), '/')) {
			d.fail(fmt.Sprintf("bad name %q", name))
		}
		n, count, deadline, seq := st.decodeNode(d)
		if d.err != nil {
			break
		}
		if _, dup := top.dir.children[string(name)]; dup {
			d.fail(fmt.Sprintf("duplicate name %q", name))
			break
		}
		key := string(name)
		top.dir.children[key] = n
		pathLen := len(path)
		path = append(append(path, '/'), key...)
		if deadline != 0 {
			n.ttl = &ttlEntry{deadline: deadline, seq: seq, path: string(path), n: n}
			st.ttl.push(n.ttl)
		}
		ph := childPathHash(top.pathHash, key)
		st.sum += hashNode(ph, n)
		st.nodes++
		if count > 0 {
			stack = append(stack, frame{dir: n, left: count, pathLen: pathLen, pathHash: ph})
		} else {
			path = path[:pathLen]
		}
	}
	return root
}

func decodeEvent(d *decoder) *Event {
	code := d.byte("action")
	flags := d.byte("event flags")
	action, ok := actionOf(code)
	if d.err == nil && (!ok || flags&^snapEvKnown != 0) {
		d.fail(fmt.Sprintf("bad event action %d or flags %#x", code, flags))
	}
	if d.err != nil {
		return nil
	}
	e := &Event{Action: action, Refresh: flags&snapRefresh != 0}
	e.time = d.varint("event time")
	e.EtcdIndex = d.uvarint("event etcdIndex")
	e.Node = decodeEventNode(d)
	if flags&snapHasPrev != 0 {
		prev := decodeEventNode(d)
		e.PrevNode = &prev
	}
	return e
}

func decodeEventNode(d *decoder) Node {
	var n Node
	n.Key = d.str("event key")
	flags := d.byte("event node flags")
	if d.err == nil && flags&^snapNodeKnown != 0 {
		d.fail(fmt.Sprintf("bad event node flags %#x", flags))
	}
	n.Dir = flags&snapDir != 0
	n.NoValue = flags&snapNoValue != 0
	if !n.Dir && !n.NoValue {
		n.Value = d.str("event value")
	}
	n.Expiration = d.varint("event expiration")
	n.ModifiedIndex = d.uvarint("event modifiedIndex")
	n.CreatedIndex = d.uvarint("event createdIndex")
	return n
}
