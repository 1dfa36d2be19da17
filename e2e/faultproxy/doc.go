// Package faultproxy puts a controllable network between the members of a
// test cluster: a TCP proxy in front of each member's peer port that
// forwards, delays, stalls or cuts the raft traffic of each link, one
// direction at a time. The fault-injection tests of package e2e use it to
// partition, slow down and blackhole members running as real processes on
// loopback.
//
// # How traffic is routed
//
// Each member j listens on its own peer port but advertises the address of
// its proxy (--initial-advertise-peer-urls and --initial-cluster name the
// proxy), so every peer connection to j arrives at j's proxy, which dials
// j's real port and copies bytes both ways:
//
//	member k ──▶ proxy of j (advertised) ──▶ member j (listening)
//
// The proxy reads the head of the HTTP request that opens each connection
// and learns who is calling from its X-PeerURLs header (every peer request
// carries the sender's advertised peer URLs, which are the sender's proxy
// URL). A request without it (a joining member asking for the membership,
// a test's own request) passes untouched.
//
// # Directions
//
// A link is one direction: Link{From: k, To: j} carries what k sends to j.
// Which direction a connection carries is decided by its request:
//
//   - a stream, GET /raft/stream/..., is dialled by k but its response body
//     carries j's messages to k: it belongs to Link{j, k};
//   - anything else (the pipeline and snapshots, POST; probes) carries k's
//     data to j: it belongs to Link{k, j}.
//
// The proxy adds "Connection: close" to every request it forwards, so each
// connection carries exactly one request and keep-alive reuse cannot mix
// the two directions on one connection. Nothing else is changed.
//
// # Link states
//
// Every link is in one state (Pass by default), which applies to the new
// and existing connections of that link at once:
//
//   - Pass: bytes flow as they arrive.
//   - Drop: the link is down and says so: existing connections are closed
//     and new ones are closed as soon as their request head is read, so the
//     sender sees its connection fail (as with a refused or reset connection).
//   - Delay(d): every chunk of bytes is held for d before it is passed on,
//     in order, in both directions of the connection.
//   - Blackhole: the link is silently gone: connections are accepted, but
//     nothing is read or written in either direction until the state
//     changes, so the sender's writes pile up in socket buffers and then
//     block, and readers wait for their own timeouts. When the link passes
//     again, what was held flows on, as TCP resumes after a network heals.
//
// A partition is a set of link states: [Network.Partition] drops every link
// between members of different groups; [Network.Set] sets any one link, so
// asymmetric faults (a leader that can send but not hear) and bridges (two
// halves that each see a third member) are a few calls.
//
// # Statistics
//
// [Network.Stats] counts connections accepted, passed without a sender,
// refused by Drop, cut by Drop, and the bytes forwarded: enough for a test
// to show that its faults reached the traffic.
package faultproxy
