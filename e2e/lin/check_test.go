package lin

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckHandMade(t *testing.T) {
	tests := []struct {
		name    string
		ops     []Op
		initial map[string]string
		want    Verdict
		witness []int // for NotLinearizable: the expected Witness.Ops (nil: not checked)
	}{
		{name: "empty history", want: Linearizable},
		{name: "read of an absent key", ops: hist(rdNone(1, 0, 1)), want: Linearizable},
		{name: "read of a value on an absent key", ops: hist(rd(1, 0, 1, "a")), want: NotLinearizable, witness: []int{0}},
		{name: "write then read", ops: hist(wr(1, 0, 1, "a"), rd(2, 2, 3, "a")), want: Linearizable},
		{name: "read of a value never written", ops: hist(
			wr(1, 0, 1, "a"), rd(2, 2, 3, "a"), rd(2, 4, 5, "zzz")),
			want: NotLinearizable, witness: []int{2}},
		{name: "stale read after a completed write", ops: hist(
			wr(1, 0, 1, "a"), wr(1, 2, 3, "b"), rd(2, 4, 5, "a")),
			want: NotLinearizable, witness: []int{2}},
		{name: "read concurrent with a write sees the old value", ops: hist(
			wr(1, 0, 1, "a"), wr(1, 2, 10, "b"), rd(2, 3, 4, "a")),
			want: Linearizable},
		{name: "read concurrent with a write sees the new value", ops: hist(
			wr(1, 0, 1, "a"), wr(1, 2, 10, "b"), rd(2, 3, 4, "b")),
			want: Linearizable},
		{name: "new value then old value while the write runs", ops: hist(
			wr(1, 0, 1, "a"), wr(1, 2, 10, "b"), rd(2, 3, 4, "b"), rd(2, 5, 6, "a")),
			want: NotLinearizable, witness: []int{1, 3}},
		{name: "operations touching in time count as concurrent", ops: hist(
			wr(1, 0, 5, "a"), rdNone(2, 5, 6)),
			want: Linearizable},
		{name: "a read after the write returned must see it", ops: hist(
			wr(1, 0, 4, "a"), rdNone(2, 5, 6)),
			want: NotLinearizable, witness: []int{1}},
		{name: "concurrent writes, one client sees both orders", ops: hist(
			wr(1, 0, 100, "a"), wr(2, 0, 100, "b"),
			rd(3, 10, 20, "a"), rd(3, 30, 40, "b")),
			want: Linearizable},
		{name: "concurrent writes, two clients see contradicting orders", ops: hist(
			wr(1, 0, 100, "a"), wr(2, 0, 100, "b"),
			rd(3, 10, 20, "a"), rd(3, 30, 40, "b"),
			rd(4, 10, 20, "b"), rd(4, 30, 40, "a")),
			want: NotLinearizable},
		{name: "two CAS from the same old value both succeed", ops: hist(
			wr(1, 0, 1, "a"), cas(2, 2, 10, "a", "b", CodeOK), cas(3, 3, 11, "a", "c", CodeOK)),
			want: NotLinearizable, witness: []int{1, 2}},
		{name: "two CAS from the same old value, one fails", ops: hist(
			wr(1, 0, 1, "a"), cas(2, 2, 10, "a", "b", CodeOK), cas(3, 3, 11, "a", "c", CodeTestFailed)),
			want: Linearizable},
		{name: "CAS chain", ops: hist(
			wr(1, 0, 1, "a"), cas(2, 2, 10, "b", "c", CodeOK), cas(3, 3, 11, "a", "b", CodeOK), rd(1, 12, 13, "c")),
			want: Linearizable},
		{name: "CAS on an absent key fails with 100", ops: hist(cas(1, 0, 1, "a", "b", CodeKeyNotFound)), want: Linearizable},
		{name: "CAS on an absent key cannot fail with 101", ops: hist(cas(1, 0, 1, "a", "b", CodeTestFailed)), want: NotLinearizable},
		{name: "CAS on a different value fails with 101", ops: hist(
			wr(1, 0, 1, "x"), cas(1, 2, 3, "a", "b", CodeTestFailed)), want: Linearizable},
		{name: "CAS on the same value cannot fail with 101", ops: hist(
			wr(1, 0, 1, "a"), cas(1, 2, 3, "a", "b", CodeTestFailed)), want: NotLinearizable, witness: []int{1}},
		{name: "CAS on a present key cannot fail with 100", ops: hist(
			wr(1, 0, 1, "a"), cas(1, 2, 3, "x", "b", CodeKeyNotFound)), want: NotLinearizable, witness: []int{1}},
		{name: "CAS that succeeded on a different value", ops: hist(
			wr(1, 0, 1, "x"), cas(1, 2, 3, "a", "b", CodeOK)), want: NotLinearizable, witness: []int{1}},
		{name: "delete then not found", ops: hist(
			wr(1, 0, 1, "a"), del(1, 2, 3, CodeOK), rdNone(2, 4, 5), del(2, 6, 7, CodeKeyNotFound)),
			want: Linearizable},
		{name: "read of the old value after a delete", ops: hist(
			wr(1, 0, 1, "a"), del(1, 2, 3, CodeOK), rd(2, 4, 5, "a")),
			want: NotLinearizable, witness: []int{2}},
		{name: "delete of an absent key cannot succeed", ops: hist(del(1, 0, 1, CodeOK)), want: NotLinearizable},
		{name: "two deletes of one value both succeed", ops: hist(
			wr(1, 0, 1, "a"), del(2, 2, 10, CodeOK), del(3, 3, 11, CodeOK)),
			want: NotLinearizable},
		{name: "create, then create exists, update, compare-and-delete", ops: hist(
			cre(1, 0, 1, "a", CodeOK), cre(2, 2, 3, "b", CodeNodeExist), upd(1, 4, 5, "c", CodeOK),
			cad(2, 6, 7, "a", CodeTestFailed), cad(2, 8, 9, "c", CodeOK), upd(1, 10, 11, "d", CodeKeyNotFound),
			rdNone(3, 12, 13)),
			want: Linearizable},
		{name: "create on an absent key cannot answer exists", ops: hist(cre(1, 0, 1, "a", CodeNodeExist)), want: NotLinearizable},
		{name: "two creates both succeed", ops: hist(cre(1, 0, 10, "a", CodeOK), cre(2, 0, 10, "b", CodeOK)), want: NotLinearizable},
		{name: "update of an absent key cannot succeed", ops: hist(upd(1, 0, 1, "a", CodeOK)), want: NotLinearizable},
		{name: "compare-and-delete of an absent key answers 100", ops: hist(cad(1, 0, 1, "a", CodeKeyNotFound)), want: Linearizable},
		{name: "unknown write explains a later read", ops: hist(
			wr(1, 0, 1, "a"), lost(wr(2, 2, 3, "b")), rd(3, 10, 11, "b")),
			want: Linearizable},
		{name: "unknown write may never take effect", ops: hist(
			wr(1, 0, 1, "a"), lost(wr(2, 2, 3, "b")), rd(3, 10, 11, "a")),
			want: Linearizable},
		{name: "unknown write took effect and cannot be undone", ops: hist(
			wr(1, 0, 1, "a"), lost(wr(2, 2, 3, "b")), rd(3, 10, 11, "b"), rd(3, 12, 13, "a")),
			want: NotLinearizable, witness: []int{1, 3}},
		{name: "unknown write cannot bring back a value overwritten before the read", ops: hist(
			wr(1, 0, 1, "a"), lost(wr(2, 0, 3, "c")), wr(1, 2, 3, "b"), rd(3, 4, 5, "a")),
			want: NotLinearizable},
		{name: "unknown write called after the read cannot explain it", ops: hist(
			wr(1, 0, 1, "a"), rd(2, 2, 3, "b"), lost(wr(3, 4, 5, "b"))),
			want: NotLinearizable},
		{name: "unknown write of the read value called before the read", ops: hist(
			wr(1, 0, 1, "a"), wr(1, 2, 3, "b"), lost(wr(3, 3, 4, "a")), rd(2, 4, 5, "a")),
			want: Linearizable},
		{name: "unknown CAS explains a value", ops: hist(
			wr(1, 0, 1, "a"), lost(cas(2, 2, 3, "a", "b", 0)), rd(1, 5, 6, "b")),
			want: Linearizable},
		{name: "unknown CAS cannot apply from a wrong value", ops: hist(
			wr(1, 0, 1, "x"), lost(cas(2, 2, 3, "a", "b", 0)), rd(1, 5, 6, "b")),
			want: NotLinearizable},
		{name: "unknown read constrains nothing", ops: hist(lost(rd(1, 0, 1, "")), wr(1, 2, 3, "a")), want: Linearizable},
		{name: "initial value", ops: hist(rd(1, 0, 1, "x")), initial: map[string]string{"k": "x"}, want: Linearizable},
		{name: "initial value not seen", ops: hist(rdNone(1, 0, 1)), initial: map[string]string{"k": "x"}, want: NotLinearizable},
		{name: "keys are independent", ops: hist(
			on("a", wr(1, 0, 1, "1")), on("b", wr(1, 2, 3, "2")), on("a", rd(2, 4, 5, "1")), on("b", rd(2, 6, 7, "2"))),
			want: Linearizable},
		{name: "one bad key among good ones", ops: hist(
			on("a", wr(1, 0, 1, "1")), on("b", wr(1, 2, 3, "2")), on("b", rd(2, 4, 5, "1"))),
			want: NotLinearizable, witness: []int{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check(tc.ops, Options{Initial: tc.initial})
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tc.want {
				t.Fatalf("verdict %v, want %v\n%s", res.Verdict, tc.want, res.Explanation)
			}
			if tc.want != NotLinearizable {
				if res.Witness != nil || len(res.Failed) > 0 {
					t.Fatalf("a witness or failed keys for a %v history:\n%s", tc.want, res.Explanation)
				}
				return
			}
			if res.Witness == nil || len(res.Failed) == 0 {
				t.Fatalf("no witness:\n%s", res.Explanation)
			}
			if tc.witness != nil && !slices.Equal(res.Witness.Ops, tc.witness) {
				t.Errorf("witness %v, want %v\n%s", res.Witness.Ops, tc.witness, res.Explanation)
			}
			checkWitness(t, tc.ops, res, tc.initial)
			t.Log("\n" + res.Explanation)
		})
	}
}

