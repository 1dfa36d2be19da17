// Package discover finds the members a new cluster starts with, in the
// three ways etcd 2.3 knows: a static list (--initial-cluster), the etcd
// discovery protocol against a registry (--discovery), and DNS SRV records
// (--discovery-srv). It also finds a cluster's client URLs in DNS for
// etcdctl --discovery-srv.
//
// # The initial cluster
//
// --initial-cluster maps member names to their advertised peer URLs:
//
//	infra0=http://10.0.1.10:2380,infra0=http://10.0.1.10:7001,infra1=http://10.0.1.11:2380
//
// [ParseInitialCluster] splits the value on commas and skips empty items,
// splits each item at its first '=', and collects the URLs per name, so a
// name that appears more than once gets several peer URLs. Each name's URLs
// follow the member URL rules of [peer.ParseURLs] and are kept sorted. An
// item without '=' is a name with an empty URL, which fails those rules.
// The first bad URL (in the order given) is the error.
//
// [InitialCluster.String] is the canonical form used in logs and
// registrations: every name=url pair, sorted as strings, joined with commas.
// [InitialCluster.DuplicateURL] finds a URL listed twice anywhere in the map
// (under two names or twice under one), which a new cluster refuses.
//
// [InitialCluster.Members] builds the members with their IDs for a token:
// [peer.MemberID] of each name's URLs and the token (--initial-cluster-token
// for a static bootstrap and DNS SRV, the discovery URL itself for etcd
// discovery). The member name is not part of an ID; two names with the same
// URLs would get the same ID and are refused.
//
// # etcd discovery
//
// A discovery URL names a directory in any etcd v2 keys API, the registry:
// its scheme and host say where, its path which directory, for example
// http://localhost:2379/v2/keys/_etcd/registry/mytoken. Someone creates
// <dir>/_config/size first, holding the cluster's size. Each member then
// registers as <dir>/<its ID in hex> with its canonical initial-cluster
// string as value; the first size registrations in creation order
// (createdIndex) are the cluster. Our own server works as a registry.
//
// [JoinCluster] is a new member's side:
//
//  1. read the size and list the directory (leaving _config out); if size
//     members have registered already, fail with [ErrFullCluster] without
//     registering;
//  2. register with prevExist=false ([ErrDuplicateID] if the key exists:
//     this member registered before and lost its data directory), then
//     watch its own key until the registry shows it;
//  3. look again: a member that lost the race to the last places gets
//     [ErrFullCluster] too;
//  4. wait: log every member found so far ("found self <id> in the
//     cluster", "found peer <id> in the cluster", "found N peer(s), waiting
//     for M more"), then watch the directory recursively from the listing's
//     index and count every new registration until size are known ("found N
//     needed peer(s)"). Only values written to new children of the
//     directory count: a changed size, a deeper key, a deletion or an
//     expiry does not;
//  5. join the values with commas and parse them as an initial cluster:
//     [ErrInvalidURL] if that fails, [ErrDuplicateName] if it names fewer
//     than size members.
//
// [GetCluster] is a proxy's side: the same without registering, taking the
// first size registrations at once when the cluster is full.
//
// The other errors: [ErrSizeNotFound] (no _config/size), [ErrBadSizeKey]
// (not a number, or below 1), [ErrBadDiscoveryEndpoint] (an answer that is
// not the v2 keys API's), any other v2 error as a [*RegistryError] with
// etcd's text ("104: Not a directory (/_etcd/registry/x) [7]"), and
// [ErrTooManyRetries]. The etcd binary wraps them as "failed to join
// discovery cluster (<error>)". Where etcd 2.3 reports a missing size as
// the raw "100: Key not found" error (a bug, spec §4.2), we report the
// intended ErrSizeNotFound.
//
// Only an unavailable registry is retried: a network error, a request that
// timed out, or a 5xx answer. Retry i waits 2^i seconds (2 s, 4 s, 8 s...,
// one count for the whole run, no upper bound on the wait) after logging
// "error #0: <cause>" and "cluster status check: error connecting to <url>,
// retrying in 2s" (or "waiting for other nodes: ..." while watching); after
// 2^32-1 retries it gives up with ErrTooManyRetries. After a failed watch it
// lists the directory again and goes on waiting. So it does, without a
// retry, when the registry says its event history no longer reaches back to
// the watch's index (etcd 2.3 gave up there), and a watch that ends without
// an event is simply asked again. Every request but a watch has a 5 s
// timeout; watches wait as long as it takes, or until the context ends.
//
// [Config.Proxy] (--discovery-proxy) sends the registry traffic through an
// HTTP proxy; [ParseProxyURL] reads it as etcd does (a value without an
// http scheme gets "http://" in front). Without it no proxy is used, even
// if HTTP_PROXY is set.
//
// # DNS SRV discovery
//
// [DNS.ServerCluster] builds a member's initial cluster from the SRV records
// _etcd-server-ssl._tcp.<domain> (https URLs) and _etcd-server._tcp.<domain>
// (http URLs), combined. Each record's target (without its trailing dot)
// and port make a URL. The record whose target resolves to the same ip:port
// as one of this member's advertised peer URLs is named after this member;
// every other one gets a made-up name, "0", "1", ..., counting across both
// lookups. The names do not matter: IDs come from URLs and the token, so
// every member derives the same cluster. A target that does not resolve is
// skipped with a warning; the lookup fails only when both services fail.
// A proxy passes no local URLs and takes every record.
//
// [DNS.ClientURLs] is etcdctl's side: _etcd-client-ssl._tcp.<domain> and
// _etcd-client._tcp.<domain>, combined, each target keeping its trailing
// dot, failing only when both fail ("dns lookup errors: <e1> and <e2>").
//
// Every lookup goes through [DNS.Resolver], a *net.Resolver. As a testing
// aid, not an etcd 2.3 setting, the environment variable V2ETCD_DNS_SERVER
// ([DNSServerEnv]) = host:port makes the etcd and etcdctl binaries use
// [NewResolver] of that address: Go's resolver sending every query to that
// server (after /etc/hosts). Package dnstest is such a server, for tests: it
// answers SRV, A and AAAA questions from a table over UDP on loopback, so
// the tests run the real lookup code.
//
// # Logging
//
// Progress lines go to the [Config.Logger] and [DNS.Logger] given, with
// etcd's texts and levels: the "found ..." and "got bootstrap from DNS ..."
// lines at [LevelNotice] (between slog's INFO and WARN, where etcd's NOTICE
// is), retries at INFO, their causes at ERROR.
package discover
