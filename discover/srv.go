package discover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"v2etcd/peer"
)

// DNS looks up a cluster in DNS SRV records. The zero value uses
// net.DefaultResolver and logs nothing.
type DNS struct {
	// Resolver does every lookup; nil means net.DefaultResolver. Tests and
	// the DNSServerEnv variable point it at a DNS server of their own.
	Resolver *net.Resolver
	// Logger receives one line per record used and the warnings; nil
	// discards them.
	Logger *slog.Logger
}

func (d DNS) resolver() *net.Resolver {
	if d.Resolver == nil {
		return net.DefaultResolver
	}
	return d.Resolver
}

func (d DNS) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// ServerCluster builds an initial cluster from the SRV records of the
// members' peer URLs: _etcd-server-ssl._tcp.<domain> (https) and then
// _etcd-server._tcp.<domain> (http), combined. A record whose target
// resolves to the same ip:port as one of local (this member's advertised
// peer URLs) is named name; every other record gets a made-up name, "0",
// "1", ..., counting across both lookups. The URLs keep the targets' host
// names (without the trailing dot) and the records' ports.
//
// It fails when a host of local does not resolve, or when both lookups
// fail (the error of the second). A target that does not resolve is
// skipped with a warning. Whether name made it into the cluster is the
// caller's check: a proxy (local nil) does not need it.
func (d DNS) ServerCluster(ctx context.Context, domain, name string, local peer.URLs) (InitialCluster, error) {
	log := d.logger()
	var localAddrs []string
	for _, u := range local {
		addr, err := d.resolveHostPort(ctx, u.Host)
		if err != nil {
			log.Error(fmt.Sprintf("couldn't resolve host %s during SRV discovery", u.Host))
			return nil, err
		}
		localAddrs = append(localAddrs, addr)
	}

	var items []string
	made := 0
	lookup := func(service, scheme string) error {
		_, srvs, err := d.resolver().LookupSRV(ctx, service, "tcp", domain)
		if err != nil {
			return err
		}
		for _, srv := range srvs {
			host := net.JoinHostPort(strings.TrimSuffix(srv.Target, "."), strconv.Itoa(int(srv.Port)))
			addr, err := d.resolveHostPort(ctx, host)
			if err != nil {
				log.Warn(fmt.Sprintf("couldn't resolve host %s during SRV discovery", host))
				continue
			}
			n := ""
			for _, la := range localAddrs {
				if la == addr {
					n = name
				}
			}
			if n == "" {
				n = strconv.Itoa(made)
				made++
			}
			u := scheme + "://" + host
			items = append(items, n+"="+u)
			log.Log(ctx, LevelNotice, fmt.Sprintf("got bootstrap from DNS for %s at %s", service, u))
		}
		return nil
	}
	errSSL := lookup("etcd-server-ssl", "https")
	errPlain := lookup("etcd-server", "http")
	if errSSL != nil && errPlain != nil {
		log.Warn(fmt.Sprintf("error querying DNS SRV records for _etcd-server-ssl %s", errSSL))
		log.Warn(fmt.Sprintf("error querying DNS SRV records for _etcd-server %s", errPlain))
		log.Error("SRV discovery failed: too many errors querying DNS SRV records")
		return nil, errPlain
	}
	return ParseInitialCluster(strings.Join(items, ","))
}

// ClientURLs returns the client URLs of a cluster from the SRV records
// _etcd-client-ssl._tcp.<domain> (https) and _etcd-client._tcp.<domain>
// (http), combined, in that order: scheme://<target>:<port>, the target
// keeping its trailing dot, as etcdctl 2.3 makes them. It fails only when
// both lookups fail: "dns lookup errors: <first> and <second>".
func (d DNS) ClientURLs(ctx context.Context, domain string) ([]string, error) {
	var urls []string
	lookup := func(service, scheme string) error {
		_, srvs, err := d.resolver().LookupSRV(ctx, service, "tcp", domain)
		if err != nil {
			return err
		}
		for _, srv := range srvs {
			u := url.URL{Scheme: scheme, Host: net.JoinHostPort(srv.Target, strconv.Itoa(int(srv.Port)))}
			urls = append(urls, u.String())
		}
		return nil
	}
	errSSL := lookup("etcd-client-ssl", "https")
	errPlain := lookup("etcd-client", "http")
	if errSSL != nil && errPlain != nil {
		return nil, fmt.Errorf("dns lookup errors: %s and %s", errSSL, errPlain)
	}
	return urls, nil
}

// resolveHostPort turns host:port into ip:port: a literal IP stays, a name
// is looked up and its first IPv4 address taken (or its first address when
// it has no IPv4 one), as a dial to "tcp" would.
func (d DNS) resolveHostPort(ctx context.Context, hostPort string) (string, error) {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return "", err
	}
	if net.ParseIP(host) != nil {
		return hostPort, nil
	}
	addrs, err := d.resolver().LookupHost(ctx, host)
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil && ip.To4() != nil {
			return net.JoinHostPort(a, port), nil
		}
	}
	if len(addrs) == 0 {
		return "", errors.New("discover: no address for " + host)
	}
	return net.JoinHostPort(addrs[0], port), nil
}
