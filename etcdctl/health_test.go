package main

import (
	"os"
	"testing"
)

func TestClusterHealthForever(t *testing.T) {
	intr := make(chan os.Signal, 1)
	s := newStub(t).on("GET /health", answer{status: 200, body: `{"health": "true"}`}, interruptOn(intr))
	got := run(runOpts{interrupt: intr}, ep(s.URL, "cluster-health", "--forever")...)
	want := "member a0 is healthy: got healthy result from " + s.URL + "\n" +
		"cluster is healthy\n" +
		"\nnext check after 0 second...\n\n"
	check(t, got, want, "", 0)
	// The member list is fetched once, without a sync.
	if reqs := s.got(); len(reqs) != 3 || reqs[0] != "GET /v2/members" || reqs[1] != "GET /health" {
		t.Errorf("requests %q", reqs)
	}
}

func TestClusterHealthUnreachableMember(t *testing.T) {
	dead := closedURL(t)
	s := newStub(t).on("GET /v2/members", answer{status: 200, body: membersJSON(dead)})
	got := run(runOpts{}, ep(s.URL, "cluster-health")...)
	want := "failed to check the health of member a0 on " + dead + ": Get \"" + dead + "/health\": dial tcp " + hostPort(dead) + ": connect: connection refused\n" +
		"member a0 is unreachable: [" + dead + "] are all unreachable\n" +
		"cluster is unhealthy\n"
	check(t, got, want, "", exitClusterNotHealthy)
}

func TestClusterHealthSetupErrors(t *testing.T) {
	// A TLS file error is reported with "Error:" and exit 4 here, unlike
	// the other commands (as in etcdctl).
	check(t, run(runOpts{}, "--ca-file", "/nonexistent/ca.pem", "cluster-health"), "",
		"Error:  open /nonexistent/ca.pem: no such file or directory\n", exitServerError)
	check(t, run(runOpts{}, "--endpoints", "127.0.0.1:1", "cluster-health"), "",
		"parse \"127.0.0.1:1\": first path segment in URL cannot contain colon\n", exitBadArgs)
	dead := closedURL(t)
	check(t, run(runOpts{}, ep(dead, "cluster-health")...), "cluster may be unhealthy: failed to list members\n",
		"Error:  client: etcd cluster is unavailable or misconfigured\nerror #0: dial tcp "+hostPort(dead)+": connect: connection refused\n\n", exitServerError)
}
