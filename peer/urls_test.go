package peer

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"
)

func TestParseURLs(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() of the result
		wantErr string
	}{
		{in: "http://localhost:2379", want: "http://localhost:2379"},
		{in: "http://b:2,http://a:1", want: "http://a:1,http://b:2"},
		{in: " http://b:2 , http://a:1 ", want: "http://a:1,http://b:2"},
		{in: "https://10.0.0.1:2380,http://10.0.0.1:2380", want: "http://10.0.0.1:2380,https://10.0.0.1:2380"},
		{in: "HTTP://a:1", want: "http://a:1"},
		{in: "http://[::1]:2379", want: "http://[::1]:2379"},
		// Accepted by etcd 2.3 as well: an empty host or port, a query, a fragment, user information.
		{in: "http://:1", want: "http://:1"},
		{in: "http://a:", want: "http://a:"},
		{in: "http://a:1?x=1", want: "http://a:1?x=1"},
		{in: "http://a:1#f", want: "http://a:1#f"},
		{in: "http://u@a:1", want: "http://u@a:1"},
		// The same URL twice is kept twice; duplicates are the caller's check.
		{in: "http://a:1,http://a:1", want: "http://a:1,http://a:1"},

		{in: "", wantErr: "URL scheme must be http or https: "},
		{in: "http://a:1,", wantErr: "URL scheme must be http or https: "},
		{in: "unix://a:1", wantErr: "URL scheme must be http or https: unix://a:1"},
		{in: "a:1", wantErr: "URL scheme must be http or https: a:1"},
		{in: "localhost:2379", wantErr: "URL scheme must be http or https: localhost:2379"},
		{in: "http://a", wantErr: `URL address does not have the form "host:port": http://a`},
		{in: "http:a:1", wantErr: `URL address does not have the form "host:port": http:a:1`},
		{in: " http://a ", wantErr: `URL address does not have the form "host:port": http://a`},
		{in: "http://a:1/", wantErr: "URL must not contain a path: http://a:1/"},
		{in: "http://a:1/x", wantErr: "URL must not contain a path: http://a:1/x"},
		{in: "http://a:1,http://b:2/p", wantErr: "URL must not contain a path: http://b:2/p"},
		{in: "%zz", wantErr: `parse "%zz": invalid URL escape "%zz"`},
	}
	for _, tt := range tests {
		got, err := ParseURLs(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseURLs(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURLs(%q) unexpected error %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("ParseURLs(%q) = %q, want %q", tt.in, got.String(), tt.want)
		}
	}
}

func TestURLErrorType(t *testing.T) {
	_, err := ParseURLs("ftp://a:1")
	var ue *URLError
	if !errors.As(err, &ue) || ue.URL != "ftp://a:1" {
		t.Fatalf("error %v is not a *URLError for ftp://a:1", err)
	}
}

func TestURLsFlagValue(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(new(discard))
	us := MustParseURLs("http://localhost:2379")
	fs.Var(&us, "urls", "")
	if err := fs.Parse([]string{"-urls", "http://z:1,http://y:2"}); err != nil {
		t.Fatal(err)
	}
	if us.String() != "http://y:2,http://z:1" {
		t.Fatalf("after Set: %q", us.String())
	}
	err := fs.Parse([]string{"-urls", "http://z"})
	want := `invalid value "http://z" for flag -urls: URL address does not have the form "host:port": http://z`
	if err == nil || err.Error() != want {
		t.Fatalf("bad value: error %v, want %q", err, want)
	}
	if us.String() != "http://y:2,http://z:1" {
		t.Fatalf("a failed Set changed the value to %q", us.String())
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestMustParseURLsPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MustParseURLs of a bad list did not panic")
		}
	}()
	MustParseURLs("nope")
}

func fakeLookup(table map[string][]string) LookupHost {
	return func(_ context.Context, host string) ([]string, error) {
		if addrs, ok := table[host]; ok {
			return addrs, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
}

func TestURLsEqual(t *testing.T) {
	lookup := fakeLookup(map[string][]string{
		"infra0.example.com": {"10.0.1.10"},
		"dual.example.com":   {"fd00::1", "10.0.1.20"},
		"v6.example.com":     {"fd00::2"},
		"empty.example.com":  {},
	})
	tests := []struct {
		a, b    string
		want    bool
		wantErr bool
	}{
		{a: "http://a:1", b: "http://a:1", want: true},
		{a: "http://a:1,http://b:2", b: "http://b:2,http://a:1", want: true},
		{a: "http://a:1", b: "http://a:1,http://b:2", want: false},
		{a: "http://10.0.1.10:2380", b: "http://infra0.example.com:2380", want: true},
		{a: "http://infra0.example.com:2380", b: "http://10.0.1.10:2380", want: true},
		{a: "https://10.0.1.10:2380", b: "http://infra0.example.com:2380", want: false},
		{a: "http://10.0.1.10:2381", b: "http://infra0.example.com:2380", want: false},
		{a: "http://10.0.1.20:2380", b: "http://dual.example.com:2380", want: true},
		{a: "http://[fd00::2]:2380", b: "http://v6.example.com:2380", want: true},
		// localhost is never resolved: it does not equal 127.0.0.1.
		{a: "http://localhost:2380", b: "http://127.0.0.1:2380", want: false},
		{a: "http://unknown.example.com:2380", b: "http://10.0.0.1:2380", want: false, wantErr: true},
		{a: "http://10.0.0.1:2380", b: "http://empty.example.com:2380", want: false, wantErr: true},
		// Textually equal lists never need a lookup, even of unknown names.
		{a: "http://unknown.example.com:2380", b: "http://unknown.example.com:2380", want: true},
	}
	for _, tt := range tests {
		got, err := URLsEqual(context.Background(), MustParseURLs(tt.a), MustParseURLs(tt.b), lookup)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("URLsEqual(%s, %s) = %v, %v; want %v (error %v)", tt.a, tt.b, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestURLsStringsAndEqual(t *testing.T) {
	us := MustParseURLs("http://b:2,http://a:1")
	if got := fmt.Sprint(us.Strings()); got != "[http://a:1 http://b:2]" {
		t.Errorf("Strings() = %s", got)
	}
	if !us.Equal(MustParseURLs("http://a:1,http://b:2")) || us.Equal(MustParseURLs("http://a:1")) {
		t.Error("Equal gives the wrong answer")
	}
	var empty URLs
	if empty.String() != "" || !empty.Equal(nil) {
		t.Error("the empty list is not empty")
	}
}
