package lin

import (
	"flag"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func TestSimulatedHistoriesAreLinearizable(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 1))
		cfg := simConfig{
			clients:  2 + rng.IntN(6),
			keys:     1 + rng.IntN(3),
			ops:      5 + rng.IntN(40),
			lostRate: []float64{0, 0.05, 0.2}[rng.IntN(3)],
			maxDur:   2 + rng.Int64N(30),
		}
		if rng.IntN(2) == 0 {
			cfg.values = 2 + rng.IntN(4)
		}
		ops := simulate(rng, cfg)
		res, err := Check(ops, Options{})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res.Verdict != Linearizable {
			t.Fatalf("seed %d (%+v): %v\n%s", seed, cfg, res.Verdict, res.Explanation)
		}
	}
}

// randomSmallHistory builds a history of a few operations on one key with
// random times and random answers: some linearizable, most not.
func randomSmallHistory(rng *rand.Rand, n int) []Op {
	kinds := []Kind{Get, Put, Create, Update, CompareAndSwap, Delete, CompareAndDelete}
	val := func() string { return "v" + strconv.Itoa(rng.IntN(3)) }
	var ops []Op
	for i := range n {
		call := rng.Int64N(20)
		op := Op{Client: i, Key: "k", Kind: kinds[rng.IntN(len(kinds))], Call: call, Return: call + rng.Int64N(8)}
		if op.Kind.writesValue() {
			op.Value = val()
		}
		if op.Kind.compares() {
			op.Prev = val()
		}
		switch {
		case rng.IntN(6) == 0:
			op.Return = Unknown
		case op.Kind == Get && rng.IntN(4) > 0:
			op.Got = val()
		default:
			for {
				op.Code = []int{CodeOK, CodeKeyNotFound, CodeTestFailed, CodeNodeExist}[rng.IntN(4)]
				if op.Kind.codeAllowed(op.Code) {
					break
				}
			}
		}
		ops = append(ops, op)
	}
	return ops
}

var oracleSeeds = flag.Uint64("oracle-seeds", 4000, "how many random small histories TestAgainstBruteForce compares with the oracle")

// TestAgainstBruteForce compares the checker with the exhaustive oracle on
// thousands of small random histories, and checks every witness.
func TestAgainstBruteForce(t *testing.T) {
	var lin, notLin int
	for seed := range *oracleSeeds {
		rng := rand.New(rand.NewPCG(seed, 2))
		ops := randomSmallHistory(rng, 1+rng.IntN(8))
		var init State
		opts := Options{}
		if rng.IntN(3) == 0 {
			init = State{true, "v0"}
			opts.Initial = map[string]string{"k": "v0"}
		}
		compareWithOracle(t, "seed "+strconv.FormatUint(seed, 10), ops, init, opts)
		if bruteLinearizable(ops, init) {
			lin++
		} else {
			notLin++
		}
	}
	t.Logf("%d linearizable, %d not", lin, notLin)
	if lin < 200 || notLin < 200 {
		t.Fatalf("the random histories are lopsided: %d linearizable, %d not", lin, notLin)
	}
}

