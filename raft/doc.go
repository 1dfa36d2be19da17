// Package raft is the Raft consensus algorithm as a pure, deterministic state
// machine: no goroutines, no clocks, no I/O. The caller feeds it ticks and
// messages and takes back a Ready batch of things to persist, send and apply.
//
// This file grows into a short textbook chapter that maps the rules of the
// Raft paper (Figure 2, sections 5 to 7) to the functions that implement them.
// The message, entry and snapshot types live in types.go and their binary
// encoding, shared by the write-ahead log and the peer transport, in
// encoding.go.
package raft
