package lin

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxSteps is the search budget of one key when Options.MaxSteps is
// zero. A step is one attempt to linearize an operation or one backtrack;
// a well-behaved history takes a few steps per operation, and the memo
// costs at most one entry (a bit per operation of the key) per step.
const DefaultMaxSteps = 20_000_000

// Options bound and seed a check.
type Options struct {
	// MaxSteps bounds the search on each key (and each search the
	// explanation runs); 0 means DefaultMaxSteps. A key whose search runs
	// out is reported Inconclusive, never guessed.
	MaxSteps int64
	// Timeout bounds the whole check, explanation included, in wall-clock
	// time; 0 means no bound. Keys not decided in time are Inconclusive.
	Timeout time.Duration
	// Initial gives the value of each key that held one before the
	// history began; keys not listed were absent.
	Initial map[string]string
}

// Verdict is the answer of a check.
type Verdict uint8

// The verdicts. NotLinearizable wins over Inconclusive: one key proven
// wrong makes the whole history wrong, whatever the undecided keys hold.
const (
	Linearizable    Verdict = iota // every key's history has a linearization
	NotLinearizable                // some key's history has none
	Inconclusive                   // no key failed, but some ran out of budget
)

// String names the verdict.
func (v Verdict) String() string {
	switch v {
	case Linearizable:
		return "linearizable"
	case NotLinearizable:
		return "not linearizable"
	case Inconclusive:
		return "inconclusive"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Result is the outcome of Check.
type Result struct {
	Verdict      Verdict
	Ops, Keys    int      // operations and keys checked
	Steps        int64    // search steps spent deciding (explanation not counted)
	Failed       []string // keys whose history is not linearizable, sorted
	Inconclusive []string // keys whose search ran out of budget, sorted
	// Witness is the smallest failing part found of the first failed
	// key's history; nil unless the verdict is NotLinearizable.
	Witness *Witness
	// Explanation says what was found in words, one operation a line.
	Explanation string
}

// keyResult is one key's outcome.
type keyResult struct {
	outcome  outcome
	steps    int64
	frontier int // see searchResult.frontier: an index into the checked slice, or -1
}

// Check decides whether the history ops is linearizable for a register per
// key, checking each key on its own, on up to GOMAXPROCS goroutines. It
// returns an error, and no result, for an operation the model cannot
// understand (an unknown kind, a return before the call, an answer code the
// request cannot have) or for bad options.
func Check(ops []Op, opts Options) (Result, error) {
	if opts.MaxSteps < 0 {
		return Result{}, fmt.Errorf("lin: MaxSteps %d is negative", opts.MaxSteps)
	}
	if opts.Timeout < 0 {
		return Result{}, fmt.Errorf("lin: Timeout %v is negative", opts.Timeout)
	}
	if opts.MaxSteps == 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	var errs []error
	byKey := make(map[string][]int)
	for i, op := range ops {
		if err := op.validate(); err != nil {
			errs = append(errs, fmt.Errorf("lin: operation %d (%s): %w", i, op, err))
			if len(errs) == 10 {
				errs = append(errs, errors.New("lin: (further errors not shown)"))
				break
			}
			continue
		}
		byKey[op.Key] = append(byKey[op.Key], i)
	}
	if len(errs) > 0 {
		return Result{}, errors.Join(errs...)
	}
	var deadline time.Time
	if opts.Timeout > 0 {
		deadline = time.Now().Add(opts.Timeout)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	results := make([]keyResult, len(keys))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				results[k] = checkKey(ops, keys[k], byKey[keys[k]], initial(opts, keys[k]), newBudget(opts.MaxSteps, deadline))
			}
		}()
	}
	for k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()

	res := Result{Ops: len(ops), Keys: len(keys)}
	frontier := make(map[string]int)
	for k, r := range results {
		frontier[keys[k]] = r.frontier
		res.Steps += r.steps
		switch r.outcome {
		case illegal:
			res.Failed = append(res.Failed, keys[k])
		case gaveUp:
			res.Inconclusive = append(res.Inconclusive, keys[k])
		}
	}
	switch {
	case len(res.Failed) > 0:
		res.Verdict = NotLinearizable
		key := res.Failed[0]
		res.Witness = explain(ops, key, byKey[key], initial(opts, key), frontier[key], opts.MaxSteps, deadline)
	case len(res.Inconclusive) > 0:
		res.Verdict = Inconclusive
	}
	res.Explanation = res.describe(opts)
	return res, nil
}

// initial returns the state key held before the history began.
func initial(opts Options, key string) State {
	v, ok := opts.Initial[key]
	return State{Exists: ok, Value: v}
}

// checkKey decides one key's history.
func checkKey(ops []Op, key string, idx []int, init State, b *budget) keyResult {
	p := newProblem(ops, idx, []State{init}, true)
	r := p.search(p.stateID(init), b, searchOptions{})
	k := keyResult{outcome: r.outcome, steps: b.spent, frontier: -1}
	if r.frontier >= 0 {
		k.frontier = p.ops[r.frontier].index
	}
	return k
}

// describe writes the result in words.
func (r *Result) describe(opts Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lin: %s on %s: %s", plural(r.Ops, "operation"), plural(r.Keys, "key"), r.Verdict)
	if r.Verdict != NotLinearizable {
		fmt.Fprintf(&b, " (%d search steps)", r.Steps)
	}
	b.WriteString("\n")
	if len(r.Failed) > 0 {
		fmt.Fprintf(&b, "keys not linearizable: %s\n", quoteAll(r.Failed))
	}
	if len(r.Inconclusive) > 0 {
		fmt.Fprintf(&b, "keys undecided (budget of %d steps a key", opts.MaxSteps)
		if opts.Timeout > 0 {
			fmt.Fprintf(&b, ", or the timeout of %v,", opts.Timeout)
		}
		fmt.Fprintf(&b, " ran out): %s\n", quoteAll(r.Inconclusive))
	}
	if r.Witness != nil {
		b.WriteString(r.Witness.String())
	}
	return b.String()
}

func quoteAll(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = strconv.Quote(k)
	}
	return strings.Join(q, ", ")
}
