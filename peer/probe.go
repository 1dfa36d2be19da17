package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// maxClockDifference is how far a peer's clock may be from ours before the
// prober warns.
const maxClockDifference = time.Second

// runProber probes each of the peer's URLs at /raft/probing every
// probeInterval and, every probeCheck, warns when the latest probe failed
// ("the connection to peer <id> is unhealthy") or when the peer's clock is
// more than a second away from ours.
func (p *remotePeer) runProber() {
	defer p.wg.Done()
	probe := time.NewTicker(p.t.tune.probeInterval)
	defer probe.Stop()
	check := time.NewTicker(p.t.tune.probeCheck)
	defer check.Stop()
	var probed, healthy bool
	var clockDiff time.Duration
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-probe.C:
			for _, u := range p.picker.all() {
				d, _, err := p.probe(u)
				if p.ctx.Err() != nil {
					return
				}
				probed, healthy = true, err == nil
				if err == nil {
					clockDiff = d
					break
				}
				p.t.log.Debug(fmt.Sprintf("probe of peer %s at %s failed: %v", p.id, u.Host, err))
			}
		case <-check.C:
			if !probed {
				continue
			}
			if !healthy {
				p.t.log.Warn(fmt.Sprintf("the connection to peer %s is unhealthy", p.id))
			} else if clockDiff.Abs() > maxClockDifference {
				p.t.log.Warn(fmt.Sprintf("the clock difference against peer %s is too high [%v > %v]", p.id, clockDiff.Abs(), maxClockDifference))
			}
		}
	}
}

// probe asks u for its clock and returns how far it is from ours, taking
// the answer to describe the middle of the round trip, and the round trip.
func (p *remotePeer) probe(u url.URL) (diff, rtt time.Duration, err error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.t.tune.requestTimeout)
	defer cancel()
	u.Path = "/raft/probing"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	resp, err := p.t.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("peer: probe answered %s", resp.Status)
	}
	var a probeAnswer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&a); err != nil {
		return 0, 0, fmt.Errorf("peer: bad probe answer: %w", err)
	}
	if !a.OK {
		return 0, 0, fmt.Errorf("peer: probe answered not OK")
	}
	rtt = time.Since(start)
	return a.Now.Sub(start.Round(0).Add(rtt / 2)), rtt, nil
}
