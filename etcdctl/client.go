package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// request describes one API call independently of the endpoint it is sent
// to, so that the cluster client can try it on each endpoint in turn.
type request struct {
	method      string
	url         func(ep url.URL) *url.URL // where the call goes on endpoint ep
	body        *string                   // nil: no body at all
	contentType string
	wait        bool // a watch: no header timeout
}

// httpRequest builds the HTTP request for one endpoint. The URL goes
// through its string form, as etcd's client does it, so that keys are
// escaped the same way.
func (r *request) httpRequest(ctx context.Context, u *url.URL) (*http.Request, error) {
	var body io.Reader
	if r.body != nil {
		body = strings.NewReader(*r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	return req, nil
}

// apiURL returns a function that places p (such as "/v2/members") under an
// endpoint's own path, cleaning the result.
func apiURL(p ...string) func(ep url.URL) *url.URL {
	return func(ep url.URL) *url.URL {
		ep.Path = path.Join(append([]string{ep.Path}, p...)...)
		return &ep
	}
}

// errHeaderTimeout cancels a request whose response headers did not come
// within --timeout.
var errHeaderTimeout = errors.New("header timeout")

// clusterClient sends API calls to an etcd cluster as etcd 2.3's Go client
// does: it starts from the pinned endpoint and moves on to the next one on
// a connection error or a 5xx answer; the first endpoint that answers
// becomes the pinned one. It is safe for concurrent use.
type clusterClient struct {
	transport     http.RoundTripper
	headerTimeout time.Duration
	username      string
	password      string
	hasAuth       bool
	debug         io.Writer // where curl command lines go; nil when off
	shuffle       func([]url.URL)

	mu        sync.Mutex
	endpoints []url.URL
	pinned    int
}

// setEndpoints replaces the endpoint list. The endpoints are shuffled and
// the first one is pinned.
func (c *clusterClient) setEndpoints(eps []string) error {
	if len(eps) == 0 {
		return errNoEndpoints
	}
	urls := make([]url.URL, len(eps))
	for i, ep := range eps {
		u, err := url.Parse(ep)
		if err != nil {
			return err
		}
		urls[i] = *u
	}
	c.shuffle(urls)
	c.mu.Lock()
	c.endpoints, c.pinned = urls, 0
	c.mu.Unlock()
	return nil
}

// endpointStrings returns the endpoints in the order they are tried from
// the start of the list.
func (c *clusterClient) endpointStrings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.endpoints))
	for i, ep := range c.endpoints {
		out[i] = ep.String()
	}
	return out
}

// do sends r to the cluster and returns the first answer that is not a
// server error (5xx), with its body read in full. If every endpoint fails
// it returns a *clusterError. Running out of ctx ends it at once with the
// context's error.
func (c *clusterClient) do(ctx context.Context, r *request) (*http.Response, []byte, error) {
	c.mu.Lock()
	eps := append([]url.URL(nil), c.endpoints...)
	pinned := c.pinned
	c.mu.Unlock()
	if len(eps) == 0 {
		return nil, nil, errNoEndpoints
	}
	cerr := &clusterError{}
	for i := pinned; i < pinned+len(eps); i++ {
		k := i % len(eps)
		resp, body, err := c.doEndpoint(ctx, eps[k], r)
		if err != nil {
			if err == context.DeadlineExceeded || err == context.Canceled {
				return nil, nil, err
			}
			cerr.errs = append(cerr.errs, err)
			continue
		}
		if resp.StatusCode/100 == 5 {
			switch resp.StatusCode {
			case http.StatusInternalServerError, http.StatusServiceUnavailable:
				cerr.errs = append(cerr.errs, fmt.Errorf("client: etcd member %s has no leader", eps[k].String()))
			default:
				cerr.errs = append(cerr.errs, fmt.Errorf("client: etcd member %s returns server error [%s]", eps[k].String(), http.StatusText(resp.StatusCode)))
			}
			continue
		}
		if k != pinned {
			c.mu.Lock()
			c.pinned = k
			c.mu.Unlock()
		}
		return resp, body, nil
	}
	return nil, nil, cerr
}

