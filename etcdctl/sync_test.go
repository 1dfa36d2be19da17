package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
)

func TestSyncUsesMembersClientURLs(t *testing.T) {
	target := newStub(t).on("GET /v2/keys/foo", keys(200, 4, getFooAnswer))
	asked := newStub(t).on("GET /v2/members", answer{status: 200, body: membersJSON(target.URL)})
	got := run(runOpts{}, ep(asked.URL, "--debug", "get", "foo")...)
	wantErr := fmt.Sprintf("start to sync cluster using endpoints(%[1]s)\n"+
		"cURL Command: curl -X GET %[1]s/v2/members\n"+
		"got endpoints(%[2]s) after sync\n"+
		"Cluster-Endpoints: %[2]s\n"+
		"cURL Command: curl -X GET %[2]s/v2/keys/foo?quorum=false&recursive=false&sorted=false\n", asked.URL, target.URL)
	check(t, got, "bar\n", wantErr, 0)
	if reqs := asked.keyRequests(); len(reqs) != 0 {
		t.Errorf("the endpoint given got key requests %q after the sync", reqs)
	}
}

func TestSyncSortsAndKeepsUnchangedEndpoints(t *testing.T) {
	s := newStub(t).on("GET /v2/keys/foo", keys(200, 4, getFooAnswer))
	dead := closedURL(t)
	// The members publish the same two URLs as given, in another order:
	// the list is kept, and so is the endpoint pinned during the sync.
	s.on("GET /v2/members", answer{status: 200, body: membersJSON(s.URL, dead)})
	got := run(runOpts{}, ep(dead+","+s.URL, "--debug", "get", "foo")...)
	wantErr := fmt.Sprintf("start to sync cluster using endpoints(%[1]s,%[2]s)\n"+
		"cURL Command: curl -X GET %[1]s/v2/members\n"+
		"cURL Command: curl -X GET %[2]s/v2/members\n"+
		"got endpoints(%[1]s,%[2]s) after sync\n"+
		"Cluster-Endpoints: %[1]s, %[2]s\n"+
		"cURL Command: curl -X GET %[2]s/v2/keys/foo?quorum=false&recursive=false&sorted=false\n", dead, s.URL)
	check(t, got, "bar\n", wantErr, 0)
}

func TestSyncUnreachable(t *testing.T) {
	a, b := closedURL(t), closedURL(t)
	got := run(runOpts{}, ep(a+","+b, "set", "k", "v")...)
	want := "Error:  client: etcd cluster is unavailable or misconfigured\n" +
		"error #0: dial tcp " + hostPort(a) + ": connect: connection refused\n" +
		"error #1: dial tcp " + hostPort(b) + ": connect: connection refused\n\n"
	check(t, got, "", want, exitBadConnection)
	// The connection failure comes before the argument check, as in etcdctl.
	check(t, run(runOpts{}, ep(a, "set")...), "", "Error:  client: etcd cluster is unavailable or misconfigured\n"+
		"error #0: dial tcp "+hostPort(a)+": connect: connection refused\n\n", exitBadConnection)
}

func TestSyncPeersFallbackGivesUp(t *testing.T) {
	// etcdctl 2.3 would wait for ever on a /v2/peers that never answers;
	// this one stops after --total-timeout.
	s := newStub(t).on("GET /v2/members", hang()).on("GET /v2/peers", hang())
	got := run(runOpts{}, ep(s.URL, "--timeout", "0", "--total-timeout", "20ms", "get", "foo")...)
	check(t, got, "", "Error:  context deadline exceeded\n", exitServerError)
	if !slices.Equal(s.got(), []string{"GET /v2/members", "GET /v2/peers"}) {
		t.Errorf("requests %q", s.got())
	}
}

func TestSyncPeersFallbackDialTimeout(t *testing.T) {
	// A --total-timeout too short to connect ends the sync with the
	// context's error; the fallback then dials with the dial timeout
	// (min(30 s, --total-timeout)) and not under the spent deadline, so
	// the failure is the dial's own, a connection error: exit code 2, as
	// etcdctl 2.3.8 has it.
	s := newStub(t)
	got := run(runOpts{}, ep(s.URL, "--total-timeout", "1ns", "get", "foo")...)
	check(t, got, "", "Error:  dial tcp "+hostPort(s.URL)+": i/o timeout\n", exitBadConnection)
	if reqs := s.got(); len(reqs) != 0 {
		t.Errorf("requests %q reached the server", reqs)
	}
}

func TestSyncHeaderTimeoutFallsBackToPeers(t *testing.T) {
	target := newStub(t).on("GET /v2/keys/foo", keys(200, 4, getFooAnswer))
	s := newStub(t).on("GET /v2/members", hang()).on("GET /v2/peers", answer{status: 200, body: target.URL})
	// The timeout applies to every request, the answered ones too: it is
	// long enough that only the hanging one can exceed it on a busy machine.
	got := run(runOpts{}, ep(s.URL, "--timeout", "1s", "get", "foo")...)
	check(t, got, "bar\n", "", 0)
}

func TestIsConnectionError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		err  error
		want bool
	}{
		{refused, true},
		{&net.OpError{Op: "read", Err: errors.New("reset")}, true},
		{&net.OpError{Op: "write", Err: syscall.ETIMEDOUT}, true},
		{&net.OpError{Op: "write", Err: errors.New("broken pipe")}, false},
		{&net.DNSError{Err: "timeout", IsTimeout: true}, true},
		{&net.DNSError{Err: "no such host"}, false},
		{syscall.ECONNREFUSED, false}, // a net.Error that is no timeout, as in etcdctl
		{syscall.ECONNRESET, false},
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{errors.New("unsupported protocol scheme"), false},
		{keysError{Code: 100}, false},
		{&clusterError{errs: []error{refused, refused}}, true},
		{&clusterError{errs: []error{refused, errors.New("client: etcd member x has no leader")}}, false},
	}
	for _, tt := range tests {
		if got := isConnectionError(tt.err); got != tt.want {
			t.Errorf("isConnectionError(%#v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
