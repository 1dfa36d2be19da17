package peer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net/http"
	"time"

	"v2etcd/raft"
)

// The snapshot request body (POST /raft/snapshot):
//
//	frame     the MsgSnap, its Snapshot.Data empty
//	uvarint   the data's length in bytes
//	data      the snapshot data, streamed from the SnapshotStore
//	crc       4 bytes, big-endian CRC-32C (Castagnoli) of the data
//
// The request also has a Content-Length, so a body cut short anywhere is
// noticed. The receiver hands the data to SnapshotStore.Save as it
// arrives; the checksum is checked before the last bytes are given to
// Save, so a damaged or truncated transfer makes Save fail and nothing is
// kept.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sendSnapshot starts sending a snapshot on a goroutine of its own: one at
// a time per peer. A second one while the first is under way fails at once.
func (p *remotePeer) sendSnapshot(m *raft.Message) {
	if m.Snapshot == nil {
		p.t.log.Error(fmt.Sprintf("dropped a %s without a snapshot to %s", m.Type, p.id))
		p.t.reports.snapshot(p.id, false)
		return
	}
	if !p.snapshotting.CompareAndSwap(false, true) {
		p.t.log.Warn(fmt.Sprintf("dropped a snapshot [index %d, term %d] to %s: one is already being sent",
			m.Snapshot.Metadata.Index, m.Snapshot.Metadata.Term, p.id))
		p.t.reports.snapshot(p.id, false)
		return
	}
	msg := *m // Send's slice is the caller's
	snap := *m.Snapshot
	msg.Snapshot = &snap
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer p.snapshotting.Store(false)
		err := p.streamSnapshot(&msg)
		if p.ctx.Err() != nil {
			return // stopping: nobody to report to
		}
		meta := msg.Snapshot.Metadata
		if err != nil {
			p.t.log.Error(fmt.Sprintf("failed to send snapshot [index %d, term %d] to %s: %v", meta.Index, meta.Term, p.id, err))
		}
		p.t.reports.snapshot(p.id, err == nil)
	}()
}

// streamSnapshot sends m with its data and waits for the answer.
func (p *remotePeer) streamSnapshot(m *raft.Message) error {
	meta := m.Snapshot.Metadata
	var data io.ReadCloser
	var size int64
	if len(m.Snapshot.Data) > 0 { // raft handed the data itself
		data, size = io.NopCloser(bytes.NewReader(m.Snapshot.Data)), int64(len(m.Snapshot.Data))
	} else {
		var err error
		if data, size, err = p.t.snaps.Open(meta); err != nil {
			return fmt.Errorf("peer: cannot open the snapshot: %w", err)
		}
	}
	defer data.Close()
	head := *m
	head.Snapshot = &raft.Snapshot{Metadata: meta}
	hb := appendFrame(nil, &head)
	hb = binary.AppendUvarint(hb, uint64(size))

	u, ok := p.picker.pick()
	if !ok {
		return fmt.Errorf("peer: member %s has no peer URLs", p.id)
	}
	ctx, cancel := context.WithCancelCause(p.ctx)
	defer cancel(nil)
	idle := time.AfterFunc(p.t.tune.snapshotIdle, func() {
		cancel(fmt.Errorf("peer: no progress for %v", p.t.tune.snapshotIdle))
	})
	defer idle.Stop()
	body := &snapshotBody{head: hb, data: data, size: size, idle: idle, idleFor: p.t.tune.snapshotIdle}
	target := u
	target.Path = "/raft/snapshot"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), body)
	if err != nil {
		return fmt.Errorf("peer: cannot build the snapshot request: %w", err)
	}
	req.ContentLength = int64(len(hb)) + size + 4
	p.t.setHeaders(req.Header, p.id)
	req.Header.Set("Content-Type", "application/octet-stream")
	start := time.Now()
	resp, err := p.t.snapClient.Do(req)
	if err != nil {
		if body.err != nil {
			return body.err
		}
		if cause := context.Cause(ctx); cause != nil && p.ctx.Err() == nil {
			err = cause
		}
		p.picker.failed(u)
		return fmt.Errorf("peer: snapshot request to %s failed: %w", u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return p.t.refused(p.id, resp, "snapshot")
	}
	p.t.log.Info(fmt.Sprintf("sent snapshot [index %d, term %d] of %d bytes to %s in %v",
		meta.Index, meta.Term, size, p.id, time.Since(start).Round(time.Millisecond)))
	return nil
}

