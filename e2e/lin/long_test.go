package lin

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// longConfig is the shape of the long histories: 10 clients on 10 keys,
// 1,000 operations each (10,000 in all, about 1,000 a key), 2% of them
// with an unknown outcome.
var longConfig = simConfig{clients: 10, keys: 10, ops: 1000, lostRate: 0.02, maxDur: 40}

func TestLongHistoryManyKeys(t *testing.T) {
	for _, values := range []int{0, 5} {
		cfg := longConfig
		cfg.values = values
		rng := rand.New(rand.NewPCG(7, uint64(values)))
		ops := simulate(rng, cfg)
		res, err := Check(ops, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Linearizable || res.Keys != 10 || res.Ops != 10000 {
			t.Fatalf("values %d: %v on %d keys, %d operations\n%s", values, res.Verdict, res.Keys, res.Ops, res.Explanation)
		}
		t.Logf("values %d: %s", values, res.Explanation)

		// The same history with one stale read on one key.
		a := anomalies[0]
		rng = rand.New(rand.NewPCG(8, uint64(values)))
		ops = simulate(rng, cfg, a.script("k3", 20000)...)
		a.tamper(ops)
		res, err = Check(ops, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != NotLinearizable || !slices.Equal(res.Failed, []string{"k3"}) || !slices.Contains(res.Witness.Ops, a.culprit) {
			t.Fatalf("values %d, stale read: %v, failed %q\n%s", values, res.Verdict, res.Failed, res.Explanation)
		}
		checkWitness(t, ops, res, nil)
		t.Logf("values %d, stale read:\n%s", values, res.Explanation)
	}
}

func BenchmarkCheck(b *testing.B) {
	cases := []struct {
		name string
		cfg  simConfig
	}{
		{"10000ops-10keys", longConfig},
		{"10000ops-10keys-nolost", simConfig{clients: 10, keys: 10, ops: 1000, maxDur: 40}},
		{"10000ops-10keys-values5", simConfig{clients: 10, keys: 10, ops: 1000, lostRate: 0.02, maxDur: 40, values: 5}},
		{"10000ops-1key", simConfig{clients: 10, keys: 1, ops: 1000, lostRate: 0.02, maxDur: 40}},
		{"100000ops-10keys", simConfig{clients: 10, keys: 10, ops: 10000, lostRate: 0.02, maxDur: 40}},
	}
	for _, c := range cases {
		ops := simulate(rand.New(rand.NewPCG(1, 1)), c.cfg)
		b.Run(c.name, func(b *testing.B) {
			var steps int64
			for b.Loop() {
				res, err := Check(ops, Options{})
				if err != nil || res.Verdict != Linearizable {
					b.Fatalf("%v %v\n%s", res.Verdict, err, res.Explanation)
				}
				steps = res.Steps
			}
			b.ReportMetric(float64(steps)/float64(len(ops)), "steps/op")
		})
	}
}

// BenchmarkExplain measures a failing check: deciding, then finding the
// witness of a stale read among 10,000 operations.
func BenchmarkExplain(b *testing.B) {
	a := anomalies[0]
	ops := simulate(rand.New(rand.NewPCG(1, 1)), longConfig, a.script("k3", 20000)...)
	a.tamper(ops)
	for b.Loop() {
		res, err := Check(ops, Options{})
		if err != nil || res.Verdict != NotLinearizable {
			b.Fatalf("%v %v", res.Verdict, err)
		}
	}
}
