package kv

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The JSON encoding of events, nodes, errors and stats, written by hand so
// that the hot paths (GET, write responses, watch events) build no
// intermediate values and use no reflection. The output is byte-for-byte
// what etcd 2.3.8's encoding/json produces: compact, fields in etcd's order,
// strings escaped exactly as encoding/json escapes them by default (HTML
// characters as \u003c, \u003e, \u0026; U+2028 and U+2029 escaped; invalid
// UTF-8 replaced by \ufffd).

// keysPrefix is the internal directory of the user key space: /v2/keys/<p>
// is the store path /1/<p>.
const keysPrefix = "/1"

// DisplayKey returns an internal store path as a client of /v2/keys sees it:
// "/1/foo" becomes "/foo" and "/1" (the root of the user key space) becomes
// "". Paths outside /1 (the server's own /0 and /2) are returned unchanged.
func DisplayKey(p string) string {
	if len(p) >= len(keysPrefix) && p[:len(keysPrefix)] == keysPrefix &&
		(len(p) == len(keysPrefix) || p[len(keysPrefix)] == '/') {
		return p[len(keysPrefix):]
	}
	return p
}

// displayKeyBytes is DisplayKey for a path held in a byte buffer.
func displayKeyBytes(p []byte) []byte {
	if len(p) >= len(keysPrefix) && string(p[:len(keysPrefix)]) == keysPrefix &&
		(len(p) == len(keysPrefix) || p[len(keysPrefix)] == '/') {
		return p[len(keysPrefix):]
	}
	return p
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped exactly as encoding/json
// escapes it with HTML escaping on (its default).
func appendString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time: most keys and values
		// need no escaping at all.
		if i+8 <= len(s) && plain8(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		end := min(i+utf8.UTFMax, len(s))
		r, size := utf8.DecodeRuneInString(string(s[i:end]))
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plain8 reports whether the eight bytes packed in x are all ASCII that
// JSON strings hold as is: none below 0x20, none of " \ < > &, none at or
// above 0x80 (the classic "has a byte less than / equal to" bit tricks).
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	has := func(c uint64) uint64 { // a byte equal to c
		y := x ^ (ones * c)
		return (y - ones) &^ y & highs
	}
	below := (x - ones*0x20) &^ x & highs // a byte below 0x20 (x is ASCII)
	return x&highs == 0 && below|has('"')|has('\\')|has('<')|has('>')|has('&') == 0
}

// appendExpiration appends a deadline as etcd shows it: a JSON string in
// RFC 3339 UTC with up to nine fraction digits, trailing zeros trimmed.
func appendExpiration(b []byte, deadline int64) []byte {
	b = append(b, '"')
	b = time.Unix(0, deadline).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// ttlAt returns the remaining whole seconds of a deadline at time now,
// rounded up (towards +infinity, so a node 0.3 s past its deadline has ttl 0
// and one 1.5 s past has -1), as etcd computes a node's ttl field.
func ttlAt(deadline, now int64) int64 {
	d := deadline - now
	// Saturate on overflow, as time.Time.Sub does.
	if now < 0 && d < deadline || now > 0 && d > deadline {
		if now < 0 {
			d = 1<<63 - 1
		} else {
			d = -1 << 63
		}
	}
	ttl := d / int64(time.Second)
	if d%int64(time.Second) > 0 {
		ttl++
	}
	return ttl
}

// fieldWriter appends the fields of one JSON object, putting commas between
// them; omitted fields leave no trace.
type fieldWriter struct {
	b     []byte
	first bool
}

func (w *fieldWriter) name(n string) {
	if w.first {
		w.first = false
	} else {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, n...)
	w.b = append(w.b, '"', ':')
}

func (w *fieldWriter) uint(n string, v uint64) {
	w.name(n)
	w.b = strconv.AppendUint(w.b, v, 10)
}

// nodeHead appends the fields of a node that come before "nodes": key,
// value, dir, expiration and ttl. key is the display key, hasValue says
// whether to show value.
func nodeHead[K string | []byte](w *fieldWriter, key K, value string, hasValue, dir bool, expiration, now int64) {
	if len(key) > 0 {
		w.name("key")
		w.b = appendString(w.b, key)
	}
	if hasValue {
		w.name("value")
		w.b = appendString(w.b, value)
	}
	if dir {
		w.name("dir")
		w.b = append(w.b, "true"...)
	}
	if expiration != 0 {
		w.name("expiration")
		w.b = appendExpiration(w.b, expiration)
		if ttl := ttlAt(expiration, now); ttl != 0 {
			w.name("ttl")
			w.b = strconv.AppendInt(w.b, ttl, 10)
		}
	}
}

// nodeTail appends modifiedIndex and createdIndex, each left out when 0.
func (w *fieldWriter) nodeTail(modified, created uint64) {
	if modified != 0 {
		w.uint("modifiedIndex", modified)
	}
	if created != 0 {
		w.uint("createdIndex", created)
	}
}

// AppendJSON appends the node's JSON object to b, with ttl fields counted
// from now. Field order and omissions are etcd's (spec §3.6): key (left out
// for the root of the key space), value (files only, unless NoValue), dir
// (only when true), expiration and ttl (nodes with a TTL; ttl left out when
// 0), nodes (when there is at least one), modifiedIndex and createdIndex
// (each left out when 0).
func (n *Node) AppendJSON(b []byte, now time.Time) []byte {
	return appendNode(b, n, now.UnixNano())
}

func appendNode(b []byte, n *Node, now int64) []byte {
	w := fieldWriter{b: append(b, '{'), first: true}
	nodeHead(&w, DisplayKey(n.Key), n.Value, !n.Dir && !n.NoValue, n.Dir, n.Expiration, now)
	if len(n.Nodes) > 0 {
		w.name("nodes")
		w.b = append(w.b, '[')
		for i := range n.Nodes {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendNode(w.b, &n.Nodes[i], now)
		}
		w.b = append(w.b, ']')
	}
	w.nodeTail(n.ModifiedIndex, n.CreatedIndex)
	return append(w.b, '}')
}

// AppendJSON appends the event's JSON object, {"action","node","prevNode"},
// with no trailing newline. The ttl fields are counted from the time the
// event was made when its request carried one (Request.Time; always for
// expire events), else from now, the time of the answer.
func (e *Event) AppendJSON(b []byte, now time.Time) []byte {
	ref := e.time
	if ref == 0 {
		ref = now.UnixNano()
	}
	b = append(b, `{"action":`...)
	b = appendString(b, e.Action)
	b = append(b, `,"node":`...)
	b = appendNode(b, &e.Node, ref)
	if e.PrevNode != nil {
		b = append(b, `,"prevNode":`...)
		b = appendNode(b, e.PrevNode, ref)
	}
	return append(b, '}')
}

// AppendJSON appends the statistics as /v2/stats/store shows them, in etcd's
// field order, with no trailing newline.
func (st *Stats) AppendJSON(b []byte) []byte {
	w := fieldWriter{b: append(b, '{'), first: true}
	w.uint("getsSuccess", st.GetSuccess)
	w.uint("getsFail", st.GetFail)
	w.uint("setsSuccess", st.SetSuccess)
	w.uint("setsFail", st.SetFail)
	w.uint("deleteSuccess", st.DeleteSuccess)
	w.uint("deleteFail", st.DeleteFail)
	w.uint("updateSuccess", st.UpdateSuccess)
	w.uint("updateFail", st.UpdateFail)
	w.uint("createSuccess", st.CreateSuccess)
	w.uint("createFail", st.CreateFail)
	w.uint("compareAndSwapSuccess", st.CompareAndSwapSuccess)
	w.uint("compareAndSwapFail", st.CompareAndSwapFail)
	w.uint("compareAndDeleteSuccess", st.CompareAndDeleteSuccess)
	w.uint("compareAndDeleteFail", st.CompareAndDeleteFail)
	w.uint("expireCount", st.ExpireCount)
	w.uint("watchers", st.Watchers)
	return append(w.b, '}')
}

// isHiddenName reports whether a path segment names a hidden node.
func isHiddenName(name string) bool { return strings.HasPrefix(name, "_") }
