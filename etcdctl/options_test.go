package main

import (
	"errors"
	"slices"
	"testing"
)

func TestEndpointPrecedence(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		env   map[string]string
		want  []string
	}{
		{"default", nil, nil, []string{"http://127.0.0.1:2379", "http://127.0.0.1:4001"}},
		{"ETCDCTL_PEERS", nil, map[string]string{"ETCDCTL_PEERS": "http://p:1"}, []string{"http://p:1"}},
		{"--peers beats ETCDCTL_PEERS", []string{"-C", "http://f:1"}, map[string]string{"ETCDCTL_PEERS": "http://p:1"}, []string{"http://f:1"}},
		{"ETCDCTL_ENDPOINT beats --peers", []string{"--peers", "http://f:1"}, map[string]string{"ETCDCTL_ENDPOINT": "http://e:1"}, []string{"http://e:1"}},
		{"--endpoint beats ETCDCTL_ENDPOINT", []string{"--endpoint", "http://f:1"}, map[string]string{"ETCDCTL_ENDPOINT": "http://e:1"}, []string{"http://f:1"}},
		{"ETCDCTL_ENDPOINTS beats --endpoint", []string{"--endpoint", "http://f:1"}, map[string]string{"ETCDCTL_ENDPOINTS": "http://e:1"}, []string{"http://e:1"}},
		{"--endpoints beats all", []string{"--endpoints", "http://a:1,b:2", "--endpoint", "http://f:1"},
			map[string]string{"ETCDCTL_ENDPOINTS": "http://e:1", "ETCDCTL_ENDPOINT": "http://e:2", "ETCDCTL_PEERS": "http://e:3"},
			[]string{"http://a:1", "b:2"}},
		{"empty flag is unset", []string{"--endpoints", ""}, map[string]string{"ETCDCTL_PEERS": "http://p:1"}, []string{"http://p:1"}},
		{"scheme added", []string{"--endpoints", "//h:1,https://s:2/"}, nil, []string{"http://h:1", "https://s:2/"}},
	}
	for _, tt := range tests {
		g, _, err := parseGlobalOptions(append(tt.flags, "get"))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		a := &app{getenv: func(k string) string { return tt.env[k] }}
		got, err := a.endpointList(g)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: endpoints %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestEndpointParseError(t *testing.T) {
	// "host:port" without a scheme does not parse; etcdctl prints Go's
	// error as it is and exits 1.
	got := run(runOpts{}, "--endpoints", "127.0.0.1:2379", "get", "k")
	check(t, got, "", "parse \"127.0.0.1:2379\": first path segment in URL cannot contain colon\n", 1)
}

func TestDiscoverySRV(t *testing.T) {
	want := "etcdctl: DNS discovery (--discovery-srv, -D, ETCDCTL_DISCOVERY_SRV) is not supported yet; give the client URLs with --endpoints\n"
	for _, o := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--discovery-srv", "example.com", "get", "k"}, nil},
		{[]string{"-D", "example.com", "--endpoints", "http://127.0.0.1:1", "member", "list"}, nil},
		{[]string{"get", "k"}, map[string]string{"ETCDCTL_DISCOVERY_SRV": "example.com"}},
	} {
		check(t, run(runOpts{env: o.env}, o.args...), "", want, 1)
	}
}

// TestDiscoverySRVHook checks the place where the project's DNS discovery
// will plug in: what it finds replaces every endpoint option, and its
// failure is reported as a client setup error.
func TestDiscoverySRVHook(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }}
	a.lookupSRV = func(domain string) ([]string, error) {
		if domain != "example.com" {
			return nil, errors.New("dns lookup errors: no such host")
		}
		return []string{"https://infra0.example.com.:2379"}, nil
	}
	g, _, _ := parseGlobalOptions([]string{"-D", "example.com", "--endpoints", "http://x:1", "get"})
	got, err := a.endpointList(g)
	if err != nil || !slices.Equal(got, []string{"https://infra0.example.com.:2379"}) {
		t.Errorf("endpoints %q, %v", got, err)
	}
	g.discoverySRV = "other.org"
	if _, err := a.endpointList(g); err == nil {
		t.Error("a failed lookup must be an error")
	}
}

func TestGlobalOptionDefaults(t *testing.T) {
	g, rest, err := parseGlobalOptions([]string{"-o", "json", "--no-sync", "set", "--ttl", "5"})
	if err != nil {
		t.Fatal(err)
	}
	if g.output != "json" || !g.noSync || g.debug || g.timeout.String() != "1s" || g.totalTimeout.String() != "5s" {
		t.Errorf("options %+v", g)
	}
	if !slices.Equal(rest, []string{"set", "--ttl", "5"}) {
		t.Errorf("rest %q", rest)
	}
}
