package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Exit codes, as etcdctl 2.3 uses them (its code, not its README).
const (
	exitSuccess           = 0
	exitBadArgs           = 1 // wrong arguments, client setup errors, member command failures
	exitBadConnection     = 2 // the initial sync could not reach the cluster
	exitBadAuth           = 3 // defined by etcdctl, never used
	exitServerError       = 4 // any key-command failure after the sync
	exitClusterNotHealthy = 5 // cluster-health found no healthy member
)

// Errors of the HTTP client, worded as etcd's Go client words them.
var (
	errNoEndpoints      = errors.New("client: no endpoints available")
	errEmptyBody        = errors.New("client: response body is empty")
	errInvalidJSON      = errors.New("client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint.")
	errTooManyRedirects = errors.New("too many redirects")
)

// exitError ends a command: text is written to stderr exactly as it is,
// and code is the process's exit code.
type exitError struct {
	code int
	text string
}

func (e *exitError) Error() string { return e.text }

// errorExit builds etcdctl's usual failure: "Error:  <err>" (two spaces),
// followed, for a cluster error, by one "error #i: ..." line per endpoint
// and a blank line.
func errorExit(code int, err error) *exitError {
	text := "Error:  " + err.Error() + "\n"
	if ce, ok := err.(*clusterError); ok {
		text += ce.detail() + "\n"
	}
	return &exitError{code: code, text: text}
}

// rawExit builds a failure whose message is printed as it is, with no
// "Error:" prefix (and no newline unless text has one).
func rawExit(code int, text string) *exitError {
	return &exitError{code: code, text: text}
}

// clusterError is returned when every endpoint failed. It keeps each
// endpoint's error for the detail lines.
type clusterError struct {
	errs []error
}

func (e *clusterError) Error() string {
	return "client: etcd cluster is unavailable or misconfigured"
}

// detail returns one "error #i: <err>" line per endpoint tried.
func (e *clusterError) detail() string {
	var b strings.Builder
	for i, err := range e.errs {
		fmt.Fprintf(&b, "error #%d: %s\n", i, err)
	}
	return b.String()
}

// keysError is a v2 key-space error, as the server sends it in the body of
// a failed /v2/keys request.
type keysError struct {
	Code    int    `json:"errorCode"`
	Message string `json:"message"`
	Cause   string `json:"cause"`
	Index   uint64 `json:"index"`
}

func (e keysError) Error() string {
	return fmt.Sprintf("%v: %v (%v) [%v]", e.Code, e.Message, e.Cause, e.Index)
}

// membersError is the {"message": ...} body of a failed members request.
type membersError struct {
	Message string `json:"message"`
}

func (e membersError) Error() string { return e.Message }

// isConnectionError reports whether err means the cluster could not be
// reached at all: a failed dial (refused, unreachable), a failed read, a
// network timeout; for a cluster error, whether that holds for every endpoint.
// It decides between exit code 2 and the fallback to the old peers API
// after a failed sync. Running out of --total-timeout does not count:
// etcdctl 2.3 treats it as any other error.
func isConnectionError(err error) bool {
	if err == context.DeadlineExceeded || err == context.Canceled {
		return false
	}
	switch t := err.(type) {
	case *clusterError:
		for _, e := range t.errs {
			if !isConnectionError(e) {
				return false
			}
		}
		return true
	case *net.OpError:
		if t.Op == "dial" || t.Op == "read" {
			return true
		}
		return isConnectionError(t.Err)
	case net.Error:
		// This includes a bare syscall.Errno such as ECONNREFUSED: it is
		// a net.Error that is not a timeout. (etcdctl's own check for
		// ECONNREFUSED comes after this case and is never reached.)
		return t.Timeout()
	}
	return false
}
