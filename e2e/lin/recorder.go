package lin

import (
	"fmt"
	"sync"
	"time"
)

// Recorder collects a history from concurrent clients. Each client calls
// Begin just before it sends a request and End just after the answer
// arrives; a request whose outcome is unknown (timed out, connection lost
// after sending) is simply never ended, and one that surely never reached
// the cluster (connection refused) may be Discarded. Times come from one
// monotonic clock started by NewRecorder. All methods are safe for
// concurrent use.
type Recorder struct {
	start time.Time

	mu   sync.Mutex
	ops  []Op
	done []uint8 // per op: pending, ended or discarded
}

const (
	pending uint8 = iota
	ended
	discarded
)

// NewRecorder returns an empty recorder whose clock starts now.
func NewRecorder() *Recorder {
	return &Recorder{start: time.Now()}
}

// Now returns the recorder's clock: nanoseconds since NewRecorder.
func (r *Recorder) Now() int64 {
	return int64(time.Since(r.start))
}

// Begin records that a client is about to send op and returns the
// operation's ID for End or Discard. It sets op.Call to the current time
// and op.Return to Unknown; op.Code and op.Got are cleared.
func (r *Recorder) Begin(op Op) int {
	op.Call = r.Now()
	op.Return = Unknown
	op.Code, op.Got = 0, ""
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
	r.done = append(r.done, pending)
	return len(r.ops) - 1
}

// End records the answer to operation id: code is CodeOK or the v2 error
// code, got the value a Get read. It fails for an unknown id, or one
// already ended or discarded.
func (r *Recorder) End(id, code int, got string) error {
	now := r.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.pendingOp(id); err != nil {
		return err
	}
	op := &r.ops[id]
	op.Return, op.Code, op.Got = now, code, got
	r.done[id] = ended
	return nil
}

// Discard removes operation id from the history: use it only for a request
// that surely had no effect (it was never sent, or the connection was
// refused). It fails for an unknown id, or one already ended or discarded.
func (r *Recorder) Discard(id int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.pendingOp(id); err != nil {
		return err
	}
	r.done[id] = discarded
	return nil
}

func (r *Recorder) pendingOp(id int) error {
	if id < 0 || id >= len(r.ops) {
		return fmt.Errorf("lin: no operation %d in the recorder (it holds %d)", id, len(r.ops))
	}
	switch r.done[id] {
	case ended:
		return fmt.Errorf("lin: operation %d already ended", id)
	case discarded:
		return fmt.Errorf("lin: operation %d was discarded", id)
	}
	return nil
}

// History returns a copy of the operations recorded so far, in the order
// they began, without the discarded ones. Operations not yet ended have
// Return Unknown.
func (r *Recorder) History() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := make([]Op, 0, len(r.ops))
	for i, op := range r.ops {
		if r.done[i] != discarded {
			h = append(h, op)
		}
	}
	return h
}
