package httpd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseKeysRequestValidation(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		method, target, body string
		code                 int
		cause                string
	}{
		{"GET", "/v2/keys/a?prevIndex=abc", "", 203, `invalid value for "prevIndex"`},
		{"GET", "/v2/keys/a?waitIndex=-1", "", 203, `invalid value for "waitIndex"`},
		{"GET", "/v2/keys/a?prevIndex=", "", 203, `invalid value for "prevIndex"`},
		{"GET", "/v2/keys/a?wait=maybe", "", 209, `invalid value for "wait"`},
		{"PUT", "/v2/keys/x?dir=", "", 209, `invalid value for "dir"`},
		{"PUT", "/v2/keys/x?wait=true", "value=1", 209, `"wait" can only be used with GET requests`},
		{"HEAD", "/v2/keys/x?wait=true", "", 209, `"wait" can only be used with GET requests`},
		{"PUT", "/v2/keys/k?prevValue=", "value=x", 201, `"prevValue" cannot be empty`},
		{"DELETE", "/v2/keys/k?prevValue=", "", 201, `"prevValue" cannot be empty`},
		{"PUT", "/v2/keys/k", "value=bar&ttl=abc", 202, `invalid value for "ttl"`},
		{"PUT", "/v2/keys/k", "value=bar&ttl=-1", 202, `invalid value for "ttl"`},
		{"PUT", "/v2/keys/k?prevExist=yes", "", 209, "invalid value for prevExist"},
		{"PUT", "/v2/keys/k?refresh=no", "", 209, "invalid value for refresh"},
		{"PUT", "/v2/keys/k", "ttl=20&refresh=true&prevExist=true&value=zz", 211, "A value was provided on a refresh"},
		{"PUT", "/v2/keys/k", "refresh=true", 212, "No TTL value set"},
		{"PUT", "/v2/keys/k", "refresh=true&ttl=", 212, "No TTL value set"},
		{"PUT", "/v2/keys/k?a=%zz", "", 210, `invalid URL escape "%zz"`},
		{"PUT", "/v2/keys/k", "value=%zz", 210, `invalid URL escape "%zz"`},
		// order: the index check comes before the boolean check, the boolean before ttl
		{"PUT", "/v2/keys/k?recursive=x&prevIndex=y", "", 203, `invalid value for "prevIndex"`},
		{"PUT", "/v2/keys/k?ttl=x&dir=y", "", 209, `invalid value for "dir"`},
		{"PUT", "/v2/keys/k?ttl=x&prevValue=", "", 201, `"prevValue" cannot be empty`},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		if c.body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		_, perr := parseKeysRequest(r, now)
		if perr == nil || perr.code != c.code || perr.cause != c.cause {
			t.Errorf("%s %s %q: got %+v, want %d %q", c.method, c.target, c.body, perr, c.code, c.cause)
		}
	}
}

func TestParseKeysRequestValues(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := httptest.NewRequest("PUT", "/v2/keys//tv/?value=q&ttl=5&prevExist=false&value=ignored", strings.NewReader("value=b&prevIndex=7"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p, perr := parseKeysRequest(r, now)
	if perr != nil {
		t.Fatal(perr)
	}
	if p.value != "b" { // the body wins over the query
		t.Errorf("value = %q, want b", p.value)
	}
	if p.path != "/1/tv" || p.key != "//tv/" {
		t.Errorf("path = %q key = %q", p.path, p.key)
	}
	if !p.hasTTL || p.ttl != 5 || !p.expiration.Equal(now.Add(5*time.Second)) {
		t.Errorf("ttl = %v %d %v", p.hasTTL, p.ttl, p.expiration)
	}
	if p.prevExist == nil || *p.prevExist || p.prevIndex != 7 {
		t.Errorf("prevExist = %v prevIndex = %d", p.prevExist, p.prevIndex)
	}

	// A JSON body is ignored: no value at all.
	r = httptest.NewRequest("PUT", "/v2/keys/j", strings.NewReader(`{"value":"x"}`))
	r.Header.Set("Content-Type", "application/json")
	if p, perr = parseKeysRequest(r, now); perr != nil || p.value != "" || p.hasValueForm {
		t.Errorf("json body: %+v %+v", p, perr)
	}
	// A DELETE body is never read.
	r = httptest.NewRequest("DELETE", "/v2/keys/d", strings.NewReader("prevValue="))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p, perr = parseKeysRequest(r, now); perr != nil || p.prevValue != "" {
		t.Errorf("delete body: %+v %+v", p, perr)
	}
	// The root, with or without a slash, and "ttl=" meaning no TTL.
	for _, target := range []string{"/v2/keys", "/v2/keys/", "/v2/keys/?ttl="} {
		if p, perr = parseKeysRequest(httptest.NewRequest("GET", target, nil), now); perr != nil || p.path != "/1" || p.hasTTL {
			t.Errorf("%s: %+v %+v", target, p, perr)
		}
	}
	// Absurd TTLs saturate instead of wrapping into the past.
	r = httptest.NewRequest("PUT", "/v2/keys/k?ttl=18446744073709551615", nil)
	if p, perr = parseKeysRequest(r, now); perr != nil || !p.expiration.After(now) {
		t.Errorf("huge ttl: %+v %+v", p, perr)
	}
	_ = http.MethodGet
}

func TestParseKeysRequestBodyTooLarge(t *testing.T) {
	body := "value=" + strings.Repeat("x", 10<<20+1)
	r := httptest.NewRequest("PUT", "/v2/keys/big", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, perr := parseKeysRequest(r, time.Now())
	if perr == nil || perr.code != 210 || perr.cause != "http: POST too large" {
		t.Errorf("got %+v, want 210 http: POST too large", perr)
	}
}