// checkWitness checks a witness is a proof: its operations (those cut
// made unknown) are not linearizable from any of its From states, as the
// brute-force oracle says when it is small enough, and as Check says.
func checkWitness(t *testing.T, ops []Op, res Result, initial map[string]string) {
	t.Helper()
	w := res.Witness
	if w.Key != res.Failed[0] {
		t.Fatalf("witness key %q, first failed key %q", w.Key, res.Failed[0])
	}
	if len(w.From) == 0 || len(w.From) != len(w.Writers) || len(w.From) != len(w.AnyUnread) {
		t.Fatalf("witness From %v Writers %v", w.From, w.Writers)
	}
	if w.Earlier == 0 {
		v, ok := initial[w.Key]
		if len(w.From) != 1 || w.From[0] != (State{ok, v}) {
			t.Fatalf("witness without earlier operations starts from %v, the initial state is %v", w.From, State{ok, v})
		}
	}
	checkFrom(t, ops, res, initial)
	var part []Op
	for _, i := range w.Ops {
		op := ops[i]
		if op.Key != w.Key {
			t.Fatalf("witness operation %d is on key %q", i, op.Key)
		}
		if slices.Contains(w.Cut, i) {
			if op.Return < w.At {
				t.Fatalf("operation %d answered at %d, before the failure at %d, counts as unknown", i, op.Return, w.At)
			}
			op = lost(op)
		}
		part = append(part, op)
	}
	for _, s := range w.From {
		if len(part) <= 9 {
			if bruteLinearizable(part, s) {
				t.Fatalf("the witness is linearizable from %v by brute force:\n%s", s, res.Explanation)
			}
		}
		init := map[string]string{}
		if s.Exists {
			init[w.Key] = s.Value
		}
		r, err := Check(part, Options{Initial: init})
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != NotLinearizable {
			t.Fatalf("the witness checks %v from %v:\n%s", r.Verdict, s, res.Explanation)
		}
	}
	if !strings.Contains(res.Explanation, "cannot be linearized") {
		t.Fatalf("explanation lacks the witness:\n%s", res.Explanation)
	}
}

