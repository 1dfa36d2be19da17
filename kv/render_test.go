package kv

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// jsonString is what encoding/json makes of s.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	hostile := []string{
		"", "plain", `"quoted"`, `back\slash`, "<script>&amp;</script>",
		"\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f", "\u2028\u2029", "caf\u00e9 \u65e5\u672c \U0001f600",
		"\xff", "\xc3", "a\xc3(b", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98",
		"\uFFFD", "\xef\xbf\xbd", strings.Repeat("\xe2\x80\xa8x", 3), "/1/foo", "[a != b]",
	}
	for _, s := range hostile {
		if got, want := string(appendString(nil, s)), jsonString(t, s); got != want {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
		if got, want := string(appendString(nil, []byte(s))), jsonString(t, s); got != want {
			t.Errorf("appendString([]byte %q) = %s, want %s", s, got, want)
		}
	}
	// Every single byte and every pair of bytes.
	for i := range 256 {
		for j := range 256 {
			s := string([]byte{byte(i), byte(j)})
			if got, want := string(appendString(nil, s)), jsonString(t, s); got != want {
				t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
			}
		}
	}
	// Random strings from an alphabet rich in special cases.
	alphabet := []string{"a", "<", ">", "&", `"`, `\`, "\n", "\x00", "\x1f", "\x7f", "\xff", "\xc3",
		"\u00e9", "\u2028", "\u2029", "\U0001f600", "\xe2\x80", "\xf0\x9f", "/", "_"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := sb.String()
		if got, want := string(appendString(nil, s)), jsonString(t, s); got != want {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("<a&b>\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendString(nil, s)), jsonString(t, s); got != want {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
		if !utf8.Valid(appendString(nil, s)) {
			t.Fatalf("appendString(%q) is not valid UTF-8", s)
		}
	})
}

// etcdNode mirrors etcd's JSON node (its field order and omitempty rules),
// for checking the hand-written encoder against encoding/json.
type etcdNode struct {
	Key           string      `json:"key,omitempty"`
	Value         *string     `json:"value,omitempty"`
	Dir           bool        `json:"dir,omitempty"`
	Expiration    *time.Time  `json:"expiration,omitempty"`
	TTL           int64       `json:"ttl,omitempty"`
	Nodes         []*etcdNode `json:"nodes,omitempty"`
	ModifiedIndex uint64      `json:"modifiedIndex,omitempty"`
	CreatedIndex  uint64      `json:"createdIndex,omitempty"`
}

type etcdEvent struct {
	Action   string    `json:"action"`
	Node     *etcdNode `json:"node,omitempty"`
	PrevNode *etcdNode `json:"prevNode,omitempty"`
}

func toEtcdNode(n *Node, now time.Time) *etcdNode {
	out := &etcdNode{
		Key:           strings.TrimPrefix(n.Key, "/1"),
		Dir:           n.Dir,
		ModifiedIndex: n.ModifiedIndex,
		CreatedIndex:  n.CreatedIndex,
	}
	if !n.Dir && !n.NoValue {
		v := n.Value
		out.Value = &v
	}
	if n.Expiration != 0 {
		exp := time.Unix(0, n.Expiration).UTC()
		out.Expiration = &exp
		d := exp.Sub(now)
		out.TTL = int64(d / time.Second)
		if d%time.Second > 0 {
			out.TTL++
		}
	}
	for i := range n.Nodes {
		out.Nodes = append(out.Nodes, toEtcdNode(&n.Nodes[i], now))
	}
	return out
}

func randomString(rng *rand.Rand) string {
	alphabet := []string{"a", "b", "<", "&", `"`, "\xff", "\u2028", "\u00e9", "_", "\n"}
	var sb strings.Builder
	for range rng.IntN(6) {
		sb.WriteString(alphabet[rng.IntN(len(alphabet))])
	}
	return sb.String()
}

func randomNode(rng *rand.Rand, depth int) Node {
	n := Node{
		Key:           "/1/" + randomString(rng),
		Value:         randomString(rng),
		NoValue:       rng.IntN(4) == 0,
		Dir:           rng.IntN(3) == 0,
		ModifiedIndex: uint64(rng.IntN(3)) * rng.Uint64N(1e6),
		CreatedIndex:  uint64(rng.IntN(3)) * rng.Uint64N(1e6),
	}
	switch rng.IntN(6) {
	case 0:
		n.Key = "/1"
	case 1:
		n.Key = "/0/members"
	}
	if rng.IntN(2) == 0 {
		n.Expiration = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano() + rng.Int64N(1e12) - 5e11
	}
	if n.Dir && depth < 3 {
		for range rng.IntN(4) {
			n.Nodes = append(n.Nodes, randomNode(rng, depth+1))
		}
	}
	return n
}

func TestEventJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2026, 1, 1, 0, 0, 0, 123456789, time.UTC)
	for range 5000 {
		e := &Event{Action: []string{ActionGet, ActionSet, ActionExpire}[rng.IntN(3)], Node: randomNode(rng, 0)}
		if rng.IntN(2) == 0 {
			p := randomNode(rng, 3)
			e.PrevNode = &p
		}
		want := etcdEvent{Action: e.Action, Node: toEtcdNode(&e.Node, now)}
		if e.PrevNode != nil {
			want.PrevNode = toEtcdNode(e.PrevNode, now)
		}
		wb, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(e.AppendJSON(nil, now)); got != string(wb) {
			t.Fatalf("event JSON\n got %s\nwant %s", got, wb)
		}
	}
}

