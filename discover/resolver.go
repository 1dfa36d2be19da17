package discover

import (
	"context"
	"fmt"
	"net"
	"strconv"
)

// DNSServerEnv names the environment variable, understood by both etcd and
// etcdctl, that sends their DNS discovery lookups to one DNS server
// (host:port) instead of the system's resolvers. It is a testing aid:
// tests run their own DNS server (package dnstest) and pass its address
// this way. etcd 2.3 has no such variable; leave it unset in production.
const DNSServerEnv = "V2ETCD_DNS_SERVER"

// NewResolver returns the resolver for the DNSServerEnv value server:
// net.DefaultResolver when it is empty, and otherwise Go's own resolver
// sending every query to server (UDP, and TCP for answers too long for
// UDP). /etc/hosts is still read first, as the system resolver does.
func NewResolver(server string) (*net.Resolver, error) {
	if server == "" {
		return net.DefaultResolver, nil
	}
	host, port, err := net.SplitHostPort(server)
	if err == nil && host == "" {
		err = fmt.Errorf("no host")
	}
	if err == nil {
		if n, perr := strconv.ParseUint(port, 10, 16); perr != nil || n == 0 {
			err = fmt.Errorf("bad port %q", port)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("discover: %s=%q is not the host:port of a DNS server: %v", DNSServerEnv, server, err)
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}, nil
}
