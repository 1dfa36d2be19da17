package lin

import (
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestRecorderConcurrentClients(t *testing.T) {
	r := NewRecorder()
	const clients, each = 8, 200
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				v := strconv.Itoa(c*each + i)
				id := r.Begin(Op{Client: c, Key: "k" + strconv.Itoa(c%2), Kind: Put, Value: v, Code: 999, Got: "junk"})
				switch i % 10 {
				case 0: // timed out: never ended
				case 1:
					if err := r.Discard(id); err != nil {
						t.Error(err)
					}
				default:
					if err := r.End(id, CodeOK, ""); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	h := r.History()
	if want := clients * each * 9 / 10; len(h) != want {
		t.Fatalf("%d operations, want %d", len(h), want)
	}
	last := make(map[int]int64) // per client: the last return seen
	unknown := 0
	for _, op := range h {
		if op.Unknown() {
			unknown++
		} else if op.Return < op.Call || op.Code != CodeOK {
			t.Fatalf("bad operation %v", op)
		}
		if op.Call < last[op.Client] {
			t.Fatalf("client %d: call %d before its previous operation ended at %d", op.Client, op.Call, last[op.Client])
		}
		if !op.Unknown() {
			last[op.Client] = op.Return
		}
	}
	if unknown != clients*each/10 {
		t.Fatalf("%d unknown operations, want %d", unknown, clients*each/10)
	}
	res, err := Check(h, Options{})
	if err != nil || res.Verdict != Linearizable {
		t.Fatalf("%v %v\n%s", res.Verdict, err, res.Explanation)
	}
}

func TestRecorderErrors(t *testing.T) {
	r := NewRecorder()
	a := r.Begin(Op{Key: "k", Kind: Get})
	b := r.Begin(Op{Key: "k", Kind: Put, Value: "v"})
	if err := r.End(a, CodeKeyNotFound, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.Discard(b); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"end twice", r.End(a, CodeOK, ""), "lin: operation 0 already ended"},
		{"discard an ended one", r.Discard(a), "lin: operation 0 already ended"},
		{"end a discarded one", r.End(b, CodeOK, ""), "lin: operation 1 was discarded"},
		{"negative id", r.End(-1, CodeOK, ""), "lin: no operation -1 in the recorder (it holds 2)"},
		{"id too big", r.Discard(2), "lin: no operation 2 in the recorder (it holds 2)"},
	}
	for _, tc := range tests {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	h := r.History()
	if len(h) != 1 || h[0].Code != CodeKeyNotFound || h[0].Unknown() {
		t.Fatalf("history %v", h)
	}
	// The copy is the caller's.
	h[0].Key = "changed"
	if r.History()[0].Key != "k" {
		t.Fatal("History shares its slice with the recorder")
	}
}

func TestOpString(t *testing.T) {
	tests := []struct {
		op   Op
		want string
	}{
		{rd(1, 0, 1500, "a"), `client 1 key "k" [0s, 1.5µs] get : "a"`},
		{rdNone(2, 1000, 2000), `client 2 key "k" [1µs, 2µs] get : 100 not found`},
		{lost(wr(3, 0, 1, "v")), `client 3 key "k" [0s, ?] put "v" : unknown`},
		{cas(4, 0, 1, "a", "b", CodeTestFailed), `client 4 key "k" [0s, 1ns] cas "a" -> "b" : 101 compare failed`},
		{cre(5, 0, 1, "x", CodeNodeExist), `client 5 key "k" [0s, 1ns] create "x" : 105 exists`},
		{upd(6, 0, 1, "x", CodeOK), `client 6 key "k" [0s, 1ns] update "x" : ok`},
		{del(7, 0, 1, CodeOK), `client 7 key "k" [0s, 1ns] delete : ok`},
		{cad(8, 0, 1, "q", CodeKeyNotFound), `client 8 key "k" [0s, 1ns] cad "q" : 100 not found`},
	}
	for _, tc := range tests {
		if got := tc.op.String(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
	if Kind(0).String() != "kind(0)" || Verdict(9).String() != "verdict(9)" || (State{}).String() != "absent" {
		t.Error("names of bad values")
	}
}
