package e2e

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"v2etcd/e2e/lin"
)

// The checks of a run's history: linearizability, lost writes, and the
// time the cluster took to take a write again after each heal.

// checkHistory checks the history (final reads included) with lin.Check
// and lostWrites, and returns the time lin.Check took.
func checkHistory(t *testing.T, hist []lin.Op, final map[string]lin.State) time.Duration {
	t.Helper()
	start := time.Now()
	check, err := lin.Check(hist, lin.Options{Timeout: 3 * time.Minute})
	took := time.Since(start)
	if err != nil {
		t.Fatalf("the history cannot be checked: %v", err)
	}
	switch check.Verdict {
	case lin.NotLinearizable:
		t.Errorf("the history is not linearizable: keys %v\n%s", check.Failed, check.Explanation)
	case lin.Inconclusive:
		t.Errorf("the check ran out of budget on keys %v (a failure to look at)\n%s", check.Inconclusive, check.Explanation)
	}
	for _, p := range lostWrites(hist, final) {
		t.Error(p)
	}
	return took
}

// lostWrites checks the simplest case of "every acknowledged write is
// present" directly (see the doc at the top): an acknowledged write with
// no other write on its key that could take effect after it must be what
// the final read shows.
func lostWrites(hist []lin.Op, final map[string]lin.State) []string {
	byKey := map[string][]lin.Op{}
	for _, op := range hist {
		mayChange := op.Kind != lin.Get && op.Client != 0 && (op.Unknown() || op.Code == lin.CodeOK)
		if mayChange {
			byKey[op.Key] = append(byKey[op.Key], op)
		}
	}
	var out []string
	for key, ws := range byKey {
		for i, w := range ws {
			if w.Unknown() {
				continue
			}
			last := true
			for j, x := range ws {
				if j != i && x.Return >= w.Call { // equal times count as overlapping
					last = false
					break
				}
			}
			if !last {
				continue
			}
			want := lin.State{Exists: w.Kind != lin.Delete && w.Kind != lin.CompareAndDelete, Value: w.Value}
			if got := final[key]; got != want {
				out = append(out, fmt.Sprintf("acknowledged write lost: %s is the last change of %q, but the final read finds %s", w, key, got))
			}
		}
	}
	sort.Strings(out)
	return out
}

// healToWrite returns, for each heal (a time on the recorder's clock)
// that an acknowledged write was sent after, the time from the heal to the
// first such write's answer; and that time for the final heal.
func healToWrite(hist []lin.Op, heals []int64, final int64) ([]time.Duration, time.Duration) {
	var writes []lin.Op
	for _, op := range hist {
		if op.Kind != lin.Get && !op.Unknown() && op.Code == lin.CodeOK {
			writes = append(writes, op)
		}
	}
	sort.Slice(writes, func(i, j int) bool { return writes[i].Call < writes[j].Call })
	// firstReturn[i] is the earliest answer of writes[i:].
	firstReturn := make([]int64, len(writes)+1)
	firstReturn[len(writes)] = lin.Unknown
	for i := len(writes) - 1; i >= 0; i-- {
		firstReturn[i] = min(writes[i].Return, firstReturn[i+1])
	}
	after := func(h int64) (time.Duration, bool) {
		i := sort.Search(len(writes), func(i int) bool { return writes[i].Call >= h })
		if firstReturn[i] == lin.Unknown {
			return 0, false
		}
		return time.Duration(firstReturn[i] - h), true
	}
	var out []time.Duration
	for _, h := range heals {
		if d, ok := after(h); ok {
			out = append(out, d)
		}
	}
	last, _ := after(final)
	return out, last
}
