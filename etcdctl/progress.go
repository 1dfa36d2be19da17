package main

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// Progress display settings of check perf.
const (
	progressBarWidth   = 40
	progressRedraw     = 200 * time.Millisecond // terminal
	progressMinLineGap = time.Second            // plain lines
)

// perfProgress shows how far a check perf run is: on a terminal, a bar
// redrawn in place; otherwise a plain line every tenth of the run (at most
// one a second), then a last line when the run ends.
type perfProgress struct {
	w        io.Writer
	terminal bool
	duration time.Duration
	total    int

	writes   atomic.Int64
	t0       time.Time
	stop     chan struct{}
	finished chan struct{}
}

// progress returns the display for a run.
func (a *app) progress(cfg perfConfig) *perfProgress {
	return &perfProgress{
		w:        a.stdout,
		terminal: a.stdoutIsTerminal(),
		duration: cfg.duration,
		total:    cfg.total,
		stop:     make(chan struct{}),
		finished: make(chan struct{}),
	}
}

// start begins the display; the run started at t0.
func (p *perfProgress) start(t0 time.Time) {
	p.t0 = t0
	every := progressRedraw
	if !p.terminal {
		every = max(p.duration/10, progressMinLineGap)
	}
	go func() {
		defer close(p.finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
}

// done counts one finished write.
func (p *perfProgress) done() { p.writes.Add(1) }

// finish stops the display and draws its last state.
func (p *perfProgress) finish() {
	close(p.stop)
	<-p.finished
	if p.terminal {
		p.draw()
		fmt.Fprintln(p.w)
		return
	}
	n := p.writes.Load()
	fmt.Fprintf(p.w, "check perf: finished %d writes in %v\n", n, time.Since(p.t0).Round(time.Millisecond))
}

// fraction is how much of the run is done, by time or by writes.
func (p *perfProgress) fraction(elapsed time.Duration, n int64) float64 {
	f := float64(elapsed) / float64(p.duration)
	if p.total > 0 {
		f = max(f, float64(n)/float64(p.total))
	}
	return min(f, 1)
}

// draw shows the current state once.
func (p *perfProgress) draw() {
	elapsed := time.Since(p.t0)
	n := p.writes.Load()
	f := p.fraction(elapsed, n)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(n) / elapsed.Seconds()
	}
	if !p.terminal {
		fmt.Fprintf(p.w, "check perf: %v of %v, %d writes (%.0f writes/s)\n",
			elapsed.Round(time.Second), p.duration, n, rate)
		return
	}
	filled := int(f * progressBarWidth)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", progressBarWidth-filled)
	fmt.Fprintf(p.w, "\r %6.1fs / %v [%s] %5.1f%% %d writes, %.0f/s ",
		elapsed.Seconds(), p.duration, bar, f*100, n, rate)
}
