package kv

import (
	"fmt"
	"strings"
)

// historySize is how many events the store keeps for watches that start in
// the past: the last 1000, across the whole store (spec §4.5).
const historySize = 1000

// history is the ring of the last historySize events. Every index of the
// store has exactly one event (reads use none, every mutation one), so the
// ring holds consecutive indexes and the event of index i is at offset
// i - first.
type history struct {
	ring  []*Event // grows to historySize, then wraps
	start int      // position of the oldest event
}

func (h *history) len() int { return len(h.ring) }

// at returns the i-th oldest event.
func (h *history) at(i int) *Event { return h.ring[(h.start+i)%len(h.ring)] }

func (h *history) add(e *Event) {
	if len(h.ring) < historySize {
		h.ring = append(h.ring, e)
		return
	}
	h.ring[h.start] = e
	h.start = (h.start + 1) % historySize
}

// first and last return the indexes of the oldest and newest events, 0 when
// the history is empty (as etcd's).
func (h *history) first() uint64 {
	if len(h.ring) == 0 {
		return 0
	}
	return h.at(0).Index()
}

func (h *history) last() uint64 {
	if len(h.ring) == 0 {
		return 0
	}
	return h.at(len(h.ring) - 1).Index()
}

// scan looks for the first event at or after index that a watch on key
// would get (spec §4.3, history rules). It returns nil when no such event is
// in the history yet, and error 401 when index is older than the oldest
// event kept. The rules differ from live delivery on purpose, as etcd 2.3.8's:
//
//   - refresh events never match;
//   - the event's key equals the watched key; or, when recursive, it starts
//     with the watched key plus "/" (hidden keys are not filtered);
//   - a delete or expire of a directory matches when the directory's key is
//     a plain string prefix of the watched key (so deleting /foo matches a
//     watch on /foobar);
//   - quirk: for a recursive scan, etcd appends the "/" to the watched key
//     itself while examining the first non-refresh event, so from the second
//     one on an event exactly at the watched key no longer matches (a
//     recursive watch on /q from waitIndex 5 misses a set of /q at 6 when
//     event 5 is elsewhere; seen on etcd 2.3.8).
func (h *history) scan(key string, recursive bool, index, current uint64) (*Event, *Error) {
	first := h.first()
	if index < first {
		cause := fmt.Sprintf("the requested history has been cleared [%d/%d]", first, index)
		return nil, NewError(EcodeEventIndexCleared, cause, current)
	}
	if index > h.last() {
		return nil, nil
	}
	for i := int(index - first); i < len(h.ring); i++ {
		e := h.at(i)
		if e.Refresh {
			continue
		}
		ok := e.Node.Key == key
		if recursive {
			if !strings.HasSuffix(key, "/") {
				key += "/"
			}
			ok = ok || strings.HasPrefix(e.Node.Key, key)
		}
		if (e.Action == ActionDelete || e.Action == ActionExpire) && e.PrevNode != nil && e.PrevNode.Dir {
			ok = ok || strings.HasPrefix(key, e.PrevNode.Key)
		}
		if ok {
			return e, nil
		}
	}
	return nil, nil
}