// compareWithOracle checks one small history against the oracle.
func compareWithOracle(t *testing.T, name string, ops []Op, init State, opts Options) {
	t.Helper()
	res, err := Check(ops, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want := NotLinearizable
	if bruteLinearizable(ops, init) {
		want = Linearizable
	}
	if res.Verdict != want {
		t.Fatalf("%s: verdict %v, the oracle says %v\nhistory:\n%s\n%s", name, res.Verdict, want, listOps(ops), res.Explanation)
	}
	if want == NotLinearizable {
		checkWitness(t, ops, res, opts.Initial)
	}
}

func listOps(ops []Op) string {
	s := ""
	for i, op := range ops {
		s += "  #" + strconv.Itoa(i) + " " + op.String() + "\n"
	}
	return s
}

// anomaly injects a known bug into a simulated history at time at on key:
// it returns the scripted operations, a function that falsifies their
// answers, and the index of an operation any witness must contain (-1:
// none in particular).
type anomaly struct {
	name    string
	script  func(key string, at int64) []scripted
	tamper  func(ops []Op)
	culprit int
}

var anomalies = []anomaly{
	{
		// A write, a later write, then a read of the first value.
		name: "stale read",
		script: func(key string, at int64) []scripted {
			return []scripted{
				{Op{Client: 1000, Key: key, Kind: Put, Value: "anomaly-A", Call: at, Return: at + 2}, at + 1},
				{Op{Client: 1000, Key: key, Kind: Put, Value: "anomaly-B", Call: at + 3, Return: at + 5}, at + 4},
				{Op{Client: 1001, Key: key, Kind: Get, Call: at + 6, Return: at + 8}, at + 7},
			}
		},
		tamper:  func(ops []Op) { ops[2].Code, ops[2].Got = CodeOK, "anomaly-A" },
		culprit: 2,
	},
	{
		// A write, a delete, then a read of the deleted value.
		name: "read after delete",
		script: func(key string, at int64) []scripted {
			return []scripted{
				{Op{Client: 1000, Key: key, Kind: Put, Value: "anomaly-A", Call: at, Return: at + 2}, at + 1},
				{Op{Client: 1000, Key: key, Kind: Delete, Call: at + 3, Return: at + 5}, at + 4},
				{Op{Client: 1001, Key: key, Kind: Get, Call: at + 6, Return: at + 8}, at + 7},
			}
		},
		tamper:  func(ops []Op) { ops[2].Code, ops[2].Got = CodeOK, "anomaly-A" },
		culprit: 2,
	},
	{
		// Two compare-and-swaps from one written value both succeed.
		name: "double CAS",
		script: func(key string, at int64) []scripted {
			return []scripted{
				{Op{Client: 1000, Key: key, Kind: Put, Value: "anomaly-A", Call: at, Return: at + 2}, at + 1},
				{Op{Client: 1000, Key: key, Kind: CompareAndSwap, Prev: "anomaly-A", Value: "anomaly-X", Call: at + 3, Return: at + 9}, at + 4},
				{Op{Client: 1001, Key: key, Kind: CompareAndSwap, Prev: "anomaly-A", Value: "anomaly-Y", Call: at + 3, Return: at + 10}, at + 5},
			}
		},
		tamper:  func(ops []Op) { ops[1].Code, ops[2].Code = CodeOK, CodeOK },
		culprit: -1,
	},
	{
		// A read of a value nobody wrote.
		name: "value never written",
		script: func(key string, at int64) []scripted {
			return []scripted{{Op{Client: 1000, Key: key, Kind: Get, Call: at, Return: at + 2}, at + 1}}
		},
		tamper:  func(ops []Op) { ops[0].Code, ops[0].Got = CodeOK, "never-written" },
		culprit: 0,
	},
}

func TestInjectedAnomaliesFail(t *testing.T) {
	for _, a := range anomalies {
		for seed := range uint64(10) {
			rng := rand.New(rand.NewPCG(seed, 3))
			cfg := simConfig{clients: 6, keys: 4, ops: 80, lostRate: 0.03, maxDur: 20}
			if seed%2 == 1 {
				cfg.values = 4
			}
			key := "k" + strconv.Itoa(rng.IntN(cfg.keys))
			ops := simulate(rng, cfg, a.script(key, 200+rng.Int64N(800))...)
			clean, err := Check(ops, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if clean.Verdict != Linearizable {
				t.Fatalf("%s seed %d: before tampering: %v\n%s", a.name, seed, clean.Verdict, clean.Explanation)
			}
			a.tamper(ops)
			res, err := Check(ops, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != NotLinearizable || !slices.Equal(res.Failed, []string{key}) {
				t.Fatalf("%s seed %d: %v, failed %q (anomaly on %q)\n%s", a.name, seed, res.Verdict, res.Failed, key, res.Explanation)
			}
			checkWitness(t, ops, res, nil)
			if a.culprit >= 0 && !slices.Contains(res.Witness.Ops, a.culprit) {
				t.Fatalf("%s seed %d: the witness lacks the culprit #%d\n%s", a.name, seed, a.culprit, res.Explanation)
			}
			keyOps := 0
			for _, op := range ops {
				if op.Key == key {
					keyOps++
				}
			}
			t.Logf("%s seed %d: witness of %d of the key's %d operations (%d earlier summed up), partial %v",
				a.name, seed, len(res.Witness.Ops), keyOps, res.Witness.Earlier, res.Witness.Partial)
			if res.Witness.Partial || len(res.Witness.Ops) > keyOps/10 {
				t.Fatalf("%s seed %d: the witness was not shrunk (%d of %d operations)\n%s", a.name, seed, len(res.Witness.Ops), keyOps, res.Explanation)
			}
			if seed == 0 {
				t.Logf("\n%s", res.Explanation)
			}
		}
	}
}
