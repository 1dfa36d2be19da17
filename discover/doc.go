// Package discover finds the members a new cluster starts with. So far it
// knows the static way, --initial-cluster; etcd discovery against a registry
// URL and DNS SRV discovery will join it.
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
// for a static bootstrap). The member name is not part of an ID; two names
// with the same URLs would get the same ID and are refused.
package discover
