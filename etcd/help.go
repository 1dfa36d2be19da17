package main

// usageText is printed (to stdout) for -h and after a flag error.
const usageText = `usage: etcd [flags]
       starts an etcd server

       etcd --version
       prints the version of etcd and exits

       etcd -h | --help
       prints this help and exits

`

// helpText follows usageText for -h and --help. Every flag can also be set
// through the environment as ETCD_<NAME> (upper case, '-' as '_'); a flag on
// the command line wins over its variable.
const helpText = `Every flag can also be given as an environment variable: ETCD_ and the flag
name in upper case with '-' as '_' (--initial-cluster-token is
ETCD_INITIAL_CLUSTER_TOKEN). The command line wins over the environment, and
an empty variable counts as unset. Times are in milliseconds.

member flags:

	--name 'default'
		name of this member, as listed in --initial-cluster.
	--data-dir '${name}.etcd'
		directory for the member's data.
	--wal-dir ''
		separate directory for the write-ahead log (default: <data-dir>/member/wal).
	--snapshot-count '10000'
		number of applied entries between two snapshots (0 means 10000).
	--heartbeat-interval '100'
		raft heartbeat interval, in milliseconds.
	--election-timeout '1000'
		raft election timeout, in milliseconds; at least 5 heartbeats, at most 50000.
	--listen-peer-urls 'http://localhost:2380'
		comma-separated URLs to listen on for traffic from other members.
	--listen-client-urls 'http://localhost:2379'
		comma-separated URLs to listen on for client requests.
	--max-snapshots '5'
		number of snapshot files to keep (0 keeps all).
	--max-wals '5'
		number of write-ahead log files to keep (0 keeps all).
	--cors ''
		comma-separated origins allowed to make cross-origin requests ('*' for any).

clustering flags:

	--initial-advertise-peer-urls 'http://localhost:2380'
		comma-separated peer URLs of this member, as the other members reach it.
	--initial-cluster 'default=http://localhost:2380'
		the members of a new cluster, as comma-separated name=peer-URL items.
	--initial-cluster-state 'new'
		'new' to create a cluster, 'existing' to join a running one.
	--initial-cluster-token 'etcd-cluster'
		token of a new cluster; it is part of every member and cluster ID, so
		clusters bootstrapped with different tokens never mix.
	--advertise-client-urls 'http://localhost:2379'
		comma-separated client URLs of this member, as published to the cluster
		and to clients; required when --listen-client-urls is set.
	--discovery ''
		discovery URL to bootstrap the cluster from.
	--discovery-fallback 'proxy'
		what to do when discovery finds the cluster full: 'exit' or 'proxy'.
	--discovery-proxy ''
		HTTP proxy for requests to the discovery service.
	--discovery-srv ''
		DNS domain whose SRV records list the cluster's members.
		A testing aid, not an etcd setting: the environment variable
		V2ETCD_DNS_SERVER=host:port sends these DNS lookups to that server
		instead of the system's resolvers.
		Another testing aid, for the write-ahead log: V2ETCD_WAL_SYNC_LOG=file
		makes a member append a line "<segment path> <offset>" to file after
		each fsync of its WAL (the fault tests cut a killed member's WAL past it).
	--strict-reconfig-check 'false'
		refuse membership changes that would leave the cluster without a quorum of
		started members.

proxy flags:

	--proxy 'off'
		run as a proxy: 'off', 'readonly' or 'on'.
	--proxy-failure-wait '5000'
		milliseconds a failed member stays out of the proxy's rotation.
	--proxy-refresh-interval '30000'
		milliseconds between two refreshes of the proxy's member list.
	--proxy-dial-timeout '1000'
		milliseconds to connect to a member (0: no limit).
	--proxy-write-timeout '5000'
		milliseconds to write to a member (0: no limit).
	--proxy-read-timeout '0'
		milliseconds to read from a member (0: no limit; keep 0 when clients watch).

security flags:

	--cert-file ''
		certificate for the client listeners (with --key-file).
	--key-file ''
		private key for the client listeners (with --cert-file).
	--client-cert-auth 'false'
		require client certificates signed by --trusted-ca-file.
	--trusted-ca-file ''
		CA bundle to check client certificates against.
	--ca-file '' [DEPRECATED]
		same as --trusted-ca-file <file> --client-cert-auth.
	--peer-cert-file ''
		certificate for peer traffic, listening and connecting (with --peer-key-file).
	--peer-key-file ''
		private key for peer traffic (with --peer-cert-file).
	--peer-client-cert-auth 'false'
		require peer certificates signed by --peer-trusted-ca-file.
	--peer-trusted-ca-file ''
		CA bundle to check peer certificates against.
	--peer-ca-file '' [DEPRECATED]
		same as --peer-trusted-ca-file <file> --peer-client-cert-auth.

logging flags:

	--debug 'false'
		log at DEBUG level instead of INFO.
	--log-package-levels ''
		levels per package, as pkg=LEVEL,pkg2=LEVEL ('*' for every package), for
		example 'etcdserver=DEBUG,*=WARNING'. Levels: CRITICAL, ERROR, WARNING,
		NOTICE, INFO, DEBUG, TRACE, or their first letters.

unsafe flags:

These break the guarantees of the consensus protocol. Use them only to recover.

	--force-new-cluster 'false'
		restart the member from its data as a new one-member cluster.

experimental flags:

	--experimental-v3demo 'false'
		enable the experimental v3 demo API (cannot be turned off again).
	--experimental-gRPC-addr '127.0.0.1:2378'
		address for the experimental v3 demo's gRPC API.
	--experimental-auto-compaction-retention '0'
		hours of history the v3 demo keeps (0: no automatic compaction).

profiling flags:

	--enable-pprof 'false'
		serve Go runtime profiles under <client URL>/debug/pprof.

deprecated flags (etcd 0.4):

	-addr ''
		ip:port to advertise to clients; same as --advertise-client-urls with one URL.
	-bind-addr ''
		ip:port to listen on for clients; same as --listen-client-urls with one URL
		(default: [::] and the port of -addr).
	-peer-addr ''
		ip:port to advertise to peers; same as --initial-advertise-peer-urls with one URL.
	-peer-bind-addr ''
		ip:port to listen on for peers; same as --listen-peer-urls with one URL
		(default: [::] and the port of -peer-addr).
	These take a literal IP, use https when the matching certificate or key is
	given, and cannot be combined with the flag they stand for. -peers and
	-peers-file are refused. -cluster-active-size, -cluster-remove-delay,
	-cluster-sync-interval, -config, -force, -max-result-buffer,
	-max-retry-attempts, -peer-heartbeat-interval, -peer-election-timeout,
	-retry-interval, -snapshot, -v and -vv are accepted and ignored, with a warning.
`