// snapshotBody is the request body of a snapshot: head (the message frame
// and the data length), then exactly size bytes of data, then their
// checksum. The data must end exactly after size bytes: it is read to
// io.EOF, so a reader that checks its own checksum at the end gets to.
type snapshotBody struct {
	head    []byte
	data    io.Reader
	size    int64
	read    int64 // data bytes read so far
	crc     uint32
	trailer []byte // set once the data has been read and checked
	err     error  // why the data could not be read
	idle    *time.Timer
	idleFor time.Duration
}

func (b *snapshotBody) Read(p []byte) (int, error) {
	b.idle.Reset(b.idleFor)
	if len(b.head) > 0 {
		n := copy(p, b.head)
		b.head = b.head[n:]
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.read < b.size {
		if int64(len(p)) > b.size-b.read {
			p = p[:b.size-b.read]
		}
		n, err := b.data.Read(p)
		b.crc = crc32.Update(b.crc, castagnoli, p[:n])
		b.read += int64(n)
		if errors.Is(err, io.EOF) && b.read < b.size {
			err = fmt.Errorf("peer: the snapshot ended after %d of %d bytes: %w", b.read, b.size, io.ErrUnexpectedEOF)
		} else if errors.Is(err, io.EOF) {
			err = nil
		}
		if err != nil {
			b.err = fmt.Errorf("peer: cannot read the snapshot: %w", err)
			return n, b.err
		}
		return n, nil
	}
	if b.trailer == nil {
		if err := expectEOF(b.data); err != nil {
			b.err = fmt.Errorf("peer: cannot read the snapshot: %w", err)
			return 0, b.err
		}
		b.trailer = binary.BigEndian.AppendUint32(nil, b.crc)
	}
	if len(b.trailer) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.trailer)
	b.trailer = b.trailer[n:]
	return n, nil
}

