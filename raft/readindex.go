package raft

import (
	"bytes"
	"errors"
)

// Linearizable reads without writing to the log: the ReadIndex protocol
// (§8 of the paper, §6.4 of Ongaro's thesis).
//
//  1. The leader must have committed an entry of its own term, so that its
//     commit index covers everything committed by earlier leaders. Requests
//     that arrive before that wait (reads.waiting).
//  2. It records its commit index as the request's read index.
//  3. It confirms it is still the leader: a heartbeat round carrying the
//     request's context must be answered by a quorum. A newer leader could
//     only exist if a quorum had moved to a newer term, and then some member
//     of this quorum would have refused the heartbeat.
//  4. It answers: the caller waits until it has applied up to the read
//     index, then reads its state machine.
//
// A follower forwards the request to the leader and hands the answer to
// its caller. A single-voter cluster skips step 3. Heartbeat rounds are
// built when the caller asks for a Ready, so reads requested together share
// one round: confirming a request confirms every request queued before it.

// ReadState is the answer to a ReadIndex request: once the caller has
// applied the log up to Index, a read of its state machine reflects every
// write that committed before the request was made.
type ReadState struct {
	Index      uint64
	RequestCtx []byte
}

// ReadIndex asks for a read index. ctx identifies the request and must be
// unique among pending requests (a duplicate is answered together with the
// first); the answer comes in Ready.ReadStates with the same context. A
// request can be lost (a message dropped, the leader deposed): the caller
// retries after a timeout. It returns ErrProposalDropped when no leader is
// known.
func (r *Raft) ReadIndex(ctx []byte) error {
	if len(ctx) == 0 {
		return errors.New("raft: a ReadIndex request needs a non-empty context")
	}
	return r.step(Message{Type: MsgReadIndex, From: r.id, Context: ctx})
}

// readRequest is a ReadIndex request waiting for its heartbeat round.
type readRequest struct {
	ctx   []byte
	from  uint64
	index uint64
	acks  map[uint64]bool
}

// readQueue is the leader's pending ReadIndex requests, oldest first.
type readQueue struct {
	pending []*readRequest
	// heartbeatDue is set when a request joined the queue since the last
	// heartbeat round.
	heartbeatDue bool
	// waiting holds requests received before the leader committed an entry
	// of its term.
	waiting []Message
}

func (q *readQueue) reset() { *q = readQueue{} }

// committedInTerm reports whether the leader has committed an entry of its
// current term (step 1).
func (r *Raft) committedInTerm() bool {
	t, _ := r.log.term(r.log.committed)
	return t == r.term
}

// handleReadIndex is the leader receiving a request, its own or forwarded.
func (r *Raft) handleReadIndex(m Message) {
	if !r.committedInTerm() {
		r.reads.waiting = append(r.reads.waiting, m)
		return
	}
	if r.quorum() == 1 && r.isVoter(r.id) {
		r.answerRead(m.From, m.Context, r.log.committed)
		return
	}
	for _, req := range r.reads.pending {
		if bytes.Equal(req.ctx, m.Context) {
			return // a duplicate: answered with the first
		}
	}
	r.reads.pending = append(r.reads.pending, &readRequest{
		ctx: m.Context, from: m.From, index: r.log.committed,
		acks: map[uint64]bool{r.id: true},
	})
	r.reads.heartbeatDue = true
}

// flushReads starts the heartbeat round that confirms the requests queued
// since the last one. It runs when a Ready is built.
func (r *Raft) flushReads() {
	if r.role != Leader || !r.reads.heartbeatDue {
		return
	}
	r.reads.heartbeatDue = false
	if ctx := r.reads.newestContext(); ctx != nil { // (a membership change may have answered them already)
		r.broadcastHeartbeat(ctx)
	}
}

// newestContext returns the context of the newest pending request, or nil.
func (q *readQueue) newestContext() []byte {
	if n := len(q.pending); n > 0 {
		return q.pending[n-1].ctx
	}
	return nil
}

// confirmRead records that member from answered the heartbeat round of the
// request with context ctx.
func (r *Raft) confirmRead(from uint64, ctx []byte) {
	for _, req := range r.reads.pending {
		if bytes.Equal(req.ctx, ctx) {
			req.acks[from] = true
			r.reads.recount(r)
			return
		}
	}
}

// recount answers every request up to the newest one a quorum of the
// current voters confirmed.
func (q *readQueue) recount(r *Raft) {
	for i := len(q.pending) - 1; i >= 0; i-- {
		acks := 0
		for _, id := range r.voters {
			if q.pending[i].acks[id] {
				acks++
			}
		}
		if acks >= r.quorum() {
			done := q.pending[:i+1]
			q.pending = q.pending[i+1:]
			for _, req := range done {
				r.answerRead(req.from, req.ctx, req.index)
			}
			return
		}
	}
}

// releasePendingReads handles the requests that waited for the leader's
// first commit in its term.
func (r *Raft) releasePendingReads() {
	if len(r.reads.waiting) == 0 || !r.committedInTerm() {
		return
	}
	waiting := r.reads.waiting
	r.reads.waiting = nil
	for _, m := range waiting {
		r.handleReadIndex(m)
	}
}

// answerRead delivers a read index to whoever asked.
func (r *Raft) answerRead(to uint64, ctx []byte, index uint64) {
	if to == r.id {
		r.readStates = append(r.readStates, ReadState{Index: index, RequestCtx: ctx})
		return
	}
	r.send(Message{Type: MsgReadIndexResp, To: to, Index: index, Context: ctx})
}
