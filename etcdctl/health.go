package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// clusterHealthCommand returns cluster-health.
func clusterHealthCommand() *command {
	return &command{
		name:  "cluster-health",
		usage: "check the health of every member of the cluster",
		description: "Lists the members through the given endpoints (without syncing) and asks\n" +
			"each member's client URLs for /health until one answers. The cluster is\n" +
			"healthy when at least one member is. Exit code 0 when healthy, 5 when not.",
		options: []option{
			{names: []string{"forever"}, kind: boolFlag, usage: "check again every 10 seconds until Ctrl-C"},
		},
		run: runClusterHealth,
	}
}

// runClusterHealth is the action of cluster-health.
func runClusterHealth(a *app, g *globalOptions, in *invocation) error {
	forever := in.Bool("forever")
	// Only --forever stops cleanly on Ctrl-C; a single round is simply
	// killed by it, as any other command.
	ctx := context.Background()
	if forever {
		var stop func()
		ctx, stop = a.interruptContext()
		defer stop()
	}

	tr, err := a.newTransport(g)
	if err != nil {
		return errorExit(exitServerError, err)
	}
	nosync := *g
	nosync.noSync = true
	c, err := a.connect(&nosync)
	if err != nil {
		return err
	}
	members, err := listMembers(ctx, c)
	if err != nil {
		if interrupted(ctx) {
			return nil
		}
		fmt.Fprintln(a.stdout, "cluster may be unhealthy: failed to list members")
		return errorExit(exitServerError, err)
	}
	hc := &http.Client{Transport: tr}
	for {
		healthy := a.checkMembers(ctx, hc, members)
		if interrupted(ctx) {
			return nil
		}
		if healthy {
			fmt.Fprintln(a.stdout, "cluster is healthy")
		} else {
			fmt.Fprintln(a.stdout, "cluster is unhealthy")
		}
		if !forever {
			if healthy {
				return nil
			}
			return rawExit(exitClusterNotHealthy, "")
		}
		fmt.Fprintf(a.stdout, "\nnext check after %d second...\n\n", int(a.healthInterval/time.Second))
		t := time.NewTimer(a.healthInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// checkMembers prints one line per member (and one per failed client URL)
// and reports whether at least one member is healthy.
func (a *app) checkMembers(ctx context.Context, hc *http.Client, members []member) bool {
	healthy := false
	for _, m := range members {
		if len(m.ClientURLs) == 0 {
			fmt.Fprintf(a.stdout, "member %s is unreachable: no available published client urls\n", m.ID)
			continue
		}
		checked := false
		for _, u := range m.ClientURLs {
			ok, err := memberHealth(ctx, hc, u)
			if err != nil {
				if ctx.Err() != nil {
					return healthy
				}
				fmt.Fprintf(a.stdout, "failed to check the health of member %s on %s: %v\n", m.ID, u, err)
				continue
			}
			checked = true
			if ok {
				healthy = true
				fmt.Fprintf(a.stdout, "member %s is healthy: got healthy result from %s\n", m.ID, u)
			} else {
				fmt.Fprintf(a.stdout, "member %s is unhealthy: got unhealthy result from %s\n", m.ID, u)
			}
			break
		}
		if !checked {
			fmt.Fprintf(a.stdout, "member %s is unreachable: %v are all unreachable\n", m.ID, m.ClientURLs)
		}
	}
	return healthy
}

// memberHealth asks one client URL for /health. The answer's "health"
// field may be the string "true" or the boolean true; anything else that
// decodes means unhealthy.
func memberHealth(ctx context.Context, hc *http.Client, clientURL string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
	if err != nil {
		return false, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	asString := struct{ Health string }{}
	asBool := struct{ Health bool }{}
	if err := json.Unmarshal(body, &asString); err != nil {
		if err := json.Unmarshal(body, &asBool); err != nil {
			return false, err
		}
	}
	return asString.Health == "true" || asBool.Health, nil
}
