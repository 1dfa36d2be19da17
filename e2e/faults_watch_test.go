package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// The watch workload. Each generation has a few watchers, each on its own
// member, each following the generation's directory recursively from the
// index the generation starts at: a long-poll GET ?wait=true&recursive=true
// &waitIndex=N, then again from the event's index + 1. A watcher that gets
// an error (its member killed, paused, removed, restarting) asks again
// from the same index; one told 401 (the index left the member's 1000-event
// history) starts a new segment from the index the error names. A watcher
// stops once it has seen everything up to its generation's end marker.

// watchSeg is a stretch of a watcher's events with no restart between
// them: from its start index to its last event it must hold every change
// of the directory.
type watchSeg struct {
	from   uint64
	events []wevent
}

// watcher follows one generation's directory on one member.
type watcher struct {
	gen  *gen
	slot *fslot

	mu        sync.Mutex
	segs      []*watchSeg
	next      uint64   // the index it waits from
	cleared   int      // 401 answers
	errs      int      // failed requests (retried)
	anomalies []string // events the member should not have sent
	done      bool
}

// lagging reports the index the watcher waits from, while it has not
// finished.
func (wa *watcher) lagging() (uint64, bool) {
	wa.mu.Lock()
	defer wa.mu.Unlock()
	return wa.next, !wa.done
}

// run follows the directory until the generation is retired and seen to
// its end, or hard ends.
func (wa *watcher) run(hard context.Context) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer hc.CloseIdleConnections()
	wa.mu.Lock()
	wa.next = wa.gen.from
	seg := &watchSeg{from: wa.next}
	wa.segs = append(wa.segs, seg)
	wa.mu.Unlock()
	defer func() {
		wa.mu.Lock()
		wa.done = true
		wa.mu.Unlock()
	}()
	for hard.Err() == nil {
		target, retired := wa.gen.retired()
		next := wa.nextIndex()
		if retired && next > target {
			return
		}
		// Until the generation is retired, wake up when it is, to look at
		// the target again.
		ctx, cancel := context.WithCancel(hard)
		if !retired {
			go func() {
				select {
				case <-wa.gen.retire:
					cancel()
				case <-ctx.Done():
				}
			}()
		}
		e, cleared, err := watchOnce(ctx, hc, wa.slot.clientURL, wa.gen.dir, next)
		interrupted := ctx.Err() != nil // retired or hard stop: look again
		cancel()
		if err != nil && interrupted {
			continue
		}
		wa.mu.Lock()
		switch {
		case err != nil:
			wa.errs++
		case cleared > 0:
			wa.cleared++
			wa.next = cleared + 1
			seg = &watchSeg{from: wa.next}
			wa.segs = append(wa.segs, seg)
		default:
			if e.index < next {
				wa.anomalies = append(wa.anomalies, fmt.Sprintf("asked from %d, got %s", next, e))
			}
			seg.events = append(seg.events, e)
			wa.next = e.index + 1
		}
		wa.mu.Unlock()
		if err != nil {
			select {
			case <-hard.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

func (wa *watcher) nextIndex() uint64 {
	wa.mu.Lock()
	defer wa.mu.Unlock()
	return wa.next
}

// watchOnce waits for the next change of dir at or after index on the
// member at base. It returns the change; or, for error 401, the index the
// error names; or an error for anything else.
func watchOnce(ctx context.Context, hc *http.Client, base, dir string, index uint64) (wevent, uint64, error) {
	u := base + "/v2/keys" + dir + "?wait=true&recursive=true&waitIndex=" + strconv.FormatUint(index, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return wevent{}, 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return wevent{}, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return wevent{}, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			ErrorCode int
			Index     uint64
		}
		if json.Unmarshal(body, &e) == nil && e.ErrorCode == 401 && e.Index > 0 {
			return wevent{}, e.Index, nil
		}
		return wevent{}, 0, fmt.Errorf("watch %s from %d: %d %s", dir, index, resp.StatusCode, body)
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return wevent{}, 0, fmt.Errorf("watch %s from %d: %q: %w", dir, index, body, err)
	}
	return wevent{index: ev.Node.ModifiedIndex, key: ev.Node.Key, action: ev.Action, value: ev.Node.Value}, 0, nil
}

// watchReport sums up the check of the watchers.
type watchReport struct {
	events   int // events seen, all watchers together
	segments int
	cleared  int // 401 restarts
	errs     int // failed watch requests (retried)
	problems []string
}

// checkWatchers checks every generation's watchers against each other
// and against the acknowledged changes: each segment's events come in
// increasing index order; watchers that saw the same index saw the same
// change; a segment holds every change any watcher saw, and every change a
// client got acknowledged, from its start to its last event; every
// acknowledged change is the change the watchers saw at its index.
func checkWatchers(gens []*gen, acked map[uint64]wevent) watchReport {
	var r watchReport
	problem := func(format string, args ...any) {
		if len(r.problems) < 30 {
			r.problems = append(r.problems, fmt.Sprintf(format, args...))
		}
	}
	byKey := map[string]map[uint64]wevent{}
	for i, e := range acked {
		if byKey[e.key] == nil {
			byKey[e.key] = map[uint64]wevent{}
		}
		byKey[e.key][i] = e
	}
	for _, g := range gens {
		ref := map[uint64]wevent{}
		for _, wa := range g.watchers {
			wa.mu.Lock()
			r.cleared += wa.cleared
			r.errs += wa.errs
			for _, a := range wa.anomalies {
				problem("%s watcher on %s: %s", g.dir, wa.slot.name, a)
			}
			for _, seg := range wa.segs {
				r.segments++
				var prev uint64
				for _, e := range seg.events {
					r.events++
					if e.index <= prev {
						problem("%s watcher on %s: event %s after %d (out of order or repeated)", g.dir, wa.slot.name, e, prev)
					}
					prev = e.index
					if o, ok := ref[e.index]; ok && o != e {
						problem("%s: watchers disagree at index %d: %s and %s", g.dir, e.index, o, e)
					}
					ref[e.index] = e
				}
			}
			wa.mu.Unlock()
		}
		// The acknowledged changes of this generation's keys.
		mine := map[uint64]wevent{}
		for _, k := range g.keys {
			for i, e := range byKey[k] {
				mine[i] = e
			}
		}
		for i, e := range mine {
			if o, ok := ref[i]; ok && o != e {
				problem("%s: acknowledged %s but the watchers saw %s", g.dir, e, o)
			}
		}
		// Every change known at an index a segment covers must be in it.
		var known []uint64
		for i := range ref {
			known = append(known, i)
		}
		for i := range mine {
			if _, ok := ref[i]; !ok {
				known = append(known, i)
			}
		}
		sort.Slice(known, func(a, b int) bool { return known[a] < known[b] })
		for _, wa := range g.watchers {
			for _, seg := range wa.segs {
				if len(seg.events) == 0 {
					continue
				}
				have := map[uint64]bool{}
				for _, e := range seg.events {
					have[e.index] = true
				}
				last := seg.events[len(seg.events)-1].index
				for _, i := range known {
					if i >= seg.from && i <= last && !have[i] {
						e, ok := ref[i]
						if !ok {
							e = mine[i]
						}
						problem("%s watcher on %s: missed %s (its events run from %d to %d)", g.dir, wa.slot.name, e, seg.from, last)
					}
				}
			}
		}
	}
	return r
}