// doEndpoint sends r to one endpoint, following redirects (at most 10).
func (c *clusterClient) doEndpoint(ctx context.Context, ep url.URL, r *request) (*http.Response, []byte, error) {
	u := r.url(ep)
	for redirects := 0; ; redirects++ {
		if redirects > 10 {
			return nil, nil, errTooManyRedirects
		}
		resp, body, err := c.roundTrip(ctx, ep, r, u)
		if err != nil {
			return nil, nil, err
		}
		if resp.StatusCode/100 != 3 {
			return resp, body, nil
		}
		loc := resp.Header.Get("Location")
		if loc == "" {
			return nil, nil, errors.New("Location header not set")
		}
		next, err := url.Parse(loc)
		if err != nil {
			return nil, nil, fmt.Errorf("Location header not valid URL: %s", loc)
		}
		u = u.ResolveReference(next)
	}
}

// roundTrip makes one HTTP exchange. Unless the request is a watch, the
// response headers must arrive within the header timeout; the body is then
// read under ctx alone.
func (c *clusterClient) roundTrip(ctx context.Context, ep url.URL, r *request, u *url.URL) (*http.Response, []byte, error) {
	hctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := r.httpRequest(hctx, u)
	if err != nil {
		return nil, nil, err
	}
	if c.hasAuth {
		req.SetBasicAuth(c.username, c.password)
	}
	c.printCurl(req.Method, req.URL.String(), r.body)

	var timer *time.Timer
	start := time.Now()
	if !r.wait && c.headerTimeout > 0 {
		timer = time.AfterFunc(c.headerTimeout, func() { cancel(errHeaderTimeout) })
	}
	resp, err := c.transport.RoundTrip(req)
	if timer != nil {
		timer.Stop()
		// An exchange that failed only after its time was up counts as
		// timed out, whatever the timer's goroutine managed to do; etcd's
		// client sees it the same way.
		if err != nil && time.Since(start) >= c.headerTimeout {
			cancel(errHeaderTimeout)
		}
	}
	if err != nil {
		return nil, nil, c.requestError(ctx, hctx, ep, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, c.requestError(ctx, hctx, ep, err)
	}
	return resp, body, nil
}

// requestError picks the error to report for a failed exchange: the
// command's own deadline first, then the header timeout, then the error
// itself.
func (c *clusterClient) requestError(ctx, hctx context.Context, ep url.URL, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if context.Cause(hctx) == errHeaderTimeout {
		return fmt.Errorf("client: endpoint %s exceeded header timeout", ep.String())
	}
	return err
}

// printCurl writes the request as a curl command line when --debug is on.
func (c *clusterClient) printCurl(method, u string, body *string) {
	if c.debug == nil {
		return
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "cURL Command: curl -X %s %s", method, u)
	if body != nil {
		fmt.Fprintf(&b, " -d %q", *body)
	}
	b.WriteByte('\n')
	c.debug.Write(b.Bytes())
}

// newClusterClient builds a client from the global options: the endpoints,
// the transport with its TLS files, and the credentials of --username
// (asking for the password when it is left out). It does not sync. Its
// errors are client setup errors, which etcdctl prints as they are.
func (a *app) newClusterClient(g *globalOptions) (*clusterClient, error) {
	eps, err := a.endpointList(g)
	if err != nil {
		return nil, err
	}
	tr, err := a.newTransport(g)
	if err != nil {
		return nil, err
	}
	c := &clusterClient{
		transport:     tr,
		headerTimeout: g.timeout,
		shuffle:       a.shuffle,
	}
	if g.username != "" {
		user, pass, ok := strings.Cut(g.username, ":")
		if !ok {
			pass, err = a.readPassword("Password: ")
			if err != nil {
				return nil, err
			}
		}
		c.username, c.password, c.hasAuth = user, pass, true
	}
	if err := c.setEndpoints(eps); err != nil {
		return nil, err
	}
	if g.debug {
		c.debug = a.stderr
	}
	return c, nil
}
