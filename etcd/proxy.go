package main

// Proxy mode (spec §7): the client API of a cluster, forwarded to its
// members. This file is the forwarding: the director that keeps the
// members' client URLs (the endpoints) and which of them failed, and the
// HTTP handler. proxy_start.go finds the cluster and keeps the endpoints
// fresh.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"v2etcd/httpd"
)

// director keeps the proxy's endpoints: the members' client URLs, in the
// random order of the last refresh, each usable or marked failed for a
// while. It is safe for concurrent use.
type director struct {
	failureWait time.Duration
	now         func() time.Time
	shuffle     func([]*endpoint)
	log         *slog.Logger

	mu    sync.Mutex
	eps   []*endpoint
	found bool // the first endpoints were logged
}

// endpoint is one member client URL.
type endpoint struct {
	url url.URL
	// failedUntil is when a failed endpoint may be tried again; zero while
	// it has not failed.
	failedUntil time.Time
}

func newDirector(failureWait time.Duration, log *slog.Logger) *director {
	return &director{
		failureWait: failureWait,
		now:         time.Now,
		shuffle: func(eps []*endpoint) {
			rand.Shuffle(len(eps), func(i, j int) { eps[i], eps[j] = eps[j], eps[i] })
		},
		log: log,
	}
}

// set replaces the endpoints with urls (client URLs; one that does not
// parse is logged and left out), shuffled so that proxies spread their
// load. An endpoint that is still marked failed stays marked.
func (d *director) set(urls []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	failed := map[string]time.Time{}
	for _, ep := range d.eps {
		failed[ep.url.String()] = ep.failedUntil
	}
	var eps []*endpoint
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			d.log.Warn(fmt.Sprintf("upstream URL invalid: %q", s))
			continue
		}
		eps = append(eps, &endpoint{url: *u, failedUntil: failed[u.String()]})
	}
	d.shuffle(eps)
	d.eps = eps
	if !d.found && len(eps) > 0 {
		d.found = true
		names := make([]string, len(eps))
		for i, ep := range eps {
			names[i] = ep.url.String()
		}
		d.log.Info(fmt.Sprintf("endpoints found %q", names))
	}
}

// available returns the endpoints that may be tried now, in order. An
// endpoint whose failure wait has passed is usable again (and logged so).
func (d *director) available() []url.URL {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	var out []url.URL
	for _, ep := range d.eps {
		if !ep.failedUntil.IsZero() {
			if now.Before(ep.failedUntil) {
				continue
			}
			ep.failedUntil = time.Time{}
			d.log.Info(fmt.Sprintf("marked endpoint %s available, to retest connectivity", ep.url.String()))
		}
		out = append(out, ep.url)
	}
	return out
}

// failed marks the endpoint u unusable for the failure wait.
func (d *director) failed(u url.URL) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ep := range d.eps {
		if ep.url == u && ep.failedUntil.IsZero() {
			ep.failedUntil = d.now().Add(d.failureWait)
			d.log.Info(fmt.Sprintf("marked endpoint %s unavailable", u.String()))
		}
	}
}

// proxyMetrics are the proxy's /metrics families, named as etcd's.
type proxyMetrics struct {
	reg      *httpd.Registry
	handled  *httpd.CounterVec
	dropped  *httpd.CounterVec
	duration *httpd.HistogramVec
}

// The proxying_error label values of etcd_proxy_dropped_total.
const (
	dropZeroEndpoints   = "zero_endpoints"
	dropSendingRequest  = "failed_sending_request"
	dropGettingResponse = "failed_getting_response"
)

func newProxyMetrics() *proxyMetrics {
	reg := httpd.NewRegistry()
	return &proxyMetrics{
		reg: reg,
		handled: reg.NewCounter("etcd_proxy_handled_total",
			"Requests answered by a member, by method and HTTP status.", "code", "method"),
		dropped: reg.NewCounter("etcd_proxy_dropped_total",
			"Requests the proxy could not forward, by method and reason.", "method", "proxying_error"),
		duration: reg.NewHistogram("etcd_proxy_handling_duration_seconds",
			"Time until a member's answer started, by method.",
			httpd.ExponentialBuckets(0.0005, 2, 13), "method"),
	}
}

// maxProxyBody bounds a request body, which the proxy reads whole so that
// it can send it again to the next member.
const maxProxyBody = 64 << 20

// proxyHandler is the proxy's client API (§7.4): /metrics and
// /v2/config/local/proxy answered here, everything else forwarded to a
// member.
type proxyHandler struct {
	director  *director
	transport http.RoundTripper
	readonly  bool
	cors      corsOrigins
	metrics   *proxyMetrics
	log       *slog.Logger
	// stopping ends every request in flight (open watches included) when
	// the proxy shuts down.
	stopping context.Context
	// bufs recycles the buffers that copy answers to clients.
	bufs sync.Pool
}

