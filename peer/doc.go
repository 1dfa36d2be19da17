// Package peer holds what members of a cluster know about each other and
// how they talk: member URLs and IDs, the transport of raft messages over
// net/http (streams, pipeline, snapshot transfer, the raft endpoints and
// their checks), peer health probes, the traffic statistics behind
// /v2/stats/self and /v2/stats/leader, and the client side of the peer
// endpoints /members and /version.
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
//
// # The transport
//
// A [Transport] carries raft messages between this member and its peers.
// The server creates it with [NewTransport] (its ID, the cluster ID, its
// advertised peer URLs, its version and minimum cluster version, a [Raft]
// to deliver to, a [SnapshotStore], the client side of peer TLS), tells it
// who the peers are ([Transport.SetPeers], [Transport.AddPeer],
// [Transport.RemovePeer], [Transport.UpdatePeer]), mounts
// [Transport.Handler] on the peer listener for "/raft" and "/raft/", and
// hands it the messages of every Ready with [Transport.Send]. Send never
// blocks: the raft loop calls it.
//
// The endpoints and headers are etcd 2.3's (spec: clustering-and-cli §9):
//
//	POST /raft                        the pipeline: frames from one sender
//	GET  /raft/stream/msgapp/<from>   a stream of appends to the dialler <from>
//	GET  /raft/stream/message/<from>  a stream of every other message to <from>
//	POST /raft/snapshot               a snapshot: message, then its data
//	any  /raft/probing                {"OK":true,"Now":"<RFC 3339 time>"}
//
// Every request carries X-Server-From (the sender's ID), X-Server-Version,
// X-Min-Cluster-Version, X-Etcd-Cluster-ID, X-Raft-To (the member dialled)
// and X-PeerURLs (the sender's advertised peer URLs). Every answer but a
// 405 carries the receiver's X-Etcd-Cluster-ID; a stream answer also
// carries X-Server-Version. What travels inside the bodies is our own
// binary encoding, not etcd's protobuf, so this transport talks to its own
// kind only.
//
// # Framing
//
// Every body is a sequence of frames. A frame is a uvarint length N
// followed by N bytes holding one raft.Message in raft's binary encoding
// (see package raft). N = 0 is a link heartbeat: no message, only a sign
// of life on an idle stream. A frame may not exceed 64 MiB; a reader
// refuses a larger length before it allocates. Decoded messages alias a
// buffer allocated for their frame alone, so raft may keep them. There is
// no checksum per frame: TCP (and TLS, when used) protects the bytes, and
// the decoder rejects anything malformed.
//
// # Streams
//
// Streams follow etcd's direction: a member receives over streams it dials
// itself. Member A dials GET /raft/stream/message/<A> on B, and B answers
// 200 and then writes, on that response body, the messages it has for A,
// until one side hangs up. Each member dials both stream kinds to every
// peer, so between two members there are four long-lived HTTP/1.1
// connections, one per kind per direction.
//
// There are two kinds to avoid head-of-line blocking. An append
// (MsgApp) can be up to a megabyte of entries (raft's MaxSizePerMsg); on a
// single stream, a heartbeat, a vote or a ReadIndex answer queued behind a
// few of them would wait for them to cross the link, and a slow link
// would then look like a dead leader. So appends have the msgapp stream
// and everything else (heartbeats, votes, responses, ReadIndex, leader
// transfer) the message stream, each with its own queue: 4096 messages for
// appends (raft keeps at most 256 in flight per follower), 1024 for the
// rest. Order is kept within a stream, not across the two, which raft
// does not need.
//
// The sending end of a stream is a queue and, while the peer is
// connected, one writer serving the peer's GET. The writer takes whatever
// is queued (up to 1 MiB) and writes it with one Write and one Flush, so
// under load many messages share a system call; every 1.7 s it also
// writes a link heartbeat, so an idle stream is still heard. Each write
// must finish within 5 s.
// If the peer dials again while an old connection is still served, the
// old one is cut (its write deadline is moved to now) and the new one
// takes over once the old writer has let go of the queue, so messages
// still leave in order. When a stream goes down, the messages still
// queued for it are dropped. A peer that vanishes without closing its
// connections (a machine that lost power) is noticed when the stream we
// dialled to it stays silent (see below): the streams it dialled to us are
// then ended too, so that what we send it goes through the pipeline,
// where failures show. A write that times out, or the peer dialling again
// after a restart, ends a dead stream as well.
//
// The receiving end dials, checks the answer (200 and our content type),
// then reads frames and passes each message to [Raft.Process] in order,
// one at a time; a message whose From is not the peer or whose To is not
// this member ends the stream. A stream silent for 5 s (no byte, not even
// a link heartbeat) is hung up, and the peer's streams to us are ended;
// so is one whose Process call blocks that long, since nothing is read
// meanwhile. After a stream ends or a dial fails it
// dials again after 100 ms, doubling the wait after each failed dial up to
// 1.6 s; a stream that was up starts again from 100 ms. A member never
// dials a member that [Raft.IsRemoved] reports removed.
//
// # Pipeline
//
// [Transport.Send] puts an append on the msgapp stream's queue and any
// other message on the message stream's queue when that stream is
// connected; otherwise the message goes to the pipeline, a queue of 64
// messages sent by one goroutine as POST /raft requests of up to 64 frames
// (and about 1 MiB) each, one request at a time, so they too arrive in
// order; a request must be answered within 5 s. The pipeline
// covers the moments before a peer has dialled in and peers that cannot
// dial us. A message moved between the pipeline and a stream may overtake
// an older one; raft copes with reordered messages as it copes with lost
// ones. The receiver answers 204 once every message was processed.
//
// A sender that is not a peer (a member that joined and is not yet in this
// member's peer set) is remembered as a remote, reached through the
// X-PeerURLs of its pipeline request, so that answers to it can go out
// through a pipeline of its own; AddPeer replaces the remote by a peer.
//
// # Snapshots
//
// Raft emits a MsgSnap whose snapshot carries metadata and no data. The
// transport opens the data with [SnapshotStore.Open] and streams it in a
// POST /raft/snapshot body:
//
//	frame    the MsgSnap (data empty)
//	uvarint  the data's length
//	data     read from the store as it is sent, never held in memory whole
//	crc      4 bytes, big-endian CRC-32C of the data
//
// The source is read to its end, so a store reader that checks a checksum
// of its own at the end (wal.SnapshotReader does) gets to; a source
// shorter or longer than its stated size fails the transfer. The receiver
// passes the data to [SnapshotStore.Save] as it arrives and checks the
// CRC before Save gets the last bytes, so a damaged or cut transfer makes
// Save fail and nothing is kept; only then does it pass the MsgSnap (data
// empty) to [Raft.Process] and answer 204. The sender reports
// [Raft.ReportSnapshot](to, true) on a 204 and false on anything else. One
// snapshot at a time goes to a peer; another while one is under way fails
// at once. A transfer with no progress for 30 s is abandoned.
//
// # Checks and failures
//
// Every raft request with the right method (others get 405) is checked
// first, in this order:
//
//   - version: a sender whose version (major.minor) is below this member's
//     minimum cluster version, or whose minimum cluster version is above
//     this member's version, gets 412 "incompatible version" and the
//     receiver logs "request version incompatibility (<reason>)"; a
//     missing version header counts as 2.0.0;
//   - cluster ID: a sender of another cluster gets 412 "cluster ID
//     mismatch" and the receiver logs "request cluster ID mismatch (got <x>
//     want <y>)".
//
// A stream request is then checked as §9.3 of the spec orders it: 404
// "invalid path", 404 "invalid from", 410 "removed member", 404 "error
// sender not found" (logged "failed to find member <id> in cluster
// <cid>"), 412 "to field mismatch", and else 200. The pipeline and the
// snapshot endpoint answer 412 "to field mismatch" when X-Raft-To names
// another member, 400 to a body that does not decode or holds a message
// for another member, 403
// {"message":"cannot process message from removed member"} to a removed
// sender, 500 when Raft or the store fails, and 204 on success.
//
// The sender of a refused request logs why, as etcd does: "request sent
// was ignored (cluster ID mismatch: remote[<peer>]=<their cid>,
// local=<our cid>)", "request sent was ignored by peer <id> (server
// version incompatible)", "remote member <id> could not recognize local
// member". It keeps trying with the backoff above; it never gives up nor
// exits, so a member started with a wrong cluster token stays out of the
// cluster and logs why. A 403 or 410 means this member was removed from
// the cluster: the transport calls [Raft.SelfRemoved] once, and the
// server stops as etcd does.
//
// A message that cannot be queued (its queue is full), that was queued
// for a stream that went down, or whose write or POST failed is dropped:
// it counts as a failure in the follower's statistics and the peer is
// reported with [Raft.ReportUnreachable], after which the leader probes
// the follower instead of streaming to it. Raft resends what matters.
// Reports leave from a goroutine of the transport, never from Send, so a
// server whose Report methods go through its raft loop cannot deadlock;
// reports for one peer that pile up are merged.
//
// # TLS
//
// Config.TLS is the client side of peer TLS, used for https peer URLs: the
// trusted CAs and, when peers require client certificates
// (--peer-client-cert-auth), the member's certificate. The server side is
// the peer listener's. Connections use HTTP/1.1 only, one TCP connection
// per stream.
//
// # Probes
//
// Every 4 s the transport probes each peer URL at /raft/probing. Every
// 30 s it warns "the connection to peer <id> is unhealthy" if the latest
// probe failed, or "the clock difference against peer <id> is too high"
// when the peer's clock, taken as read at the middle of the round trip,
// is more than a second away from ours.
//
// # Statistics
//
// The transport records into a [Stats] (its own, or the one in
// Config.Stats): append requests received (recvAppendRequestCnt) and sent
// (sendAppendRequestCnt), counted when an append frame is read or written,
// with their rates over the last 200 of them (count and bytes over the
// time from the oldest to the newest, zero with fewer than two or when the
// newest is over a second old); and for each peer, as a follower, the
// heartbeat round trip and delivery counts. Latency is measured from the
// moment the oldest unanswered heartbeat to the follower was queued to the
// moment a heartbeat response from it arrives, in milliseconds; counts
// "success" are those round trips and "fail" the messages to it that were
// dropped. etcd 2.3 measured something else (the time to write an append
// to the stream, which is why its figures are microseconds); ours are true
// round trips. [Stats.SelfJSON] and [Stats.LeaderJSON] render the two
// endpoints exactly as etcd does; the server supplies its name, ID, state,
// start time and leader.
//
// # Asking a member
//
// [GetMembers] fetches /members (a JSON array, IDs as numbers) from the
// first of a list of peer URLs that answers, with the cluster ID of its
// X-Etcd-Cluster-ID header; [GetVersion] fetches /version. A member joining
// a running cluster uses them before it starts.
package peer
