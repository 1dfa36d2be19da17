package httpd

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metric families and writes them in the Prometheus text
// exposition format (version 0.0.4), which is all /metrics serves. It is a
// small hand-written replacement for a client library: counters, gauges and
// histograms, with or without labels, updated with atomics so recording on a
// hot path costs a few nanoseconds and never takes a lock once a label set
// exists.
type Registry struct {
	mu       sync.Mutex
	families []family
}

type family interface {
	name() string
	write(w *bufio.Writer)
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry { return &Registry{} }

func (r *Registry) add(f family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.families {
		if g.name() == f.name() {
			panic("httpd: metric " + f.name() + " registered twice") // a programming error, found by any test
		}
	}
	r.families = append(r.families, f)
	slices.SortFunc(r.families, func(a, b family) int { return strings.Compare(a.name(), b.name()) })
}

// WriteTo writes every family, sorted by name, in the text format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	fams := slices.Clone(r.families)
	r.mu.Unlock()
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	for _, f := range fams {
		f.write(bw)
	}
	err := bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type meta struct {
	fname, help, kind string
	labels            []string
}

func (m *meta) name() string { return m.fname }

func (m *meta) header(w *bufio.Writer) {
	w.WriteString("# HELP " + m.fname + " " + escapeHelp(m.help) + "\n")
	w.WriteString("# TYPE " + m.fname + " " + m.kind + "\n")
}

// labelSet renders {a="x",b="y"} for the given values (empty for none);
// extra, when set, is one more label pair already rendered (le="...").
func (m *meta) labelSet(values []string, extra string) string {
	if len(values) == 0 && extra == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.labels[i] + `="` + escapeLabel(v) + `"`)
	}
	if extra != "" {
		if len(values) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(extra)
	}
	b.WriteByte('}')
	return b.String()
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// vec maps label values to one series each. Lookups of an existing series
// are lock-free (sync.Map); only the first use of a label set allocates.
type vec[T any] struct {
	meta
	series sync.Map // joined label values -> *entry[T]
	make   func() *T
}

type entry[T any] struct {
	values []string
	v      *T
}

func (v *vec[T]) with(values []string) *T {
	if len(values) != len(v.labels) {
		panic("httpd: metric " + v.fname + " takes " + strconv.Itoa(len(v.labels)) + " label values")
	}
	key := strings.Join(values, "\xff")
	if e, ok := v.series.Load(key); ok {
		return e.(*entry[T]).v
	}
	e, _ := v.series.LoadOrStore(key, &entry[T]{values: slices.Clone(values), v: v.make()})
	return e.(*entry[T]).v
}

// sorted returns the series ordered by their label values, so output is stable.
func (v *vec[T]) sorted() []*entry[T] {
	var es []*entry[T]
	v.series.Range(func(_, e any) bool {
		es = append(es, e.(*entry[T]))
		return true
	})
	slices.SortFunc(es, func(a, b *entry[T]) int { return slices.Compare(a.values, b.values) })
	return es
}

// Counter is a value that only goes up.
type Counter struct{ n atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.n.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.n.Add(n) }

// Value returns the current count.
func (c *Counter) Value() uint64 { return c.n.Load() }

// CounterVec is a family of counters told apart by label values.
type CounterVec struct{ vec[Counter] }

// NewCounter registers a counter family; with no label names it has one series.
func (r *Registry) NewCounter(name, help string, labels ...string) *CounterVec {
	c := &CounterVec{vec[Counter]{meta: meta{name, help, "counter", labels}, make: func() *Counter { return new(Counter) }}}
	r.add(c)
	return c
}

// With returns the counter for these label values, creating it on first use.
func (c *CounterVec) With(values ...string) *Counter { return c.with(values) }

func (c *CounterVec) write(w *bufio.Writer) {
	c.header(w)
	for _, e := range c.sorted() {
		w.WriteString(c.fname + c.labelSet(e.values, "") + " " + strconv.FormatUint(e.v.Value(), 10) + "\n")
	}
}

