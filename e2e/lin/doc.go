// Package lin checks that a recorded history of key-value operations is
// linearizable, and when it is not, shows the smallest part of it that
// proves so. The fault-injection tests record what their clients did to a
// cluster (with a Recorder) and hand the history to Check.
//
// # What linearizable means here
//
// Every key is a register: absent, or holding a value. A history is a set
// of operations, each sent by a client at its call time and answered at its
// return time. It is linearizable when each operation can be given one
// instant between its call and its return at which it takes effect, all
// at different instants, so that the answers are those a single register
// gives to the operations in that order. An operation that returned before
// another was called takes effect first; two that overlap in time may take
// effect in either order. Times that are equal count as overlapping: the
// order of two clock readings taken on different goroutines proves nothing.
//
// An operation whose outcome is unknown (its request timed out, or its
// connection broke after it was sent) has no return: it may have taken
// effect at any instant after its call, even after later operations of its
// client, or never, and its answer (lost) constrains nothing. An operation
// that surely never reached the cluster (the connection was refused) did
// not happen: leave it out (Recorder.Discard).
//
// Linearizability is local (Herlihy and Wing): a history is linearizable
// exactly when the operations on each key, taken alone, are. So Check
// splits the history by key and checks the keys on their own, on up to
// GOMAXPROCS goroutines, which keeps a long history with many keys cheap.
//
// # The operations and the v2 API
//
// Each Kind is one v2 keys request; Op.Code is its answer: 0 for success,
// or the v2 error code. Only the answers below are possible; any other
// (a 5xx, a timeout, a leader change) leaves the outcome unknown, unless
// the client knows the request never left.
//
//	Kind              request                              answers (Code)
//	Get               GET /v2/keys/k?quorum=true           0 with Got = node.value, 100 Key not found
//	Put               PUT value=V                          0
//	Create            PUT prevExist=false value=V          0, 105 Key already exists
//	Update            PUT prevExist=true value=V           0, 100
//	CompareAndSwap    PUT prevValue=P value=V              0, 100 (absent), 101 Compare failed
//	Delete            DELETE                               0, 100
//	CompareAndDelete  DELETE ?prevValue=P                  0, 100 (absent), 101
//
// A GET without quorum=true is served from one member's copy and is not
// linearizable in etcd v2: do not record it. Directories, TTLs, in-order
// keys and prevIndex are outside the model.
//
// # Recording
//
// A Recorder gives every operation an ID and takes both times from one
// monotonic clock: a client calls Begin just before it sends a request and
// End with the answer right after it arrives, so each interval contains
// the instant the cluster acted. An operation never ended stays unknown.
//
//	rec := lin.NewRecorder()
//	id := rec.Begin(lin.Op{Client: 3, Key: "k1", Kind: lin.CompareAndSwap, Prev: "a", Value: "b"})
//	code, err := casOverHTTP(...)
//	switch {
//	case refused(err): rec.Discard(id)
//	case err == nil:   rec.End(id, code, "")
//	}                  // otherwise: leave it pending, its outcome is unknown
//	...
//	res, err := lin.Check(rec.History(), lin.Options{Timeout: time.Minute})
//
// Give every write a value of its own (client and sequence number): the
// reads then tell which write they saw, which makes anomalies easy to
// prove and the search cheap.
//
// # The search
//
// For each key, Check runs the search of Wing and Gong with the memo of
// Lowe, as porcupine and Knossos do (search.go has the details). The calls
// and returns, in time order, form a linked list; the search walks it from
// the front and tries to linearize each operation whose call it meets (the
// model must give the recorded answer in the current state); when it meets
// a return, the operation returning must already have taken effect, so the
// search backtracks. The memo remembers each configuration reached (the set
// of operations linearized and the state) so that no configuration is
// explored twice. Exact reductions (each keeps a linearization if there is
// one) keep the search small:
//   - an observer (a Get, or a request that failed, which leaves the key
//     as it is) that fits the current state is linearized at once, alone:
//     concurrent reads do not multiply the orders to try;
//   - an order that overwrites a value some completed operation still
//     needs (a Get that read it, a compare that matched it), when no
//     operation left can write it again, is dropped at once;
//   - values no operation reads or compares are all alike to the model and
//     share one state;
//   - operations of unknown outcome are tried after the completed ones; the
//     memo treats a configuration that spent a superset of the unknown
//     operations another one spent, with the same completed operations and
//     state, as already explored (an unknown operation not spent yet can
//     always be left out); and unknown operations with the same effect are
//     interchangeable, so only the earliest unspent one of each kind is
//     tried.
//
// Deciding linearizability is NP-complete in general; what grows is the
// search of a key that is not linearizable, which must rule out every
// order, and above all the number of its operations of unknown outcome,
// which may each take effect anywhere. Options.MaxSteps (per key) and
// Options.Timeout bound the work; a key whose search runs out is reported
// Inconclusive, never guessed. A test should treat Inconclusive as a
// failure to look at, not as a pass. Keep each key's history short (the
// fault tests should move on to fresh keys every few hundred operations):
// the cost then stays small whatever the length of the whole history.
//
// # When a key fails
//
// Check explains the first failing key (in key order) with a Witness: the
// smallest failing part it finds, printed one operation a line with its
// index in the history, client, interval, request and answer. Each step
// that shrinks it keeps it a proof that the whole history is not
// linearizable:
//   - the history is cut just after the first answer at which it stops
//     being linearizable (a binary search: a history that fails up to some
//     moment fails up to any later one); operations answered later count
//     as unknown;
//   - an operation that needs a value nobody writes is the witness on its
//     own;
//   - otherwise, before a quiet moment (no completed operation in flight),
//     the operations are summed up by the states they can leave the key in,
//     if the rest fails from each of those states; the latest such moment
//     wins (operations of unknown outcome called before it stay in the
//     witness, free to take effect on either side);
//   - reads are dropped while the rest still fails (dropping a read only
//     removes a constraint). Writes are never dropped: a read could then
//     fail for a reason the history does not have.
//
// The witness then shows the longest order the search could linearize and
// the operations none of which can take effect after it, each with the
// reason (what the register holds, what the model would answer). For
// example, a read of an overwritten value among 10,000 operations:
//
//	key "k3" stops being linearizable at 20.008µs: 6 operations cannot be linearized
//	before 20.006µs, the 573 operations completed by then can only leave the key holding:
//	  "anomaly-B" (or any other value no operation considered here reads), written by
//	  #1      client 1000 [20.003µs, 20.005µs]           put "anomaly-B" : ok
//	and from there, these operations cannot be linearized:
//	  #2      client 1001 [20.006µs, 20.008µs]           get : "anomaly-A"
//	with these of unknown outcome (each may take effect once, at any time after its call, or never):
//	  #6057   client 6   [1.679µs, ?]                   cas "c1-243" -> "c6-250" : unknown
//	  ...
//	then none of these can take effect next (the key holds "anomaly-B"):
//	  #2      client 1001 [20.006µs, 20.008µs]           get : "anomaly-A"  (the key holds "anomaly-B") and no operation left writes "anomaly-A"
//
// The explanation has its own budget (twice Options.MaxSteps, within
// Options.Timeout); when it runs out, the witness is still a proof but may
// not be the smallest (Witness.Partial).
//
// # Figures
//
// On this project's 2-core test machine (go test -bench, medians of 5):
// checking 10,000 operations of 10 clients over 10 keys, 2% of them of
// unknown outcome, takes about 19 ms (1.1 search steps an operation); the
// same 10,000 operations on a single key about 13 ms; 100,000 operations
// over 10 keys about 86 ms. A failing history of 10,000 operations over 10
// keys (one stale read) is decided and explained in about 46 ms. Failing
// keys cost more as they grow and as their unknown outcomes multiply: with
// 10 clients, a key of 1,000 operations fails (decided and explained) in
// under 0.1 s even with 5% unknown outcomes; a key of 3,300 operations in
// under a second up to 2%, and is Inconclusive at 5% with the default
// budget; a key of 10,000 operations in about 2 s at 0.5%, and is
// Inconclusive from 1%.
//
// # API
//
//	Op, Kind, State, Code*, Unknown   one operation, its kind, a key's state, answers, the unknown return time
//	NewRecorder, (*Recorder).Begin/End/Discard/History/Now   recording from concurrent clients
//	Check(ops, Options) (Result, error)   the verdict, with a Witness when a key fails
//	Options{MaxSteps, Timeout, Initial}   budget, wall-clock bound, values held before the history
//	Result{Verdict, Failed, Inconclusive, Witness, Explanation, ...}
//	Verdict: Linearizable, NotLinearizable, Inconclusive
//	Witness{Key, At, Earlier, Since, From, Ops, Cut, Linearized, Stuck, Partial, ...}, (*Witness).String
//	(Op).String, (Op).Describe, (Kind).String, (State).String   one-line renderings
//
// Check returns an error (and no verdict) for an operation the model cannot
// take: an unknown kind, a return before the call, an answer its request
// cannot have, a Value or Prev on a kind that has none.
//
// # Tests
//
// Hand-made histories (stale reads, reads of values never written,
// contradicting orders of concurrent writes, double compare-and-swaps,
// failures with the wrong code, deletes, creates, unknown outcomes that do
// and do not explain a read) with their expected witnesses; the verdict of
// Check against an exhaustive brute-force oracle on thousands of random
// small histories (go test -oracle-seeds=N for more, and FuzzCheck), with
// every witness checked to fail from every state it names and, by brute
// force, to name every state the earlier operations can leave; histories
// of a simulated linearizable register (must pass) and the same with a
// stale read, a read after a delete, a double compare-and-swap or a read
// of a value never written injected (must fail, with the injected read in
// the witness); the Recorder under concurrent clients. Benchmarks:
// BenchmarkCheck and BenchmarkExplain.
package lin
