// Command etcdctl is the command-line client of the etcd v2 API. It
// behaves as etcd 2.3.8's etcdctl does: the same commands, options,
// environment variables, output (byte for byte in the simple, extended and
// json formats) and exit codes, so scripts written for it keep working.
//
// # Usage
//
//	etcdctl [global options] command [command options] [arguments...]
//
// Global options come before the command. Command options may come before
// or after the positional arguments: everything from the first argument
// that starts with "-" up to "--" is taken as options, so a value that
// starts with "-" needs "--" in front, as in "etcdctl set -- /k -v".
//
// Commands:
//
//	set, mk, mkdir, setdir, update, updatedir   write keys and directories
//	get, ls                                     read them
//	rm, rmdir                                   remove them
//	watch, exec-watch                           follow their changes
//	member list|add|remove|update               change the membership
//	cluster-health [--forever]                  ask every member /health
//	check perf                                  measure write performance
//	backup --data-dir D --backup-dir B          copy a member's data for a new cluster
//
// backup reads the WAL without its lock (wal.ReadOnly), so the member may
// be running; the copy gets new random member and cluster IDs, and etcd
// --force-new-cluster starts a one-member cluster from it. It is the one
// command that imports the project's packages (wal, raft); --discovery-srv
// uses discover for its DNS lookups. Not here: the user, role and auth
// commands (the server has no auth).
//
// --discovery-srv (-D, ETCDCTL_DISCOVERY_SRV) takes the endpoints from the
// domain's SRV records, _etcd-client-ssl._tcp (https) and _etcd-client._tcp
// (http) combined, each target keeping its trailing dot; they replace every
// endpoint option (srv.go, package discover). As a testing aid, not an
// etcdctl 2.3 setting, the environment variable V2ETCD_DNS_SERVER=host:port
// sends these lookups, and the lookups of the endpoints' host names, to
// that DNS server instead of the system's resolvers.
//
// # How a command runs
//
// main.go parses the global options (options.go) and finds the command in
// the table of commands; command.go holds the small framework: options as
// data, etcdctl's rule for moving options in front of positionals, and
// per-command flag sets. help.go prints the help of etcdctl and of each
// command.
//
// A command that talks to the cluster first builds a clusterClient
// (client.go): the endpoints come from --endpoints, ETCDCTL_ENDPOINTS,
// --endpoint, ETCDCTL_ENDPOINT, --peers, ETCDCTL_PEERS, in that order, or
// the default http://127.0.0.1:2379,http://127.0.0.1:4001; they are
// shuffled and the first one is pinned. The transport (tls.go) dials with
// a timeout of min(30 s, --total-timeout) and uses the TLS files of
// --cert-file, --key-file and --ca-file. With --username user (no
// password) the password is read with echo off (password.go and the
// term_*.go files, standard library only).
//
// Unless --no-sync is given, the client then syncs (sync.go): it lists the
// members through GET /v2/members and from then on uses their client URLs.
// The sync's failures have their own messages and exit codes: 2 when no
// endpoint could be reached, 4 otherwise; after any failure that is not a
// connection failure it tries etcd 0.4's GET /v2/peers as etcdctl does.
//
// Each request starts at the pinned endpoint and moves on to the next one
// on a connection error or a 5xx answer; the endpoint that answers becomes
// the pinned one. When all fail, the error is
//
//	Error:  client: etcd cluster is unavailable or misconfigured
//	error #0: <what happened on the first endpoint tried>
//	error #1: ...
//
// --timeout bounds the wait for each response's headers (not for watches),
// --total-timeout each step of a command (the sync, then the request).
// --debug prints every request as a curl command line on stderr.
//
// # Results and errors
//
// keysapi.go builds the /v2/keys requests exactly as etcd's Go client does
// (query parameters, form fields, path escaping) and decodes the answers;
// format.go prints them (simple, extended, json). A v2 error is printed as
//
//	Error:  100: Key not found (/foo) [12]
//
// on stderr. Exit codes: 0 success (also Ctrl-C in watch, exec-watch and
// cluster-health --forever); 1 bad arguments, client setup errors, member
// command failures, get on a directory; 2 the sync could not connect; 4 a
// key command failed after the sync; 5 cluster-health found no healthy
// member, or check perf failed.
//
// Where this etcdctl deliberately differs from etcdctl 2.3.8:
//
//   - an unknown command or option, or a bad option value, prints one
//     "Error:" line and exits 1, where etcdctl 2.3.8 prints "Incorrect
//     Usage." with the whole help (or "No help topic") and exits 0;
//   - exec-watch with an empty command fails at once with "key and command
//     to exec required" instead of crashing at the first event;
//   - the fallback to the 0.4 peers API gives up --total-timeout after
//     it connects instead of waiting for ever for an answer (connecting
//     is bounded by the dial timeout alone, as in etcdctl 2.3.8);
//   - a member list that is not valid JSON is reported with Go's decoding
//     error, which names our types instead of etcd's client.Member;
//   - the help texts are worded anew.
//
// # Other commands
//
// watch.go holds watch and exec-watch (including exec-watch's --after-index
// off-by-one, which starts at N+2), member.go the member commands and the
// members API, health.go cluster-health, perf.go and progress.go check
// perf: a paced write load of unique keys (loads s, m, l, xl as in etcd 3,
// or --clients, --rate, --size, --total, --duration), a progress bar on a
// terminal or plain lines otherwise, then throughput, latency percentiles
// and PASS or FAIL (exit 0 or 5); its keys are removed at the end, also
// after Ctrl-C (exit 130).
//
// # Tests
//
// The tests run etcdctl in-process (app.run) against stub servers on
// loopback. golden_data_test.go holds runs of the real etcdctl 2.3.8
// recorded against the same canned answers (which are a real etcd
// 2.3.8's): stdout, stderr, exit code and the requests sent must match
// byte for byte. Other tests cover failover and pinning, the sync and its
// fallbacks, timeouts (a fake clock where the absence of a timeout is
// checked), TLS with generated certificates, exec-watch (the test binary
// stands in for the command), check perf, help and bad usage.
//
// The whole-binary tests in ../e2e/etcdctl_test.go run the built etcdctl
// against real members of the project's etcd: every key command in the
// three output formats, watch and exec-watch, the sync, the ETCDCTL_*
// variables, the member commands, cluster-health and failover with members
// down, timeouts against a member without quorum, TLS and bad input.
package main