func (p *proxyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		p.metrics.reg.WriteTo(w)
		return
	}
	if p.readonly && r.Method != http.MethodGet {
		w.WriteHeader(http.StatusNotImplemented)
		return
	}
	httpd.CORS(w, r, p.cors)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.URL.Path == "/v2/config/local/proxy" {
		p.serveConfig(w, r)
		return
	}
	p.forward(w, r)
}

// serveConfig answers GET /v2/config/local/proxy with the endpoints that
// are available now.
func (p *proxyHandler) serveConfig(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	eps := []string{}
	for _, u := range p.director.available() {
		eps = append(eps, u.String())
	}
	json.NewEncoder(w).Encode(struct {
		Endpoints []string `json:"endpoints"`
	}{eps})
}

// writeProxyError answers with status and etcd's JSON error body.
func writeProxyError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// hopByHopHeaders concern one connection, not the request: the proxy drops
// them both ways (with any header the Connection header names).
var hopByHopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailers", "Transfer-Encoding", "Upgrade",
}

func removeHopByHop(h http.Header) {
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHopHeaders {
		h.Del(name)
	}
}

// forward sends the request to the available endpoints in turn until one
// answers, and streams that answer back. A transport error (dial, write,
// read of the answer's head) marks the endpoint failed and moves on; any
// answer, an error status included, goes back to the client unchanged.
func (p *proxyHandler) forward(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxProxyBody+1))
	switch {
	case err != nil:
		writeProxyError(w, http.StatusInternalServerError, fmt.Sprintf("proxy: failed to read request body: %v", err))
		return
	case len(body) > maxProxyBody:
		writeProxyError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("proxy: request body larger than %d bytes", maxProxyBody))
		return
	}

	eps := p.director.available()
	if len(eps) == 0 {
		const msg = "proxy: zero endpoints currently available"
		p.log.Info(strings.TrimPrefix(msg, "proxy: "))
		p.metrics.dropped.With(r.Method, dropZeroEndpoints).Inc()
		writeProxyError(w, http.StatusServiceUnavailable, msg)
		return
	}

	// The request to the members ends when the client leaves or the proxy
	// stops.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(p.stopping, cancel)()

	out := r.Clone(ctx)
	out.RequestURI = ""
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	out.Close = false
	removeHopByHop(out.Header)
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := out.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		out.Header.Set("X-Forwarded-For", ip)
	}

	var resp *http.Response
	for _, ep := range eps {
		out.URL.Scheme, out.URL.Host = ep.Scheme, ep.Host
		out.ContentLength = int64(len(body))
		out.Body = http.NoBody
		if len(body) > 0 {
			out.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err = p.transport.RoundTrip(out)
		if ctx.Err() != nil {
			if resp != nil {
				resp.Body.Close()
			}
			if r.Context().Err() != nil {
				p.log.Info(fmt.Sprintf("client %v closed request prematurely", r.RemoteAddr))
			}
			return
		}
		if err != nil {
			p.log.Info(fmt.Sprintf("failed to direct request to %s: %v", ep.String(), err))
			p.metrics.dropped.With(r.Method, dropSendingRequest).Inc()
			p.director.failed(ep)
			continue
		}
		break
	}
	if resp == nil {
		msg := fmt.Sprintf("proxy: unable to get response from %d endpoint(s)", len(eps))
		p.log.Info(strings.TrimPrefix(msg, "proxy: "))
		p.metrics.dropped.With(r.Method, dropGettingResponse).Inc()
		writeProxyError(w, http.StatusBadGateway, msg)
		return
	}
	defer resp.Body.Close()
	p.metrics.handled.With(strconv.Itoa(resp.StatusCode), r.Method).Inc()
	p.metrics.duration.With(r.Method).Observe(time.Since(start).Seconds())

	removeHopByHop(resp.Header)
	h := w.Header()
	for k, vs := range resp.Header {
		if _, set := h[k]; set {
			continue // the proxy's own CORS headers win
		}
		h[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	buf, _ := p.bufs.Get().(*[]byte)
	if buf == nil {
		b := make([]byte, 32<<10)
		buf = &b
	}
	streamBody(w, resp.Body, *buf)
	p.bufs.Put(buf)
}

// streamBody copies an answer's body to the client as it comes, through
// buf, flushing every piece: a watch's events reach the client when they
// happen. It stops at the end of the body or when the client is gone.
func streamBody(w http.ResponseWriter, body io.Reader, buf []byte) {
	rc := http.NewResponseController(w)
	rc.Flush()
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// newProxyTransport returns the transport to the members (§7.5): the dial
// timeout, and read and write timeouts on every read and write of a
// connection (0 means none), up to 128 idle connections per member, and
// tc (the peer TLS flags) for https members.
func newProxyTransport(dial, read, write time.Duration, tc *tls.Config) *http.Transport {
	dialer := &net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &deadlineConn{Conn: c, read: read, write: write}, nil
		},
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 128,
	}
}

// deadlineConn gives every Read and Write its own deadline.
type deadlineConn struct {
	net.Conn
	read, write time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	if c.read > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.read))
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if c.write > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.write))
	}
	return c.Conn.Write(b)
}
