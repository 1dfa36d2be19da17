package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"v2etcd/e2e/lin"
)

// The workload of the fault tests: clients that send random quorum reads,
// writes, creates, updates, compare-and-swaps and deletes on a few keys to
// random members, recorded for the linearizability checker; and watchers
// that follow every change of those keys (faults_watch_test.go). The keys
// live in generations: every few seconds the clients move to fresh keys
// in a fresh directory, which keeps each key's history short for the
// checker and gives each generation's watchers a bounded task.

// gen is one generation of keys, in its own directory.
type gen struct {
	n        int
	dir      string   // "/faults/g0003"
	keys     []string // "/faults/g0003/k0", ...
	from     uint64   // the index the watchers start from: no event of dir comes before it
	watchers []*watcher

	retireOnce sync.Once
	retire     chan struct{} // closed once target is set
	target     uint64        // the index of an acknowledged write of dir+"/end"
}

// retireAt sets the generation's last index to watch: the watchers stop
// once they have seen every event up to it.
func (g *gen) retireAt(index uint64) {
	g.retireOnce.Do(func() {
		g.target = index
		close(g.retire)
	})
}

// retired returns the target once it is set.
func (g *gen) retired() (uint64, bool) {
	select {
	case <-g.retire:
		return g.target, true
	default:
		return 0, false
	}
}

// wevent is a change of a key: the one a watcher saw, or the one a client
// got acknowledged.
type wevent struct {
	index  uint64
	key    string
	action string
	value  string
}

func (e wevent) String() string {
	return fmt.Sprintf("%d %s %s %q", e.index, e.action, e.key, e.value)
}

// workloadConfig sizes the workload.
type workloadConfig struct {
	clients  int           // concurrent clients
	keys     int           // keys per generation
	watchers int           // watchers per generation
	timeout  time.Duration // per request
	rotate   time.Duration // how long a generation is used
}

// workload runs the clients and watchers against a cluster.
type workload struct {
	cfg workloadConfig
	c   *fcluster
	rec *lin.Recorder

	cur atomic.Pointer[gen]
	// lastWrite is the latest time (on the recorder's clock) at or before
	// which an acknowledged write was sent.
	lastWrite atomic.Int64
	rotating  sync.WaitGroup // the generation loop and its retirements
	clients   sync.WaitGroup
	watching  sync.WaitGroup

	mu         sync.Mutex
	gens       []*gen
	acked      map[uint64]wevent // acknowledged changes by modified index
	discarded  int               // requests refused: left out of the history
	unexpected []string          // answers the model does not allow (left unknown)
}

func newWorkload(c *fcluster, rec *lin.Recorder, cfg workloadConfig) *workload {
	return &workload{cfg: cfg, c: c, rec: rec, acked: map[uint64]wevent{}}
}

// start makes the first generation and starts the clients, the watchers
// and the generation loop; ctx stops the clients and the loop, hard stops
// the watchers (which otherwise run until their generation is retired and
// they have seen all of it).
func (w *workload) start(ctx, hard context.Context, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0))
	g, err := w.newGen(ctx, hard, 1, rng)
	if err != nil {
		return err
	}
	w.cur.Store(g)
	for i := 1; i <= w.cfg.clients; i++ {
		w.clients.Add(1)
		go func() {
			defer w.clients.Done()
			w.client(ctx, i, rand.New(rand.NewPCG(seed, uint64(i))))
		}()
	}
	w.rotating.Add(1)
	go func() {
		defer w.rotating.Done()
		w.rotateLoop(ctx, hard, rng)
	}()
	return nil
}

// newGen makes generation n and starts its watchers from an index no
// event of its directory can precede (no client uses it yet).
func (w *workload) newGen(ctx, hard context.Context, n int, rng *rand.Rand) (*gen, error) {
	from, err := w.c.etcdIndex(ctx, rng.IntN)
	if err != nil {
		return nil, err
	}
	g := &gen{n: n, dir: fmt.Sprintf("/faults/g%04d", n), from: from + 1, retire: make(chan struct{})}
	for k := 0; k < w.cfg.keys; k++ {
		g.keys = append(g.keys, fmt.Sprintf("%s/k%d", g.dir, k))
	}
	for _, slot := range rng.Perm(len(w.c.slots))[:min(w.cfg.watchers, len(w.c.slots))] {
		wa := &watcher{gen: g, slot: w.c.slots[slot]}
		g.watchers = append(g.watchers, wa)
		w.watching.Add(1)
		go func() {
			defer w.watching.Done()
			wa.run(hard)
		}()
	}
	w.mu.Lock()
	w.gens = append(w.gens, g)
	w.mu.Unlock()
	return g, nil
}

