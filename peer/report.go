package peer

import (
	"context"
	"sync"
)

// reporter passes the transport's findings to Raft from a goroutine of its
// own. Send runs on the raft loop, and the server's Report* methods may
// well hand their call back to that loop, so nothing on the way out of
// Send may call Raft directly. Unreachable reports for one member are
// merged while they wait; snapshot reports are all delivered, in order.
type reporter struct {
	r    Raft
	wake chan struct{} // capacity 1: "something is pending"

	mu          sync.Mutex
	unreachable []ID
	pendingUnr  map[ID]bool
	snapshots   []snapshotReport
	removedBy   ID // non-zero once a peer said this member was removed
	removedSent bool
}

type snapshotReport struct {
	to ID
	ok bool
}

func newReporter(r Raft) *reporter {
	return &reporter{r: r, wake: make(chan struct{}, 1), pendingUnr: make(map[ID]bool)}
}

func (rp *reporter) signal() {
	select {
	case rp.wake <- struct{}{}:
	default:
	}
}

// peerUnreachable queues ReportUnreachable(id) unless one is already queued.
func (rp *reporter) peerUnreachable(id ID) {
	rp.mu.Lock()
	if !rp.pendingUnr[id] {
		rp.pendingUnr[id] = true
		rp.unreachable = append(rp.unreachable, id)
	}
	rp.mu.Unlock()
	rp.signal()
}

// snapshot queues ReportSnapshot(to, ok).
func (rp *reporter) snapshot(to ID, ok bool) {
	rp.mu.Lock()
	rp.snapshots = append(rp.snapshots, snapshotReport{to, ok})
	rp.mu.Unlock()
	rp.signal()
}

// selfRemoved queues SelfRemoved(by); only the first call counts.
func (rp *reporter) selfRemoved(by ID) {
	rp.mu.Lock()
	if rp.removedBy == 0 {
		rp.removedBy = by
	}
	rp.mu.Unlock()
	rp.signal()
}

// run delivers the queued reports until ctx is done; what is still queued
// then is dropped (the server is stopping).
func (rp *reporter) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-rp.wake:
		}
		rp.mu.Lock()
		unr, snaps := rp.unreachable, rp.snapshots
		rp.unreachable, rp.snapshots = nil, nil
		clear(rp.pendingUnr)
		var removedBy ID
		if rp.removedBy != 0 && !rp.removedSent {
			removedBy, rp.removedSent = rp.removedBy, true
		}
		rp.mu.Unlock()
		for _, s := range snaps {
			rp.r.ReportSnapshot(uint64(s.to), s.ok)
		}
		for _, id := range unr {
			rp.r.ReportUnreachable(uint64(id))
		}
		if removedBy != 0 {
			go rp.r.SelfRemoved(removedBy) // on its own, so it may call Transport.Stop
		}
	}
}
