package main

// Bootstrapping from a discovery service: the etcd discovery protocol
// (--discovery, spec §4) and DNS SRV records (--discovery-srv, §5), for a
// member of a new cluster. Package discover does the talking; this file
// fits it into the start-up checks and reports its errors as etcd does.
// The proxy's side is in proxy_start.go.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"v2etcd/discover"
	"v2etcd/peer"
)

// dnsResolver returns the resolver of DNS discovery: the system's, or the
// server named by V2ETCD_DNS_SERVER in environ (os.Environ's form), a
// testing aid (see package discover).
func dnsResolver(environ []string) (*net.Resolver, error) {
	server := ""
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); k == discover.DNSServerEnv {
			server = v
			break
		}
	}
	return discover.NewResolver(server)
}

// lookupHost returns res's host lookup, for comparing URLs by address.
func lookupHost(res *net.Resolver) peer.LookupHost {
	if res == nil {
		return nil
	}
	return res.LookupHost
}

// newMemberCluster returns the members a new member bootstraps with and
// the token of their IDs: from the DNS SRV records of --discovery-srv
// (§5.1), or else as initialClusterFor says. A failed SRV lookup fails even
// a restart, as in etcd, so the caller asks before looking at the data
// directory.
func newMemberCluster(ctx context.Context, c *Config, res *net.Resolver, log *slog.Logger) (discover.InitialCluster, string, error) {
	if c.DiscoverySRV == "" {
		return initialClusterFor(c)
	}
	d := discover.DNS{Resolver: res, Logger: log.With(pkgKey, "discovery")}
	cluster, err := d.ServerCluster(ctx, c.DiscoverySRV, c.Name, c.InitialAdvertisePeerURLs)
	if err != nil {
		return nil, "", fatalf("error setting up initial cluster: %w", err)
	}
	if _, ok := cluster[c.Name]; !ok {
		return nil, "", fatalf("error setting up initial cluster: cannot find local etcd member %q in SRV records", c.Name)
	}
	return cluster, c.InitialClusterToken, nil
}

// joinDiscovery runs the etcd discovery protocol for the member self, whose
// map local holds only itself, and returns the discovered cluster (§3.3
// step 6). A discovery error comes back as a *discoveryError, which
// reportStartupError logs with etcd's advice; a cluster that lists a URL
// twice is refused. When ctx ends (a signal) its error comes back as is.
func joinDiscovery(ctx context.Context, c *Config, self peer.ID, local discover.InitialCluster, log *slog.Logger) (discover.InitialCluster, error) {
	cfg := discover.Config{URL: c.Discovery, Proxy: c.DiscoveryProxy, Logger: log.With(pkgKey, "discovery")}
	cluster, err := discover.JoinCluster(ctx, cfg, self, local.String())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &discoveryError{err: err, name: c.Name, url: c.Discovery, dataDir: c.DataDir}
	}
	if _, dup := cluster.DuplicateURL(); dup {
		return nil, fatalf("discovery cluster %s has duplicate url", cluster)
	}
	if _, ok := cluster[c.Name]; !ok {
		// JoinCluster only returns clusters holding this member's
		// registration; a registry that changed it under us is not one
		// to bootstrap from.
		return nil, fatalf("discovery cluster %s does not hold this member (%s)", cluster, c.Name)
	}
	return cluster, nil
}

// discoveryError is a failed --discovery bootstrap. Its text is etcd's,
// "failed to join discovery cluster (<discover error>)", and it unwraps to
// the discover error, so errors.Is(err, discover.ErrFullCluster) finds a
// full cluster.
type discoveryError struct {
	err                error
	name, url, dataDir string
}

func (e *discoveryError) Error() string {
	return "failed to join discovery cluster (" + e.err.Error() + ")"
}
func (e *discoveryError) Unwrap() error { return e.err }

// report logs the failure as etcd does (spec §4.3): a member ID already
// registered and a name registered twice get their own explanations; any
// other error is logged with the advice to use a new token.
func (e *discoveryError) report(log *slog.Logger) {
	switch {
	case errors.Is(e.err, discover.ErrDuplicateID):
		logAt(log, levelError, fmt.Sprintf("member %q has previously registered with discovery service token (%s).", e.name, e.url))
		logAt(log, levelError, fmt.Sprintf("But etcd could not find valid cluster configuration in the given data dir (%s).", e.dataDir))
		log.Info("Please check the given data dir path if the previous bootstrap succeeded")
		log.Info("or use a new discovery token if the previous bootstrap failed.")
	case errors.Is(e.err, discover.ErrDuplicateName):
		logAt(log, levelError, fmt.Sprintf("member with duplicated name has registered with discovery service token(%s).", e.url))
		logAt(log, levelError, "please check (cURL) the discovery token for more information.")
		logAt(log, levelError, "please do not reuse the discovery token and generate a new one to bootstrap the cluster.")
	default:
		logAt(log, levelError, e.Error())
		log.Info(fmt.Sprintf("discovery token %s was used, but failed to bootstrap the cluster.", e.url))
		log.Info("please generate a new discovery token and try to bootstrap again.")
	}
}