// rotateLoop moves the clients to a new generation every cfg.rotate and
// retires the old one once no request of the clients can still be on the
// way to it (after cfg.timeout).
func (w *workload) rotateLoop(ctx, hard context.Context, rng *rand.Rand) {
	tick := time.NewTicker(w.cfg.rotate)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		old := w.cur.Load()
		g, err := w.newGen(ctx, hard, old.n+1, rng)
		if err != nil {
			continue // no member answered: keep the generation a while longer
		}
		w.cur.Store(g)
		w.rotating.Add(1)
		go func() {
			defer w.rotating.Done()
			select {
			case <-ctx.Done():
				return // retired by finish
			case <-time.After(w.cfg.timeout):
			}
			w.retireGen(ctx, old)
		}()
	}
}

// retireGen writes the generation's end marker and sets its target; it
// gives up (leaving the generation to finish) when ctx ends first.
func (w *workload) retireGen(ctx context.Context, g *gen) error {
	if _, ok := g.retired(); ok {
		return nil
	}
	idx, err := w.c.put(ctx, g.dir+"/end", "end")
	if err != nil {
		return err
	}
	g.retireAt(idx)
	return nil
}

// stop ends the clients and the generation loop (ctx must be done).
func (w *workload) stop() {
	w.clients.Wait()
	w.rotating.Wait()
}

// finish retires every generation and waits until every watcher has seen
// its generation to the end, or fails when ctx ends first.
func (w *workload) finish(ctx context.Context) error {
	for _, g := range w.allGens() {
		if err := w.retireGen(ctx, g); err != nil {
			return fmt.Errorf("retiring %s: %w", g.dir, err)
		}
	}
	done := make(chan struct{})
	go func() {
		w.watching.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	var late []string
	for _, g := range w.allGens() {
		for _, wa := range g.watchers {
			if next, ok := wa.lagging(); ok {
				late = append(late, fmt.Sprintf("%s on %s at index %d of %d", g.dir, wa.slot.name, next, g.target))
			}
		}
	}
	return fmt.Errorf("watchers that did not see their generation to the end: %s", strings.Join(late, "; "))
}

func (w *workload) allGens() []*gen {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*gen(nil), w.gens...)
}

// The kinds of operation and their weights (of 100).
var opWeights = []struct {
	kind   lin.Kind
	weight int
}{
	{lin.Get, 40}, {lin.Put, 20}, {lin.CompareAndSwap, 20}, {lin.Create, 5},
	{lin.Update, 5}, {lin.Delete, 5}, {lin.CompareAndDelete, 5},
}

func pickKind(rng *rand.Rand) lin.Kind {
	r := rng.IntN(100)
	for _, o := range opWeights {
		if r < o.weight {
			return o.kind
		}
		r -= o.weight
	}
	return lin.Get
}

