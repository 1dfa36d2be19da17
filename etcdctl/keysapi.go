package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"
)

// node is a key or directory as the v2 API returns it. The field order and
// tags are those etcdctl prints with -o json, which differ from the
// server's: value and nodes are always there, dir only when true.
type node struct {
	Key           string     `json:"key"`
	Dir           bool       `json:"dir,omitempty"`
	Value         string     `json:"value"`
	Nodes         []*node    `json:"nodes"`
	CreatedIndex  uint64     `json:"createdIndex"`
	ModifiedIndex uint64     `json:"modifiedIndex"`
	Expiration    *time.Time `json:"expiration,omitempty"`
	TTL           int64      `json:"ttl,omitempty"`
}

// keysResponse is the answer to a /v2/keys request. Index comes from the
// X-Etcd-Index header and is not part of the JSON.
type keysResponse struct {
	Action   string `json:"action"`
	Node     *node  `json:"node"`
	PrevNode *node  `json:"prevNode"`
	Index    uint64 `json:"-"`
}

// node returns the response's node, or an empty one when the server sent
// none, so that printing never fails.
func (r *keysResponse) node() *node {
	if r.Node == nil {
		return &node{}
	}
	return r.Node
}

// prevExist values of the v2 API.
const (
	prevIgnore  = ""
	prevExist   = "true"
	prevNoExist = "false"
)

// keysURL places a key under an endpoint's /v2/keys, as etcd's client
// does: the pieces are joined and cleaned, and a trailing slash is kept.
func keysURL(key string) func(ep url.URL) *url.URL {
	return func(ep url.URL) *url.URL {
		if key != "" && key[0] != '/' {
			key = "/" + key
		}
		ep.Path = canonicalPath(ep.Path + "/v2/keys" + key)
		return &ep
	}
}

// canonicalPath cleans p like path.Clean but keeps a trailing slash.
func canonicalPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// withQuery returns a URL function that adds query parameters.
func withQuery(f func(url.URL) *url.URL, q url.Values) func(url.URL) *url.URL {
	return func(ep url.URL) *url.URL {
		u := f(ep)
		u.RawQuery = q.Encode()
		return u
	}
}

// formBody encodes form values as a request body.
func formBody(form url.Values) *string {
	s := form.Encode()
	return &s
}

// setOptions are the conditions and settings of a PUT on /v2/keys.
type setOptions struct {
	ttl       int
	prevValue string
	prevIndex uint64
	prevExist string
	dir       bool
}

// setRequest builds the PUT that sets, creates or updates a key or
// directory. The conditions go in the query, the value and TTL in the form.
func setRequest(key, value string, o setOptions) *request {
	q, form := url.Values{}, url.Values{}
	if o.dir {
		q.Set("dir", "true")
	} else {
		if o.prevValue != "" {
			q.Set("prevValue", o.prevValue)
		}
		form.Set("value", value)
	}
	if o.prevIndex != 0 {
		q.Set("prevIndex", strconv.FormatUint(o.prevIndex, 10))
	}
	if o.prevExist != prevIgnore {
		q.Set("prevExist", o.prevExist)
	}
	if o.ttl > 0 {
		form.Set("ttl", strconv.Itoa(o.ttl))
	}
	return &request{
		method:      http.MethodPut,
		url:         withQuery(keysURL(key), q),
		body:        formBody(form),
		contentType: "application/x-www-form-urlencoded",
	}
}

// createInOrderRequest builds the POST that creates a uniquely named key in
// directory dir.
func createInOrderRequest(dir, value string, ttl int) *request {
	form := url.Values{}
	form.Set("value", value)
	if ttl > 0 {
		form.Set("ttl", strconv.Itoa(ttl))
	}
	return &request{
		method:      http.MethodPost,
		url:         withQuery(keysURL(dir), url.Values{}),
		body:        formBody(form),
		contentType: "application/x-www-form-urlencoded",
	}
}

// getRequest builds a GET of a key or directory.
func getRequest(key string, recursive, sorted, quorum bool) *request {
	q := url.Values{}
	q.Set("recursive", strconv.FormatBool(recursive))
	q.Set("sorted", strconv.FormatBool(sorted))
	q.Set("quorum", strconv.FormatBool(quorum))
	return &request{method: http.MethodGet, url: withQuery(keysURL(key), q)}
}

// deleteOptions are the conditions and settings of a DELETE on /v2/keys.
type deleteOptions struct {
	prevValue string
	prevIndex uint64
	dir       bool
	recursive bool
}

// deleteRequest builds a DELETE of a key or directory.
func deleteRequest(key string, o deleteOptions) *request {
	q := url.Values{}
	if o.prevValue != "" {
		q.Set("prevValue", o.prevValue)
	}
	if o.prevIndex != 0 {
		q.Set("prevIndex", strconv.FormatUint(o.prevIndex, 10))
	}
	if o.dir {
		q.Set("dir", "true")
	}
	if o.recursive {
		q.Set("recursive", "true")
	}
	return &request{method: http.MethodDelete, url: withQuery(keysURL(key), q)}
}

// watchRequest builds the long-polling GET that waits for the next change
// at or after waitIndex (0: the next change from now).
func watchRequest(key string, waitIndex uint64, recursive bool) *request {
	q := url.Values{}
	q.Set("wait", "true")
	q.Set("waitIndex", strconv.FormatUint(waitIndex, 10))
	q.Set("recursive", strconv.FormatBool(recursive))
	return &request{method: http.MethodGet, url: withQuery(keysURL(key), q), wait: true}
}

// keysCall sends a /v2/keys request and decodes the answer.
func keysCall(ctx context.Context, c *clusterClient, r *request) (*keysResponse, error) {
	resp, body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	return decodeKeysResponse(resp.StatusCode, resp.Header, body)
}

// decodeKeysResponse turns an HTTP answer into a response or a v2 error.
// A success (200 or 201) must have a JSON body; its index is taken from
// X-Etcd-Index. Any other status carries a v2 error in JSON.
func decodeKeysResponse(status int, h http.Header, body []byte) (*keysResponse, error) {
	if status != http.StatusOK && status != http.StatusCreated {
		var kerr keysError
		if err := json.Unmarshal(body, &kerr); err != nil {
			return nil, errInvalidJSON
		}
		return nil, kerr
	}
	if len(body) == 0 {
		return nil, errEmptyBody
	}
	var r keysResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, errInvalidJSON
	}
	if idx := h.Get("X-Etcd-Index"); idx != "" {
		n, err := strconv.ParseUint(idx, 10, 64)
		if err != nil {
			return nil, err
		}
		r.Index = n
	}
	return &r, nil
}
