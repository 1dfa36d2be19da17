// Package kv is the v2 key space: the in-memory tree of files and
// directories, TTLs, compare-and-swap and compare-and-delete, in-order keys,
// hidden keys, the event history, watchers and statistics, and snapshots of
// it all. It behaves as etcd 2.3.8's v2 store, oddities included, and it
// renders its values as etcd's JSON, byte for byte. It knows nothing of
// HTTP or raft.
//
// # The tree and its paths
//
// A Store holds etcd's whole internal tree. The root / has three read-only
// directories made at index 0 (so they show no index fields): /0 (cluster
// membership and version, written by the server), /1 (the user key space:
// /v2/keys/foo is the store path /1/foo) and /2 (v2 auth). Every path given
// to the store is a full internal path; it is cleaned first (a leading
// slash added; empty, "." and ".." segments and a trailing slash removed).
// A write to /, /0, /1 or /2 itself fails with 107, except POST, which
// creates a child, and compare-and-delete, which fails with 102 (they are
// directories).
//
// Rendering strips the /1 prefix from node keys and error causes
// (DisplayKey): the node /1 is the root of the key space and shows no key;
// a cause of "/1" becomes empty and is left out, as etcd 2.3.8 answers a
// compare-and-delete on the root ({"errorCode":102,"message":"Not a
// file","index":3}). Keys under /0 and /2 are shown as they are.
//
// One etcd index counts every mutation of the whole tree: each successful
// write, expiry and refresh uses exactly one; reads and failures use none.
//
// # API
//
//	New() *Store                     an empty store at index 0
//	(*Store).Apply(*Request)         a replicated request: event or *Error
//	(*Store).Get(path, rec, sorted)  a read, as a "get" event (a copy)
//	(*Store).AppendGet(b, ...)       the same read rendered straight into b
//	(*Store).Watch(path, rec, stream, waitIndex) a *Watcher
//	(*Store).Index()                 the current etcd index (X-Etcd-Index)
//	(*Store).Stats()                 the /v2/stats/store counters
//	(*Store).HasTTL()                whether any node can expire
//	(*Store).Save(w) / Recover(data) snapshots
//	(*Store).Hash()                  a digest of the tree and index
//	Request, Marshal, Unmarshal      the replicated command and its encoding
//	Event, Node, Error, Stats        results, each with AppendJSON
//	NewError(code, cause, index)     any v2 key-space error, for the HTTP layer
//
// Apply runs on one goroutine (the server's applier); Get, AppendGet,
// Watch, Stats, Index, Save and Hash may run on any number of goroutines at
// the same time (a sync.RWMutex guards the store; the read counters are
// atomic). A GET of a file renders with no allocation.
//
// # Apply
//
// Apply dispatches as spec §3.5 says:
//
//	POST                                     create in order
//	PUT    prevExist=true, no conditions     update
//	PUT    prevExist=true, prevValue/Index   compare-and-swap
//	PUT    prevExist=false                   create (conditions ignored)
//	PUT    prevValue or prevIndex>0          compare-and-swap
//	PUT    otherwise                         set
//	DELETE prevValue or prevIndex>0          compare-and-delete
//	DELETE otherwise                         delete (dir, recursive)
//	QGET                                     get (counted where applied)
//	SYNC                                     expiry at the leader's Time
//
// Apply is deterministic: it reads no clock. Deadlines come in the request
// (Expiration, in Unix nanoseconds, computed by the member that took the
// HTTP request; 0 or any time before 2000-01-01 means no TTL) and SYNC
// carries the leader's clock (Time): it expires every node whose deadline is
// at or before Time, earliest first (equal deadlines in the order of the
// writes that set them), each with its own index and "expire" event; a
// directory goes with its whole subtree, in one event. The same requests in
// the same order give byte-identical state, events and errors on every
// member.
//
// The behaviour of each operation is etcd 2.3.8's, checked against the
// real binary where the spec left room:
//
//   - set makes missing directories (permanent, at the write's index),
//     replaces a file by a new node (new createdIndex, TTL only if given),
//     turns a file into an empty directory with dir=true, and fails with
//     102 on a directory, 104 under a file (cause: that file);
//   - update keeps createdIndex and replaces the TTL by the request's (none
//     makes the node permanent); on a directory it changes only the TTL and
//     (2.3 quirk) leaves the stored modifiedIndex as it was, although the
//     event shows the new index; a value for a directory is 102;
//   - compare-and-swap checks prevValue and prevIndex (0 and "" mean
//     unchecked), failing with 101 and a cause "[a != b]", "[i != j]" or
//     both; directories are never CAS targets (102);
//   - refresh keeps the value and sets the new deadline through set
//     (recreating the node), update or compare-and-swap; it uses an index,
//     is kept in the history as a refresh and never wakes a watcher;
//   - POST names the new node after the new index, 20 digits, zero-padded;
//   - delete needs dir=true for a directory (102) and recursive=true for a
//     non-empty one (108, hidden children count); recursive implies dir; one
//     event for the top node only;
//   - the node of a delete, compare-and-delete or expire event has no value,
//     and an expire event's node no "dir" (3.2+ adds it).
//
// The statistics follow etcd's counting exactly, including its oddities:
// update of the root or of a directory with a value, compare-and-swap and
// delete of the root, and compare-and-delete of a directory or with failing
// conditions all count as successes (etcd 2.3.8 returns those errors without
// recording them); a create or POST that meets a file on its way counts a
// setsFail besides its createFail. Plain reads count where they are served
// (Get, AppendGet), quorum reads where they are applied. The HTTP layer's
// own reads of /2/enabled, which etcd also counts, are the server's
// business.
//
// # Reads and TTL fields
//
// A file shows its value; a directory its visible children, one level deep
// or the whole subtree when recursive, sorted byte-wise by key at every
// level when sorted (else in map order, as etcd). Hidden nodes (a last
// segment starting with "_") are never listed, their subtrees neither, but
// read directly. Errors: 100 naming the first missing path, 104 naming a
// file met on the way, both with the current index.
//
// A node's ttl field is computed when it is rendered: the seconds left
// until its deadline, rounded up (0 is left out, negative once overdue). For
// reads the caller gives "now". An event's ttl fields are counted from the
// Time of the request that made it, when it had one (always for expire
// events: the SYNC's time), else from the caller's now: etcd computes them
// when it applies the request, so a watcher reading a write from the
// history sees the ttl the writer saw. The server should therefore set
// Request.Time on every write to the receiving member's clock.
//
// # Watches
//
// Watch(path, recursive, stream, waitIndex) follows spec §4. waitIndex 0
// means the next index. A waitIndex older than the oldest of the last 1000
// events fails with 401, cause "the requested history has been cleared
// [oldest/requested]", index the current one. If the history holds a
// matching event at or after waitIndex, the watcher comes back with it in
// its channel and is never registered, even for a stream (which then stays
// silent, as etcd's). Otherwise the watcher is registered on the path and
// counted in the watchers statistic.
//
// The history scan and live delivery match differently, as in etcd:
//
//   - scan: the event's key is the watched key or, when recursive, starts
//     with it plus "/"; or the event deletes or expires a directory whose key
//     is a plain string prefix of the watched key (/foo matches /foobar).
//     Refresh events never match; hidden keys are not filtered. Quirk (seen
//     on 2.3.8, not in the spec): a recursive scan stops matching the watched
//     key itself after the first event it examines.
//   - live: a change at the watched key always matches; with recursive,
//     changes below it too, unless the part below holds a hidden segment (a
//     watch at or inside a hidden directory sees its children). Deleting or
//     expiring an ancestor notifies a watcher, recursive or not, only if the
//     watched node existed; the event is the ancestor's. Refreshes never
//     wake watchers.
//   - a stream watcher on a deleted, compare-and-deleted or expired node
//     gets the event twice (etcd tells the removed node's watchers, then the
//     event's path's watchers); its watchers below the node get it once.
//
// A Watcher's channel holds 100 events. A non-stream watcher is
// unregistered after its one event. A stream watcher that falls 100 events
// behind is dropped: unregistered, its channel closed after the events it
// holds; Apply never waits for a watcher. Remove unregisters a watcher and
// closes its channel at once, from any goroutine, any number of times.
// StartIndex is the index when the watch was made (the watch response's
// X-Etcd-Index). Recover keeps the registered watchers that the
// snapshot's events do not concern; a watcher waiting from an index whose
// event the snapshot holds gets it (non-stream), and one that cannot be
// answered that way (a stream, or an index that left the history) is
// dropped, so its client watches again. etcd 2.3.8 keeps them all, and a
// watch made on a member that then catches up from a snapshot waits for
// events it already holds, and misses them (found by the fault tests).
//
// # Requests
//
// Request is the replicated command. Marshal gives a compact deterministic
// binary form (a version byte, the method, a flags byte, then uvarints,
// varints and length-prefixed strings); Unmarshal decodes exactly that and
// returns an error wrapping ErrMalformedRequest for anything else, never
// panicking and never allocating more than the input's size.
//
// # Snapshots and hash
//
// Save writes the whole state (tree, index, TTLs with their order, history,
// statistics) in a compact binary format of our own, ending in a CRC-32C;
// Recover replaces the state with a snapshot after checking it whole, so a
// damaged one (ErrBadSnapshot) leaves the store as it was. Save holds the
// read lock while it writes (Apply waits, so give it a buffer or a file,
// not a slow network stream). Hash digests the tree and the
// index for comparing members; every write keeps it up to date (it is a sum
// of per-node hashes), so calling it costs nothing.
//
// # Memory
//
// A node stores neither its name nor its path (its parent's map holds the
// name, paths are built while walking), a directory's map is made on its
// first child, and a node without TTL carries only a nil pointer. A million
// keys with 100-byte values take about 250 bytes of heap per key, 2.1 to
// 2.2 times the raw key and value bytes (see bench_test.go).
package kv