// client sends requests until ctx ends, each to a random member, each
// recorded: Begin before it is sent; End with the answer when the answer
// is one the model knows; Discard when the connection was refused (the
// request surely never left); else left pending: its outcome is unknown.
func (w *workload) client(ctx context.Context, id int, rng *rand.Rand) {
	tr := &http.Transport{MaxIdleConnsPerHost: 2}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	last := map[string]string{} // the value this client last saw in each key
	for seq := 1; ctx.Err() == nil; seq++ {
		g := w.cur.Load()
		key := g.keys[rng.IntN(len(g.keys))]
		s := w.c.slots[rng.IntN(len(w.c.slots))]
		op := lin.Op{Client: id, Key: key, Kind: pickKind(rng)}
		switch op.Kind {
		case lin.Put, lin.Create, lin.Update:
			op.Value = fmt.Sprintf("c%d-%d", id, seq)
		case lin.CompareAndSwap:
			op.Value = fmt.Sprintf("c%d-%d", id, seq)
			op.Prev = last[key]
		case lin.CompareAndDelete:
			op.Prev = last[key]
		}
		if (op.Kind == lin.CompareAndSwap || op.Kind == lin.CompareAndDelete) && op.Prev == "" {
			op.Prev = "none" // never written: fails with 100 or 101
		}
		req := opRequest(s.clientURL, op)
		reqCtx, cancel := context.WithTimeout(ctx, w.cfg.timeout)
		sent := w.rec.Now() // at or before op.Call
		opID := w.rec.Begin(op)
		code, ev, err := send(hc, req.WithContext(reqCtx))
		cancel()
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			w.rec.Discard(opID)
			w.mu.Lock()
			w.discarded++
			w.mu.Unlock()
			// The member is down: pace the retries rather than spin.
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
			continue
		case err != nil:
			continue // unknown
		case code < 0:
			continue // a failure that says nothing of the outcome: unknown
		case !allowed(op.Kind, code):
			w.mu.Lock()
			if len(w.unexpected) < 20 {
				w.unexpected = append(w.unexpected, fmt.Sprintf("%s on %s: code %d", op.Describe(), s.name, code))
			}
			w.mu.Unlock()
			continue
		}
		got := ""
		if op.Kind == lin.Get && code == lin.CodeOK {
			got = ev.Node.Value
		}
		w.rec.End(opID, code, got)
		if code != lin.CodeOK {
			continue
		}
		if op.Kind != lin.Get {
			for {
				l := w.lastWrite.Load()
				if sent <= l || w.lastWrite.CompareAndSwap(l, sent) {
					break
				}
			}
		}
		switch op.Kind {
		case lin.Get:
			last[key] = got
		case lin.Delete, lin.CompareAndDelete:
			last[key] = ""
			w.ack(wevent{index: ev.Node.ModifiedIndex, key: key, action: ev.Action})
		default:
			last[key] = op.Value
			w.ack(wevent{index: ev.Node.ModifiedIndex, key: key, action: ev.Action, value: ev.Node.Value})
		}
	}
}

// ack records an acknowledged change.
func (w *workload) ack(e wevent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acked[e.index] = e
}

// opRequest builds the v2 request of op on the member at base.
func opRequest(base string, op lin.Op) *http.Request {
	form := url.Values{}
	method, query := http.MethodPut, ""
	switch op.Kind {
	case lin.Get:
		method, query = http.MethodGet, "?quorum=true"
	case lin.Put:
		form.Set("value", op.Value)
	case lin.Create:
		form.Set("value", op.Value)
		form.Set("prevExist", "false")
	case lin.Update:
		form.Set("value", op.Value)
		form.Set("prevExist", "true")
	case lin.CompareAndSwap:
		form.Set("value", op.Value)
		form.Set("prevValue", op.Prev)
	case lin.Delete:
		method = http.MethodDelete
	case lin.CompareAndDelete:
		method, query = http.MethodDelete, "?prevValue="+url.QueryEscape(op.Prev)
	}
	var body io.Reader
	if method == http.MethodPut {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+"/v2/keys"+op.Key+query, body)
	if err != nil {
		panic(err) // the URL is built from the test's own names
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

// send sends req and reads the answer: code 0 with the event for a
// success, the v2 error code for an answer of 404 or 412, -1 for any other
// answer (whose outcome is unknown).
func send(hc *http.Client, req *http.Request) (int, event, error) {
	var ev event
	resp, err := hc.Do(req)
	if err != nil {
		return 0, ev, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, ev, err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated:
		if err := json.Unmarshal(body, &ev); err != nil {
			return -1, ev, nil
		}
		return lin.CodeOK, ev, nil
	case http.StatusNotFound, http.StatusPreconditionFailed:
		var e struct{ ErrorCode int }
		if err := json.Unmarshal(body, &e); err != nil || e.ErrorCode == 0 {
			return -1, ev, nil
		}
		return e.ErrorCode, ev, nil
	}
	return -1, ev, nil
}

// allowed reports whether the model knows code as an answer of kind.
func allowed(kind lin.Kind, code int) bool {
	switch code {
	case lin.CodeOK:
		return true
	case lin.CodeKeyNotFound:
		return kind != lin.Put && kind != lin.Create
	case lin.CodeTestFailed:
		return kind == lin.CompareAndSwap || kind == lin.CompareAndDelete
	case lin.CodeNodeExist:
		return kind == lin.Create
	}
	return false
}