// GaugeFunc is a gauge whose value is read from a function at scrape time,
// for values another component already keeps (raft term, watchers, keys).
type GaugeFunc struct {
	meta
	f func() float64
}

// NewGaugeFunc registers a gauge without labels that calls f when scraped.
func (r *Registry) NewGaugeFunc(name, help string, f func() float64) *GaugeFunc {
	g := &GaugeFunc{meta: meta{name, help, "gauge", nil}, f: f}
	r.add(g)
	return g
}

func (g *GaugeFunc) write(w *bufio.Writer) {
	g.header(w)
	w.WriteString(g.fname + " " + formatFloat(g.f()) + "\n")
}

// Gauge is a value that goes up and down.
type Gauge struct{ bits atomic.Uint64 }

// Set sets the value.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Add adds d (which may be negative).
func (g *Gauge) Add(d float64) {
	for {
		old := g.bits.Load()
		if g.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// Value returns the current value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

// GaugeVec is a family of gauges told apart by label values.
type GaugeVec struct{ vec[Gauge] }

// NewGauge registers a gauge family; with no label names it has one series.
func (r *Registry) NewGauge(name, help string, labels ...string) *GaugeVec {
	g := &GaugeVec{vec[Gauge]{meta: meta{name, help, "gauge", labels}, make: func() *Gauge { return new(Gauge) }}}
	r.add(g)
	return g
}

// With returns the gauge for these label values, creating it on first use.
func (g *GaugeVec) With(values ...string) *Gauge { return g.with(values) }

func (g *GaugeVec) write(w *bufio.Writer) {
	g.header(w)
	for _, e := range g.sorted() {
		w.WriteString(g.fname + g.labelSet(e.values, "") + " " + formatFloat(e.v.Value()) + "\n")
	}
}

// Histogram counts observations into cumulative buckets and keeps their sum.
type Histogram struct {
	upper  []float64       // bucket upper bounds, ascending; +Inf is implicit
	counts []atomic.Uint64 // per bucket (not cumulative), len(upper)+1
	sum    Gauge
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	i, _ := slices.BinarySearch(h.upper, v) // first bound >= v
	h.counts[i].Add(1)
	h.sum.Add(v)
}

// Count returns how many values were observed.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// HistogramVec is a family of histograms told apart by label values.
type HistogramVec struct{ vec[Histogram] }

// ExponentialBuckets returns n upper bounds start, start*factor, ...
func ExponentialBuckets(start, factor float64, n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

// NewHistogram registers a histogram family with the given bucket bounds.
func (r *Registry) NewHistogram(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if !slices.IsSorted(buckets) {
		panic("httpd: histogram " + name + " buckets are not sorted")
	}
	b := slices.Clone(buckets)
	h := &HistogramVec{vec[Histogram]{meta: meta{name, help, "histogram", labels},
		make: func() *Histogram { return &Histogram{upper: b, counts: make([]atomic.Uint64, len(b)+1)} }}}
	r.add(h)
	return h
}

// With returns the histogram for these label values, creating it on first use.
func (h *HistogramVec) With(values ...string) *Histogram { return h.with(values) }

func (h *HistogramVec) write(w *bufio.Writer) {
	h.header(w)
	for _, e := range h.sorted() {
		var cum uint64
		for i, ub := range e.v.upper {
			cum += e.v.counts[i].Load()
			w.WriteString(h.fname + "_bucket" + h.labelSet(e.values, `le="`+formatFloat(ub)+`"`) + " " + strconv.FormatUint(cum, 10) + "\n")
		}
		cum += e.v.counts[len(e.v.upper)].Load()
		w.WriteString(h.fname + "_bucket" + h.labelSet(e.values, `le="+Inf"`) + " " + strconv.FormatUint(cum, 10) + "\n")
		w.WriteString(h.fname + "_sum" + h.labelSet(e.values, "") + " " + formatFloat(e.v.sum.Value()) + "\n")
		w.WriteString(h.fname + "_count" + h.labelSet(e.values, "") + " " + strconv.FormatUint(cum, 10) + "\n")
	}
}
