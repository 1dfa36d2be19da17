package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"v2etcd/raft"
)

// runPipeline sends what is queued for the pipeline: whenever messages
// wait, up to pipelineBatch of them (and about maxBatchBytes) go out in one
// POST to /raft, one request at a time so that they arrive in order. The pipeline carries a
// peer's messages while the matching stream is not connected, and all the
// messages to a remote.
func (p *remotePeer) runPipeline() {
	defer p.wg.Done()
	var buf []byte
	var appSizes []int
	for {
		var m raft.Message
		select {
		case <-p.ctx.Done():
			return
		case m = <-p.pipeq:
		}
		buf, appSizes = appendTracked(buf[:0], appSizes[:0], &m)
		n := 1
	collect:
		for n < p.t.tune.pipelineBatch && len(buf) < p.t.tune.maxBatchBytes {
			select {
			case m = <-p.pipeq:
				buf, appSizes = appendTracked(buf, appSizes, &m)
				n++
			default:
				break collect
			}
		}
		if err := p.post(buf); err != nil {
			if p.ctx.Err() != nil {
				return
			}
			p.dropped(n)
			if !errors.As(err, new(*refusedError)) { // a refusal was logged; the peer is up
				p.status.deactivate(err)
			}
		} else {
			p.status.activate()
			p.t.stats.sendAppends(appSizes)
		}
		if cap(buf) > 4*p.t.tune.maxBatchBytes {
			buf = nil // do not keep a huge buffer after one huge message
		}
	}
}

// post sends one pipeline request and reads the answer.
func (p *remotePeer) post(body []byte) error {
	u, ok := p.picker.pick()
	if !ok {
		return fmt.Errorf("peer: member %s has no peer URLs", p.id)
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.t.tune.requestTimeout)
	defer cancel()
	target := u
	target.Path = "/raft"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("peer: cannot build a pipeline request to %s: %w", p.id, err)
	}
	p.t.setHeaders(req.Header, p.id)
	req.Header.Set("Content-Type", frameContentType)
	resp, err := p.t.client.Do(req)
	if err != nil {
		p.picker.failed(u)
		return fmt.Errorf("peer: pipeline request to %s at %s failed: %w", p.id, u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return p.t.refused(p.id, resp, "pipeline")
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 512)) // lets the connection be reused
	return nil
}
