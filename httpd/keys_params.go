package httpd

import (
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// keysPrefix is where the keys API lives; the rest of the URL path is the key.
const keysPrefix = "/v2/keys"

// userRoot is the store directory that holds the user key space: etcd keeps
// cluster data under /0 and auth data under /2, so /v2/keys/a is /1/a.
const userRoot = "/1"

// keysParams is a /v2/keys request after parsing and validation: what the
// client asked for, in the form the key space understands.
type keysParams struct {
	method  string // GET, HEAD, PUT, POST or DELETE
	key     string // the key as the client wrote it, e.g. "/a/b/" (for logs and auth)
	path    string // the store path: "/1/a/b", cleaned, no trailing slash
	value   string
	dir     bool
	recurse bool
	sorted  bool
	wait    bool
	stream  bool
	quorum  bool
	refresh bool

	prevValue    string // "" means no condition (an empty prevValue is an error)
	prevIndex    uint64 // 0 means no condition
	prevExist    *bool  // nil: not given
	waitIndex    uint64
	hasTTL       bool
	ttl          uint64
	expiration   time.Time // zero without a TTL
	hasValueForm bool      // "value" was given at all (refresh rejects a non-empty one)
}

// paramError is a validation failure: a key-space error code with its cause.
// Validation errors always carry index 0.
type paramError struct {
	code  int
	cause string
}

// Error codes of request validation (spec v2-api §5.3).
const (
	codePrevValueRequired = 201
	codeTTLNaN            = 202
	codeIndexNaN          = 203
	codeInvalidField      = 209
	codeInvalidForm       = 210
	codeRefreshValue      = 211
	codeRefreshTTLMissing = 212
)

// parseKeysRequest reads r's URL query and, for PUT and POST, a form body,
// and validates the parameters in the order etcd does (spec v2-api §3.4):
// form, indexes, booleans, wait on a non-GET method, empty prevValue, ttl,
// prevExist, refresh. The first failure is returned. now is the time a TTL
// counts from: the receiving member's clock.
func parseKeysRequest(r *http.Request, now time.Time) (*keysParams, *paramError) {
	// ParseForm reads a urlencoded body for PUT, POST and PATCH only, puts body
	// values before query values (so the body wins, as in etcd), and ignores
	// bodies of other content types.
	if err := r.ParseForm(); err != nil {
		return nil, &paramError{codeInvalidForm, err.Error()} // e.g. invalid URL escape "%zz"
	}
	form := r.Form
	p := &keysParams{method: r.Method}
	p.key = strings.TrimPrefix(r.URL.Path, keysPrefix)
	p.path = path.Join(userRoot, p.key) // Join cleans: no empty segments, no trailing slash

	var perr *paramError
	uintParam := func(name string, dst *uint64) {
		if vals, ok := form[name]; ok && perr == nil {
			n, err := strconv.ParseUint(vals[0], 10, 64)
			if err != nil {
				perr = &paramError{codeIndexNaN, `invalid value for "` + name + `"`}
			}
			*dst = n
		}
	}
	boolParam := func(name string, dst *bool) {
		if vals, ok := form[name]; ok && perr == nil {
			b, err := strconv.ParseBool(vals[0])
			if err != nil {
				perr = &paramError{codeInvalidField, `invalid value for "` + name + `"`}
			}
			*dst = b
		}
	}
	uintParam("prevIndex", &p.prevIndex)
	uintParam("waitIndex", &p.waitIndex)
	boolParam("recursive", &p.recurse)
	boolParam("sorted", &p.sorted)
	boolParam("wait", &p.wait)
	boolParam("dir", &p.dir)
	boolParam("quorum", &p.quorum)
	boolParam("stream", &p.stream)
	if perr != nil {
		return nil, perr
	}
	if p.wait && r.Method != http.MethodGet {
		return nil, &paramError{codeInvalidField, `"wait" can only be used with GET requests`}
	}
	if vals, ok := form["prevValue"]; ok {
		if vals[0] == "" {
			return nil, &paramError{codePrevValueRequired, `"prevValue" cannot be empty`}
		}
		p.prevValue = vals[0]
	}
	if vals, ok := form["ttl"]; ok && vals[0] != "" { // "ttl=" means no TTL
		n, err := strconv.ParseUint(vals[0], 10, 64)
		if err != nil {
			return nil, &paramError{codeTTLNaN, `invalid value for "ttl"`}
		}
		p.hasTTL, p.ttl = true, n
		p.expiration = now.Add(ttlDuration(n))
	}
	if vals, ok := form["prevExist"]; ok {
		b, err := strconv.ParseBool(vals[0])
		if err != nil {
			return nil, &paramError{codeInvalidField, "invalid value for prevExist"}
		}
		p.prevExist = &b
	}
	if vals, ok := form["refresh"]; ok {
		b, err := strconv.ParseBool(vals[0])
		if err != nil {
			return nil, &paramError{codeInvalidField, "invalid value for refresh"}
		}
		p.refresh = b
	}
	vals, hasValue := form["value"]
	if hasValue {
		p.value, p.hasValueForm = vals[0], true
	}
	if p.refresh {
		if p.value != "" {
			return nil, &paramError{codeRefreshValue, "A value was provided on a refresh"}
		}
		if !p.hasTTL {
			return nil, &paramError{codeRefreshTTLMissing, "No TTL value set"}
		}
	}
	return p, nil
}

// ttlDuration turns a TTL in seconds into a duration, saturating instead of
// overflowing for absurd values (they then mean "practically never").
func ttlDuration(sec uint64) time.Duration {
	const maxSec = uint64(1<<63-1) / uint64(time.Second)
	if sec > maxSec {
		sec = maxSec
	}
	return time.Duration(sec) * time.Second
}
