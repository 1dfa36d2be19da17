// Package kv is the v2 key space of the store: the in-memory tree of files
// and directories, TTLs, compare-and-swap, in-order keys, hidden keys, the
// event history, watchers and statistics, and snapshots of it all. It
// behaves as etcd 2.3.8's v2 store, quirks included.
package kv