func TestErrorJSONMatchesEncodingJSON(t *testing.T) {
	type etcdError struct {
		ErrorCode int    `json:"errorCode"`
		Message   string `json:"message"`
		Cause     string `json:"cause,omitempty"`
		Index     uint64 `json:"index"`
	}
	for _, e := range []*Error{
		NewError(EcodeKeyNotFound, "/1/a<b>", 7),
		NewError(EcodeNotFile, "/1", 3),
		NewError(EcodeRootROnly, "/", 3),
		NewError(EcodeTestFailed, "[\xff != \"x\"]", 1<<63),
		NewError(EcodeInvalidField, `"wait" can only be used with GET requests`, 0),
		NewError(EcodeEventIndexCleared, "the requested history has been cleared [47/8]", 1046),
		NewError(EcodeRaftInternal, "", 0),
	} {
		wb, err := json.Marshal(etcdError{e.Code, e.Message, strings.TrimPrefix(e.Cause, "/1"), e.Index})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(e.AppendJSON(nil)); got != string(wb) {
			t.Errorf("error JSON\n got %s\nwant %s", got, wb)
		}
	}
}

func TestErrorMessagesAndStatus(t *testing.T) {
	tests := []struct {
		code   int
		msg    string
		status int
	}{
		{100, "Key not found", 404},
		{101, "Compare failed", 412},
		{102, "Not a file", 403},
		{104, "Not a directory", 400},
		{105, "Key already exists", 412},
		{107, "Root is read only", 400},
		{108, "Directory not empty", 403},
		{110, "The request requires user authentication", 401},
		{201, "PrevValue is Required in POST form", 400},
		{202, "The given TTL in POST form is not a number", 400},
		{203, "The given index in POST form is not a number", 400},
		{209, "Invalid field", 400},
		{210, "Invalid POST form", 400},
		{211, "Value provided on refresh", 400},
		{212, "A TTL must be provided on refresh", 400},
		{300, "Raft Internal Error", 500},
		{301, "During Leader Election", 500},
		{400, "watcher is cleared due to etcd recovery", 400},
		{401, "The event in requested index is outdated and cleared", 400},
		{500, "Client Internal Error", 400},
	}
	for _, tt := range tests {
		e := NewError(tt.code, "", 0)
		if e.Message != tt.msg || e.StatusCode() != tt.status {
			t.Errorf("code %d: message %q status %d, want %q %d", tt.code, e.Message, e.StatusCode(), tt.msg, tt.status)
		}
	}
	if got, want := NewError(100, "/1/foo", 7).Error(), "kv: 100: Key not found (/foo) [7]"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestStatsJSON(t *testing.T) {
	st := Stats{GetSuccess: 20, GetFail: 93, SetSuccess: 25, SetFail: 4, DeleteSuccess: 5, DeleteFail: 2,
		UpdateSuccess: 3, UpdateFail: 1, CreateSuccess: 5, CreateFail: 1, CompareAndSwapSuccess: 2,
		CompareAndSwapFail: 4, CompareAndDeleteSuccess: 3, ExpireCount: 3}
	want := `{"getsSuccess":20,"getsFail":93,"setsSuccess":25,"setsFail":4,"deleteSuccess":5,"deleteFail":2,"updateSuccess":3,"updateFail":1,"createSuccess":5,"createFail":1,"compareAndSwapSuccess":2,"compareAndSwapFail":4,"compareAndDeleteSuccess":3,"compareAndDeleteFail":0,"expireCount":3,"watchers":0}`
	if got := string(st.AppendJSON(nil)); got != want {
		t.Errorf("stats JSON\n got %s\nwant %s", got, want)
	}
}

func TestTTLRounding(t *testing.T) {
	const s = int64(time.Second)
	tests := []struct {
		left int64 // deadline - now
		want int64
	}{
		{0, 0}, {1, 1}, {s, 1}, {s + 1, 2}, {5 * s, 5}, {5*s - 1, 5},
		{-1, 0}, {-s + 1, 0}, {-s, -1}, {-s - 1, -1}, {-3 * s / 2, -1}, {-2 * s, -2},
	}
	base := int64(1e18)
	for _, tt := range tests {
		if got := ttlAt(base+tt.left, base); got != tt.want {
			t.Errorf("ttl with %d ns left = %d, want %d", tt.left, got, tt.want)
		}
	}
	if got := ttlAt(1<<62, -1<<62); got != (1<<63-1)/s+1 {
		t.Errorf("overflowing ttl = %d", got)
	}
}

func TestDisplayKey(t *testing.T) {
	for in, want := range map[string]string{
		"/1": "", "/1/a": "/a", "/1/a/b": "/a/b", "/0/members": "/0/members", "/2": "/2", "/": "/", "/10": "/10",
	} {
		if got := DisplayKey(in); got != want {
			t.Errorf("DisplayKey(%q) = %q, want %q", in, got, want)
		}
		if got := string(displayKeyBytes([]byte(in))); got != want {
			t.Errorf("displayKeyBytes(%q) = %q, want %q", in, got, want)
		}
	}
}
