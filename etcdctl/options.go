package main

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"
)

// defaultEndpoints is used when no option or environment variable names
// any endpoint.
const defaultEndpoints = "http://127.0.0.1:2379,http://127.0.0.1:4001"

// globalOptions holds the options given before the command.
type globalOptions struct {
	debug        bool
	noSync       bool
	output       string
	discoverySRV string
	peers        string
	endpoint     string
	endpoints    string
	certFile     string
	keyFile      string
	caFile       string
	username     string
	timeout      time.Duration
	totalTimeout time.Duration
	help         bool
	version      bool
}

// globalOptionList returns the global options in the order help lists them.
func globalOptionList() []option {
	return []option{
		{names: []string{"debug"}, kind: boolFlag, usage: "print each HTTP request as a curl command line on stderr"},
		{names: []string{"no-sync"}, kind: boolFlag, usage: "use the given endpoints as they are, without asking the cluster for its members first"},
		{names: []string{"output", "o"}, kind: stringFlag, def: "simple", usage: "how to print results: simple, extended or json"},
		{names: []string{"discovery-srv", "D"}, kind: stringFlag, usage: "find the endpoints in the DNS SRV records of this domain [$ETCDCTL_DISCOVERY_SRV]"},
		{names: []string{"peers", "C"}, kind: stringFlag, usage: "old name of --endpoints [$ETCDCTL_PEERS]"},
		{names: []string{"endpoint"}, kind: stringFlag, usage: "old name of --endpoints [$ETCDCTL_ENDPOINT]"},
		{names: []string{"endpoints"}, kind: stringFlag, usage: "comma-separated client URLs of the cluster (default: \"" + defaultEndpoints + "\") [$ETCDCTL_ENDPOINTS]"},
		{names: []string{"cert-file"}, kind: stringFlag, usage: "TLS client certificate [$ETCDCTL_CERT_FILE]"},
		{names: []string{"key-file"}, kind: stringFlag, usage: "TLS client key [$ETCDCTL_KEY_FILE]"},
		{names: []string{"ca-file"}, kind: stringFlag, usage: "CA bundle that server certificates must chain to [$ETCDCTL_CA_FILE]"},
		{names: []string{"username", "u"}, kind: stringFlag, usage: "user[:password] for HTTP basic auth; the password is asked for when left out"},
		{names: []string{"timeout"}, kind: durationFlag, def: "1s", usage: "how long one request may wait for its response headers"},
		{names: []string{"total-timeout"}, kind: durationFlag, def: "5s", usage: "how long the whole command may take (watches excepted)"},
		{names: []string{"help", "h"}, kind: boolFlag, usage: "show help"},
		{names: []string{"version", "v"}, kind: boolFlag, usage: "print the version"},
	}
}

// parseGlobalOptions parses the options before the command and returns
// them with the rest of the arguments (the command and its arguments).
// Parsing stops at the first argument that is not an option.
func parseGlobalOptions(args []string) (*globalOptions, []string, error) {
	fs, err := newFlagSet("etcdctl", globalOptionList())
	if err != nil {
		return nil, nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	in := &invocation{path: "etcdctl", fs: fs, args: fs.Args()}
	g := &globalOptions{
		debug:        in.Bool("debug"),
		noSync:       in.Bool("no-sync"),
		output:       in.String("output"),
		discoverySRV: in.String("discovery-srv"),
		peers:        in.String("peers"),
		endpoint:     in.String("endpoint"),
		endpoints:    in.String("endpoints"),
		certFile:     in.String("cert-file"),
		keyFile:      in.String("key-file"),
		caFile:       in.String("ca-file"),
		username:     in.String("username"),
		timeout:      in.Duration("timeout"),
		totalTimeout: in.Duration("total-timeout"),
		help:         in.Bool("help"),
		version:      in.Bool("version"),
	}
	return g, in.args, nil
}

// totalContext returns a context that ends after --total-timeout.
func (g *globalOptions) totalContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), g.totalTimeout)
}

// errDNSDiscoveryUnsupported is returned when --discovery-srv (or
// ETCDCTL_DISCOVERY_SRV) is set and no SRV lookup has been wired in.
var errDNSDiscoveryUnsupported = errors.New("etcdctl: DNS discovery (--discovery-srv, -D, ETCDCTL_DISCOVERY_SRV) is not supported yet; give the client URLs with --endpoints")

// endpointList works out which endpoints to start from. The first source
// that gives a value wins: DNS SRV discovery, --endpoints,
// ETCDCTL_ENDPOINTS, --endpoint, ETCDCTL_ENDPOINT, --peers, ETCDCTL_PEERS,
// then the default. A part without a scheme gets "http".
func (a *app) endpointList(g *globalOptions) ([]string, error) {
	domain := g.discoverySRV
	if domain == "" {
		domain = a.getenv("ETCDCTL_DISCOVERY_SRV")
	}
	var eps []string
	if domain != "" {
		if a.lookupSRV == nil {
			return nil, errDNSDiscoveryUnsupported
		}
		found, err := a.lookupSRV(domain)
		if err != nil {
			return nil, err
		}
		eps = found
	}
	if len(eps) == 0 {
		eps = strings.Split(a.firstEndpointValue(g), ",")
	}
	out := make([]string, len(eps))
	for i, ep := range eps {
		u, err := url.Parse(ep)
		if err != nil {
			return nil, err
		}
		if u.Scheme == "" {
			u.Scheme = "http"
		}
		out[i] = u.String()
	}
	return out, nil
}

// firstEndpointValue returns the first non-empty endpoint setting, in
// etcdctl's order of precedence.
func (a *app) firstEndpointValue(g *globalOptions) string {
	for _, v := range []string{
		g.endpoints, a.getenv("ETCDCTL_ENDPOINTS"),
		g.endpoint, a.getenv("ETCDCTL_ENDPOINT"),
		g.peers, a.getenv("ETCDCTL_PEERS"),
	} {
		if v != "" {
			return v
		}
	}
	return defaultEndpoints
}
