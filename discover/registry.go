package discover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The registry is any etcd v2 keys API. This file is the small client the
// discovery protocol needs: get a key or list a directory, create a key
// that must not exist, and wait for the next change under a key.

// Timeouts of registry traffic, as etcd's discovery client sets them.
const (
	registryDialTimeout  = 30 * time.Second
	registryKeepAlive    = 30 * time.Second
	registryTLSHandshake = 10 * time.Second
	// registryRequestTimeout bounds every request but a watch; watches wait
	// as long as it takes.
	registryRequestTimeout = 5 * time.Second
	// maxRegistryBody bounds an answer of the registry.
	maxRegistryBody = 16 << 20
)

// v2 error codes the protocol looks at.
const (
	codeKeyNotFound       = 100
	codeNodeExist         = 105
	codeEventIndexCleared = 401
)

// RegistryError is an error the registry answered with: a v2 keys API
// error. Its text is the one etcd's client shows, for example
// "100: Key not found (/_etcd/registry/x) [4]".
type RegistryError struct {
	Code    int    `json:"errorCode"`
	Message string `json:"message"`
	Cause   string `json:"cause"`
	Index   uint64 `json:"index"`
}

func (e *RegistryError) Error() string {
	return fmt.Sprintf("%d: %s (%s) [%d]", e.Code, e.Message, e.Cause, e.Index)
}

// unavailableError means the registry could not be asked: a network error,
// a timeout, or a 5xx answer. It is the one kind of failure discovery
// retries.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

func isUnavailable(err error) bool {
	var u *unavailableError
	return errors.As(err, &u)
}

// isRegistryError reports whether err is the registry's v2 error code.
func isRegistryError(err error, code int) bool {
	var re *RegistryError
	return errors.As(err, &re) && re.Code == code
}

// errEmptyBody is a successful answer without a body: a watch the registry
// ended without an event. The watch is simply asked again.
var errEmptyBody = errors.New("discovery: empty answer from the registry")

// registryNode is a node of a v2 keys API answer.
type registryNode struct {
	Key           string          `json:"key"`
	Value         string          `json:"value"`
	Dir           bool            `json:"dir"`
	Nodes         []*registryNode `json:"nodes"`
	CreatedIndex  uint64          `json:"createdIndex"`
	ModifiedIndex uint64          `json:"modifiedIndex"`
}

// registryResponse is a successful v2 keys API answer.
type registryResponse struct {
	Action string        `json:"action"`
	Node   *registryNode `json:"node"`
	// Index is the registry's X-Etcd-Index: the index of its latest change
	// when it answered (0 when it sent none).
	Index uint64 `json:"-"`
}

// registryClient asks one registry: endpoint is its scheme://host[:port],
// and every key is an absolute URL path on it (the discovery URL's path
// plus a name).
type registryClient struct {
	endpoint string
	client   *http.Client
}

// newRegistryClient returns a client for the registry at endpoint. proxy,
// when not nil, carries every request (--discovery-proxy); without it no
// proxy is used, whatever the environment says.
func newRegistryClient(endpoint string, proxy *url.URL) *registryClient {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: registryDialTimeout, KeepAlive: registryKeepAlive}).DialContext,
		TLSHandshakeTimeout: registryTLSHandshake,
	}
	if proxy != nil {
		tr.Proxy = http.ProxyURL(proxy)
	}
	return &registryClient{endpoint: endpoint, client: &http.Client{Transport: tr}}
}

// close releases the client's idle connections.
func (c *registryClient) close() { c.client.CloseIdleConnections() }

// get reads key: a key's value, or a directory with its children.
func (c *registryClient) get(ctx context.Context, key string) (*registryResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, registryRequestTimeout)
	defer cancel()
	return c.do(ctx, http.MethodGet, key, nil, nil)
}

// create sets key to value if it does not exist yet (prevExist=false).
func (c *registryClient) create(ctx context.Context, key, value string) (*registryResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, registryRequestTimeout)
	defer cancel()
	q := url.Values{"prevExist": {"false"}}
	return c.do(ctx, http.MethodPut, key, q, url.Values{"value": {value}})
}

// watch waits for the first change to key (or below it, when recursive)
// at index waitIndex or later. It has no timeout of its own.
func (c *registryClient) watch(ctx context.Context, key string, waitIndex uint64, recursive bool) (*registryResponse, error) {
	q := url.Values{"wait": {"true"}, "waitIndex": {strconv.FormatUint(waitIndex, 10)}}
	if recursive {
		q.Set("recursive", "true")
	}
	return c.do(ctx, http.MethodGet, key, q, nil)
}

// do sends one request and sorts out the answer: a registryResponse, a
// *RegistryError, an *unavailableError, ErrBadDiscoveryEndpoint for an
// answer that is not the v2 keys API's, errEmptyBody, or ctx's error.
func (c *registryClient) do(ctx context.Context, method, key string, query, form url.Values) (*registryResponse, error) {
	u := c.endpoint + (&url.URL{Path: key}).EscapedPath()
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRegistryBody))
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	if resp.StatusCode >= 500 {
		return nil, &unavailableError{fmt.Errorf("%s answered %s", c.endpoint, resp.Status)}
	}
	if resp.StatusCode/100 != 2 {
		var re RegistryError
		if json.Unmarshal(b, &re) != nil || re.Code == 0 {
			return nil, ErrBadDiscoveryEndpoint
		}
		return nil, &re
	}
	if len(b) == 0 {
		return nil, errEmptyBody
	}
	var r registryResponse
	if json.Unmarshal(b, &r) != nil || r.Node == nil {
		return nil, ErrBadDiscoveryEndpoint
	}
	if h := resp.Header.Get("X-Etcd-Index"); h != "" {
		r.Index, _ = strconv.ParseUint(h, 10, 64)
	}
	return &r, nil
}

// transportError classifies a failed exchange: the caller gave up (its
// context was canceled: returned as is), or the registry is unavailable,
// which includes a request that timed out. The error keeps only the cause,
// "dial tcp 127.0.0.1:2379: connect: connection refused", as etcd logs it.
func (c *registryClient) transportError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &unavailableError{err}
}
