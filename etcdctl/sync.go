package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// connect builds the cluster client and, unless --no-sync is given, syncs
// it: it asks the cluster for its members and from then on uses their
// client URLs. Every failure is returned as an *exitError carrying
// etcdctl's text and exit code:
//
//   - client setup errors (endpoints, TLS files, password): the raw
//     message, exit 1;
//   - no member publishes a client URL: two hint lines, then
//     "Error:  client: no endpoints available", exit 4;
//   - every endpoint unreachable: the cluster error, exit 2;
//   - anything else: a second try through the peers API of etcd 0.4,
//     whose failure exits 2 when it could not connect and 4 otherwise.
func (a *app) connect(g *globalOptions) (*clusterClient, error) {
	c, err := a.newClusterClient(g)
	if err != nil {
		return nil, rawExit(exitBadArgs, err.Error()+"\n")
	}
	if !g.noSync {
		if err := a.syncClient(g, c); err != nil {
			return nil, err
		}
	}
	if g.debug {
		fmt.Fprintf(a.stderr, "Cluster-Endpoints: %s\n", strings.Join(c.endpointStrings(), ", "))
	}
	return c, nil
}

// syncClient runs the initial sync of connect.
func (a *app) syncClient(g *globalOptions, c *clusterClient) error {
	if g.debug {
		fmt.Fprintf(a.stderr, "start to sync cluster using endpoints(%s)\n", strings.Join(c.endpointStrings(), ","))
	}
	ctx, cancel := g.totalContext()
	err := c.sync(ctx)
	cancel()
	if err != nil {
		if err == errNoEndpoints {
			fmt.Fprintf(a.stderr, "etcd cluster has no published client endpoints.\n")
			fmt.Fprintf(a.stderr, "Try '--no-sync' if you want to access non-published client endpoints(%s).\n", strings.Join(c.endpointStrings(), ","))
			return errorExit(exitServerError, err)
		}
		if isConnectionError(err) {
			return errorExit(exitBadConnection, err)
		}
		eps, perr := a.syncWithPeersAPI(g, c.transport, c.endpointStrings())
		if perr != nil {
			if isConnectionError(perr) {
				return errorExit(exitBadConnection, perr)
			}
			return errorExit(exitServerError, perr)
		}
		if err := c.setEndpoints(eps); err != nil {
			return errorExit(exitServerError, err)
		}
	}
	if g.debug {
		fmt.Fprintf(a.stderr, "got endpoints(%s) after sync\n", strings.Join(c.endpointStrings(), ","))
	}
	return nil
}

// sync replaces the endpoints with the sorted client URLs of all members.
// When they are the same set as now, the list and the pinned endpoint are
// kept as they are.
func (c *clusterClient) sync(ctx context.Context) error {
	members, err := listMembers(ctx, c)
	if err != nil {
		return err
	}
	var eps []string
	for _, m := range members {
		eps = append(eps, m.ClientURLs...)
	}
	sort.Strings(eps)
	current := c.endpointStrings()
	sort.Strings(current)
	if len(eps) > 0 && slices.Equal(eps, current) {
		return nil
	}
	return c.setEndpoints(eps)
}

// syncWithPeersAPI asks the endpoints, one after the other, for
// GET /v2/peers, the member list of etcd 0.4 ("url1, url2"). It follows
// etcdctl 2.3 closely, including a quirk: when the last endpoint answers
// with a status other than 200 and no earlier one succeeded, it returns a
// single empty endpoint, and the command then fails on that.
//
// As in etcdctl 2.3, connecting is bounded only by the transport's dial
// timeout (the smaller of 30 s and --total-timeout), so a dial that times
// out is reported as the connection error it is, with exit code 2, even
// when the sync before used up --total-timeout. Unlike etcdctl 2.3, which
// could then wait for ever for an answer, it gives up --total-timeout
// after its first connection is made.
func (a *app) syncWithPeersAPI(g *globalOptions, tr http.RoundTripper, known []string) ([]string, error) {
	ctx, stop := deadlineAfterConnect(g.totalTimeout)
	defer stop()
	var body []byte
	var err error
	for _, p := range known {
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, p+"/v2/peers", nil)
		if err != nil {
			continue
		}
		var resp *http.Response
		resp, err = tr.RoundTrip(req)
		if err != nil {
			if ctx.Err() != nil {
				err = context.Cause(ctx)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			continue
		}
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				err = context.Cause(ctx)
			}
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(string(body), ", "), nil
}

// deadlineAfterConnect returns a context for HTTP requests that ends, with
// the cause context.DeadlineExceeded, d after the first connection a
// request carrying it gets; until then it does not end. stop releases it.
func deadlineAfterConnect(d time.Duration) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var mu sync.Mutex
	var timer *time.Timer
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) {
		mu.Lock()
		defer mu.Unlock()
		if timer == nil {
			timer = time.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
		}
	}}
	return httptrace.WithClientTrace(ctx, trace), func() {
		mu.Lock()
		defer mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
		cancel(nil)
	}
}