// checkFrom checks, by brute force when the earlier operations are few,
// that every state they can leave the key in is among the witness's From
// states (a state that stands for any unread value covers every value no
// operation of the key reads).
func checkFrom(t *testing.T, ops []Op, res Result, initial map[string]string) {
	t.Helper()
	w := res.Witness
	if w.Earlier == 0 || w.Pruned {
		return
	}
	var before []Op
	read := make(map[string]bool)
	for i, op := range ops {
		if op.Key != w.Key {
			continue
		}
		if op.Return == w.At && op.Call < w.Since && !slices.Contains(w.Ops, i) {
			return // answered with the failure: whether it counts as unknown depends on ties
		}
		if op.Return > w.At || slices.Contains(w.Cut, i) {
			op = lost(op) // answered after the failure
		}
		// A read in flight at the cut is dropped (one called exactly at
		// the cut may be); a Get answered exactly at At may count as
		// unknown. Those that may not count do not count as reading here.
		dropped := !op.Unknown() && op.readOnly() && op.Call <= w.Since && op.Return >= w.Since
		if op.Return < w.At && op.Kind == Get && op.Code == CodeOK && !dropped {
			read[op.Got] = true
		}
		if op.Call <= w.At && op.Kind.compares() && !dropped {
			read[op.Prev] = true
		}
		if op.Call >= w.Since {
			continue
		}
		if !op.Unknown() && op.Return >= w.Since {
			if op.readOnly() {
				continue // a read in flight at the cut is dropped
			}
			t.Fatalf("operation %v is in flight at the cut %d", op, w.Since)
		}
		before = append(before, op)
	}
	if len(before) > 9 {
		return
	}
	v, ok := initial[w.Key]
	for s := range bruteEndStates(before, State{ok, v}) {
		found := false
		for j, f := range w.From {
			if f == s || w.AnyUnread[j] && s.Exists && !read[s.Value] {
				found = true
			}
		}
		if !found {
			t.Fatalf("the earlier operations can leave the key holding %v, not among the witness's From %v:\n%s\nhistory:\n%s", s, w.From, res.Explanation, listOps(ops))
		}
	}
}

func TestCheckRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		ops  []Op
		opts Options
		want string
	}{
		{"kind zero", hist(Op{Key: "k", Call: 0, Return: 1}), Options{}, "unknown kind 0"},
		{"kind too big", hist(Op{Key: "k", Kind: 99, Call: 0, Return: 1}), Options{}, "unknown kind 99"},
		{"return before call", hist(wr(1, 5, 4, "a")), Options{}, "returns at 4, before its call at 5"},
		{"call is the unknown marker", hist(Op{Key: "k", Kind: Put, Call: Unknown, Return: Unknown}), Options{}, "call time"},
		{"get with code 101", hist(Op{Key: "k", Kind: Get, Call: 0, Return: 1, Code: 101}), Options{}, "get cannot answer with code 101"},
		{"put with code 100", hist(Op{Key: "k", Kind: Put, Call: 0, Return: 1, Code: 100}), Options{}, "put cannot answer with code 100"},
		{"create with code 101", hist(cre(1, 0, 1, "a", 101)), Options{}, "create cannot answer with code 101"},
		{"server error code", hist(wr(1, 0, 1, "a"), Op{Key: "k", Kind: Get, Call: 2, Return: 3, Code: 300}), Options{}, "operation 1 "},
		{"get with a value", hist(Op{Key: "k", Kind: Get, Value: "v", Call: 0, Return: 1}), Options{}, "get has a Value"},
		{"put with a prev", hist(Op{Key: "k", Kind: Put, Prev: "v", Call: 0, Return: 1}), Options{}, "put has a Prev"},
		{"not-found get with a value read", hist(Op{Key: "k", Kind: Get, Call: 0, Return: 1, Code: 100, Got: "x"}), Options{}, "has a Got value"},
		{"negative budget", nil, Options{MaxSteps: -1}, "MaxSteps -1 is negative"},
		{"negative timeout", nil, Options{Timeout: -time.Second}, "Timeout -1s is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(tc.ops, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "lin: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestCheckBudget(t *testing.T) {
	// Three concurrent writes and reads: more than 5 steps to decide.
	ops := hist(wr(1, 0, 10, "a"), wr(2, 0, 10, "b"), wr(3, 0, 10, "c"), rd(4, 11, 12, "a"),
		on("other", wr(1, 20, 21, "x")))
	res, err := Check(ops, Options{MaxSteps: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != Inconclusive || !slices.Equal(res.Inconclusive, []string{"k"}) || res.Witness != nil {
		t.Fatalf("verdict %v, inconclusive %q:\n%s", res.Verdict, res.Inconclusive, res.Explanation)
	}
	if !strings.Contains(res.Explanation, `keys undecided (budget of 5 steps a key ran out): "k"`) {
		t.Fatalf("explanation:\n%s", res.Explanation)
	}
	res, err = Check(ops, Options{})
	if err != nil || res.Verdict != Linearizable {
		t.Fatalf("with the default budget: %v %v", res.Verdict, err)
	}

	// A failing key beats an undecided one.
	ops = append(ops, on("bad", rd(1, 0, 1, "never")))
	res, err = Check(ops, Options{MaxSteps: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != NotLinearizable || !slices.Equal(res.Failed, []string{"bad"}) || !slices.Equal(res.Inconclusive, []string{"k"}) {
		t.Fatalf("verdict %v, failed %q, inconclusive %q", res.Verdict, res.Failed, res.Inconclusive)
	}
}

func TestBudgetDeadline(t *testing.T) {
	b := newBudget(100, time.Now().Add(-time.Hour))
	if b.spend() {
		t.Fatal("a budget past its deadline spent a step")
	}
	b = newBudget(2, time.Time{})
	if !b.spend() || !b.spend() || b.spend() {
		t.Fatal("a budget of 2 steps did not allow exactly 2")
	}
	if b.spent != 2 {
		t.Fatalf("spent %d, want 2", b.spent)
	}
}