// expectEOF reads r once more and expects the end of it: the store's size
// was right, and a reader that checks a trailer of its own has done so.
func expectEOF(r io.Reader) error {
	var one [1]byte
	for range 100 {
		n, err := r.Read(one[:])
		if n > 0 {
			return errors.New("the snapshot is longer than its stated size")
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// serveSnapshot receives a snapshot: it checks the request like any raft
// request, saves the data with the SnapshotStore as it arrives, and only
// when that succeeded hands the MsgSnap (data empty) to Raft.
func (t *Transport) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Etcd-Cluster-ID", t.cid.String())
	if !t.checkCompatible(w, r) {
		return
	}
	if to := r.Header.Get("X-Raft-To"); to != "" && to != t.id.String() {
		http.Error(w, bodyToMismatch, http.StatusPreconditionFailed)
		return
	}
	if t.ctx.Err() != nil {
		http.Error(w, bodyStopped, http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	br := bufio.NewReaderSize(&deadlineReader{r: r.Body, rc: rc, d: t.tune.snapshotIdle}, 64<<10)
	fr := &frameReader{br: br}
	var m raft.Message
	if _, err := fr.next(&m); err != nil {
		t.log.Warn(fmt.Sprintf("failed to read a snapshot message: %v", err))
		http.Error(w, "cannot read the snapshot message: "+err.Error(), http.StatusBadRequest)
		return
	}
	if m.Type != raft.MsgSnap || m.Snapshot == nil || ID(m.To) != t.id {
		http.Error(w, fmt.Sprintf("expected a snapshot for %s, got %s to %s", t.id, m.Type, ID(m.To)), http.StatusBadRequest)
		return
	}
	from := ID(m.From)
	if t.raft.IsRemoved(from) {
		writeRemoved(w)
		return
	}
	size, err := binary.ReadUvarint(br)
	if err != nil || size > math.MaxInt64 {
		http.Error(w, "cannot read the snapshot size", http.StatusBadRequest)
		return
	}
	meta := m.Snapshot.Metadata
	sr := &snapshotReader{r: br, remaining: int64(size), size: int64(size)}
	if err := t.snaps.Save(meta, sr, int64(size)); err != nil {
		t.log.Error(fmt.Sprintf("failed to save snapshot [index %d, term %d] from %s: %v", meta.Index, meta.Term, from, err))
		status := http.StatusInternalServerError
		if sr.err != nil {
			status = http.StatusBadRequest
		}
		http.Error(w, "cannot save the snapshot: "+err.Error(), status)
		return
	}
	if !sr.complete {
		t.log.Error(fmt.Sprintf("the snapshot store kept snapshot [index %d, term %d] from %s without reading all of it", meta.Index, meta.Term, from))
		http.Error(w, "the snapshot store did not read the whole snapshot", http.StatusInternalServerError)
		return
	}
	t.log.Info(fmt.Sprintf("received and saved snapshot [index %d, term %d] of %d bytes from %s", meta.Index, meta.Term, size, from))
	if err := t.raft.Process(r.Context(), m); err != nil {
		t.log.Warn(fmt.Sprintf("failed to process %s from %s: %v", m.Type, from, err))
		http.Error(w, "cannot process the snapshot message: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// snapshotReader gives Save the size bytes of snapshot data that follow in
// the body, and checks the checksum after them before it returns the last
// bytes: a damaged or short transfer therefore fails Save's last read.
type snapshotReader struct {
	r         io.Reader
	size      int64
	remaining int64
	crc       uint32
	complete  bool  // all data read and the checksum matched
	err       error // the body could not be read or did not check out
}

func (sr *snapshotReader) Read(p []byte) (int, error) {
	if sr.err != nil {
		return 0, sr.err
	}
	if sr.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) >= sr.remaining {
		return sr.readLast(p[:sr.remaining])
	}
	n, err := sr.r.Read(p)
	sr.crc = crc32.Update(sr.crc, castagnoli, p[:n])
	sr.remaining -= int64(n)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		sr.err = fmt.Errorf("peer: snapshot body ends after %d of %d bytes: %w", sr.size-sr.remaining, sr.size, err)
	}
	return n, sr.err
}

// readLast reads the last len(p) bytes of data and the checksum, and
// returns the bytes only if the checksum matches: a Save that stops
// reading once it has size bytes (io.ReadFull does) never gets to keep a
// damaged snapshot.
func (sr *snapshotReader) readLast(p []byte) (int, error) {
	n, err := io.ReadFull(sr.r, p)
	sr.crc = crc32.Update(sr.crc, castagnoli, p[:n])
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		sr.err = fmt.Errorf("peer: snapshot body ends after %d of %d bytes: %w", sr.size-sr.remaining+int64(n), sr.size, err)
		return 0, sr.err
	}
	var trailer [4]byte
	if _, err := io.ReadFull(sr.r, trailer[:]); err != nil {
		sr.err = fmt.Errorf("peer: snapshot checksum missing: %w", err)
		return 0, sr.err
	}
	if got := binary.BigEndian.Uint32(trailer[:]); got != sr.crc {
		sr.err = fmt.Errorf("peer: snapshot checksum mismatch: got %08x, computed %08x", got, sr.crc)
		return 0, sr.err
	}
	sr.remaining = 0
	sr.complete = true
	return n, nil
}

// deadlineReader pushes the connection's read deadline forward before each
// read, so a long transfer lives as long as it makes progress.
type deadlineReader struct {
	r  io.Reader
	rc *http.ResponseController
	d  time.Duration
}

func (dr *deadlineReader) Read(p []byte) (int, error) {
	dr.rc.SetReadDeadline(time.Now().Add(dr.d)) // an error means no deadlines: nothing to push
	return dr.r.Read(p)
}
