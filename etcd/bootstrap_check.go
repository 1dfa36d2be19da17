package main

// The checks a member runs before it creates a new data directory, in the
// order etcd runs them. Each failure is a *startupError: the caller logs it
// with reportStartupError and exits with status 1.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"v2etcd/discover"
	"v2etcd/peer"
)

// startupError is a start-up check that failed. It is logged at level,
// followed by each hint at INFO; then the process exits with status 1.
type startupError struct {
	err   error
	level slog.Level
	hints []string
}

func (e *startupError) Error() string { return e.err.Error() }
func (e *startupError) Unwrap() error { return e.err }

// fatalf returns a startupError logged at CRITICAL.
func fatalf(format string, args ...any) *startupError {
	return &startupError{err: fmt.Errorf(format, args...), level: levelCritical}
}

// reportStartupError logs err as etcd reports a failed start: a failed
// discovery with etcd's advice (discoveryError.report), a startupError at
// its level and then its hints, any other error at CRITICAL.
func reportStartupError(log *slog.Logger, err error) {
	var de *discoveryError
	if errors.As(err, &de) {
		de.report(log)
		return
	}
	var se *startupError
	if !errors.As(err, &se) {
		logAt(log, levelCritical, err.Error())
		return
	}
	logAt(log, se.level, se.Error())
	for _, h := range se.hints {
		log.Info(h)
	}
}

// initialClusterFor returns the members a new member bootstraps with, and
// the token their IDs are derived with:
//
//   - with --discovery, only this member (--name with
//     --initial-advertise-peer-urls), and the discovery URL as the token; the
//     discovery service supplies the others later (joinDiscovery);
//   - otherwise --initial-cluster, parsed, and --initial-cluster-token.
//
// --discovery-srv is not handled here: newMemberCluster (discovery.go) asks
// DNS instead of calling this.
//
// A malformed --initial-cluster is a CRITICAL "error setting up initial
// cluster: <url error>". etcd parses it even when a data directory exists
// and the map will not be used, so a restart with a bad value fails too.
func initialClusterFor(c *Config) (discover.InitialCluster, string, error) {
	if c.Discovery != "" {
		return discover.InitialCluster{c.Name: c.InitialAdvertisePeerURLs}, c.Discovery, nil
	}
	cluster, err := discover.ParseInitialCluster(c.InitialCluster)
	if err != nil {
		return nil, "", fatalf("error setting up initial cluster: %w", err)
	}
	return cluster, c.InitialClusterToken, nil
}

// checkNewCluster runs the checks of a member that creates a new cluster
// (--initial-cluster-state new, no data yet), in order:
//
//  1. --name is in the initial cluster;
//  2. its URLs there equal --initial-advertise-peer-urls (host names resolved
//     with lookup, see peer.URLsEqual);
//  3. no URL appears twice in the initial cluster;
//  4. there is something to bootstrap from: a non-empty map or --discovery.
//
// Step 4 cannot fail once step 1 passed (the map holds this member); it is
// kept so the list matches etcd's and stays right if step 1 ever changes.
func checkNewCluster(ctx context.Context, c *Config, cluster discover.InitialCluster, lookup peer.LookupHost) error {
	if err := checkLocalMember(c, cluster); err != nil {
		return err
	}
	if err := checkAdvertisedPeerURLs(ctx, c, cluster, lookup); err != nil {
		return err
	}
	if err := checkDuplicateURLs(cluster); err != nil {
		return err
	}
	return checkSomethingToBootstrap(c, cluster)
}

// checkExistingCluster runs the local checks of a member that joins a running
// cluster (--initial-cluster-state existing, no data yet), in order: --name
// is in the initial cluster; no URL appears twice; --discovery is not set.
// The advertised URLs are not compared here; the running cluster's
// membership is, later, by the caller.
func checkExistingCluster(c *Config, cluster discover.InitialCluster) error {
	if err := checkLocalMember(c, cluster); err != nil {
		return err
	}
	if err := checkDuplicateURLs(cluster); err != nil {
		return err
	}
	if c.Discovery != "" {
		return fatalf("discovery URL should not be set when joining existing initial cluster")
	}
	return nil
}

// checkLocalMember requires --name to be a member of the initial cluster.
func checkLocalMember(c *Config, cluster discover.InitialCluster) error {
	if _, ok := cluster[c.Name]; !ok {
		return fatalf("couldn't find local name %q in the initial cluster configuration", c.Name)
	}
	return nil
}

// checkAdvertisedPeerURLs requires the initial cluster to list this member
// with exactly its advertised peer URLs. The failure is logged at INFO, with
// hints for the flags that still have their default values.
func checkAdvertisedPeerURLs(ctx context.Context, c *Config, cluster discover.InitialCluster, lookup peer.LookupHost) error {
	apurls := c.InitialAdvertisePeerURLs
	equal, lookupErr := peer.URLsEqual(ctx, apurls, cluster[c.Name], lookup)
	if equal {
		return nil
	}
	want := discover.InitialCluster{c.Name: apurls}
	e := &startupError{
		err:   fmt.Errorf("--initial-cluster must include %s given --initial-advertise-peer-urls=%s", want, strings.Join(apurls.Strings(), ",")),
		level: levelInfo,
	}
	if lookupErr != nil {
		e.hints = append(e.hints, fmt.Sprintf("could not compare the URLs by address: %v", lookupErr))
	}
	defaultCluster := c.InitialCluster == initialClusterFromName(c.Name)
	if defaultCluster {
		e.hints = append(e.hints, "forgot to set --initial-cluster flag?")
	}
	if apurls.String() == defaultPeerURL {
		e.hints = append(e.hints, "forgot to set --initial-advertise-peer-urls flag?")
	}
	if defaultCluster && c.Discovery == "" {
		e.hints = append(e.hints, "if you want to use discovery service, please set --discovery flag.")
	}
	return e
}

// checkDuplicateURLs refuses an initial cluster that lists a URL twice.
func checkDuplicateURLs(cluster discover.InitialCluster) error {
	if _, dup := cluster.DuplicateURL(); dup {
		return fatalf("initial cluster %s has duplicate url", cluster)
	}
	return nil
}

// checkSomethingToBootstrap requires members to start with or a discovery URL.
func checkSomethingToBootstrap(c *Config, cluster discover.InitialCluster) error {
	if cluster.String() == "" && c.Discovery == "" {
		return fatalf("initial cluster unset and no discovery URL found")
	}
	return nil
}
