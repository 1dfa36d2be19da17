// Package peer holds what members of a cluster know about each other and,
// as the project grows, how they talk: the transport of raft messages over
// net/http, snapshot transfer, and the peer endpoints.
//
// This file documents what exists so far.
//
// # URLs
//
// Every URL flag of the server (--listen-peer-urls, --initial-advertise-peer-urls,
// --listen-client-urls, --advertise-client-urls) and every URL inside
// --initial-cluster is a comma-separated list parsed by [ParseURLs]. Each item
// has its surrounding white space trimmed and must
//
//   - use the scheme http or https ("URL scheme must be http or https: <u>"),
//   - name a host and a port ("URL address does not have the form "host:port": <u>"),
//   - carry no path ("URL must not contain a path: <u>").
//
// The list is kept sorted by the URLs' string forms, and [URLs.String] joins
// it back with commas. Like etcd 2.3, a query, a fragment or user information
// is accepted and kept. [URLsEqual] compares two lists the way a member
// compares its advertised peer URLs with the initial cluster: a host name
// other than localhost is resolved (through a lookup function the caller
// passes in) so that a name and its address compare equal.
//
// # IDs
//
// Members and clusters are named by 64-bit IDs ([ID]), printed as lower-case
// hexadecimal without zero padding ("8a0a11c6194fc77"). A member's ID is
// derived, not chosen ([MemberID]): SHA-1 over its sorted peer URLs, then the
// cluster token, then (only for members added at run time) the Unix time in
// decimal seconds; the first 8 bytes of the digest, read big-endian, are the
// ID. The name is not part of it. A cluster's ID ([ClusterID]) is SHA-1 over
// the members' IDs, sorted ascending and written as 8 big-endian bytes each,
// again read from the first 8 bytes of the digest. So a single default member
// (peer URL http://localhost:2380, token etcd-cluster) is always member
// 8e9e05c52164694d of cluster cdf818194e3a8c32, and two clusters built with
// different tokens get different IDs and refuse each other's traffic.
//
// # Members
//
// [Member] is one member as the cluster records it: its ID, its name (empty
// until the member has published it), its peer URLs and its client URLs.
package peer
