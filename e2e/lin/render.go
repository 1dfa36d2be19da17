package lin

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// write renders the witness, one operation a line.
func (w *Witness) write(hist []Op, p *problem, pt part, best searchResult) string {
	var b strings.Builder
	line := func(i int, note string) {
		op := hist[i]
		fmt.Fprintf(&b, "  #%-6d client %-3d %-30s %s%s\n", i, op.Client, span(op.Call, op.Return), op.Describe(), note)
	}
	fmt.Fprintf(&b, "key %q", w.Key)
	if w.At != Unknown {
		fmt.Fprintf(&b, " stops being linearizable at %s", time.Duration(w.At))
	}
	fmt.Fprintf(&b, ": %s cannot be linearized", plural(len(w.Ops), "operation"))
	if w.Partial {
		b.WriteString(" (the search for a smaller part ran out of budget)")
	}
	b.WriteString("\n")
	since := time.Duration(w.Since).String()
	if w.Earlier > 0 {
		if w.Pruned {
			fmt.Fprintf(&b, "if the history had a linearization, it would have one in which the %s completed\n", plural(w.Earlier, "operation"))
			fmt.Fprintf(&b, "before %s leave the key holding one of:\n", since)
		} else {
			fmt.Fprintf(&b, "before %s, the %s completed by then can only leave the key holding:\n", since, plural(w.Earlier, "operation"))
		}
		for j, s := range w.From {
			if w.Writers[j] < 0 {
				fmt.Fprintf(&b, "  %s (the initial state)\n", s)
				continue
			}
			if w.AnyUnread[j] {
				fmt.Fprintf(&b, "  %s (or any other value no operation considered here reads), written by\n", s)
			} else {
				fmt.Fprintf(&b, "  %s, written by\n", s)
			}
			line(w.Writers[j], "")
		}
		b.WriteString("and from there, these operations cannot be linearized:\n")
	} else {
		fmt.Fprintf(&b, "from the key's initial state, %s, these operations cannot be linearized:\n", w.From[0])
	}
	var loose []int
	for _, i := range w.Ops {
		if hist[i].Unknown() || slices.Contains(w.Cut, i) {
			loose = append(loose, i)
		} else {
			line(i, "")
		}
	}
	if len(loose) > 0 {
		b.WriteString("with these of unknown outcome (each may take effect once, at any time after its call, or never):\n")
		for _, i := range loose {
			note := ""
			if slices.Contains(w.Cut, i) {
				note = "  (answered after the failure: counted as unknown)"
			}
			line(i, note)
		}
	}
	fmt.Fprintf(&b, "the longest order found, from %s:\n", w.Start)
	state := p.stateID(w.Start)
	if len(best.order) == 0 {
		b.WriteString("  (none: no operation can go first)\n")
	}
	for _, o := range best.order {
		state, _ = step(state, &p.ops[o])
		line(pt.idx[p.ops[o].index], "  => "+p.stateText(state))
	}
	fmt.Fprintf(&b, "then none of these can take effect next (the key holds %s):\n", p.stateText(state))
	// Values some operation left could still write.
	writable := make(map[int32]bool)
	for i := range p.ops {
		if !slices.Contains(best.order, int32(i)) && p.ops[i].kind.writesValue() {
			writable[p.ops[i].value] = true
		}
	}
	loose = loose[:0]
	for _, o := range best.stuck {
		op := &p.ops[o]
		if !op.known {
			loose = append(loose, pt.idx[op.index])
			continue
		}
		note := "  (fits, but no order of the rest works after it)"
		if _, ok := step(state, op); !ok {
			_, code := answer(state, op)
			if op.kind == Get && code == CodeOK {
				note = "  (the key holds " + p.stateText(state) + ")"
			} else {
				note = "  (the model answers " + codeWord(code) + ")"
			}
			if v := needs(op); v != absent && !writable[v] {
				note += " and no operation left writes " + p.stateText(v)
			}
		}
		line(pt.idx[op.index], note)
	}
	if len(loose) > 0 {
		fmt.Fprintf(&b, "  (nor any of the %s of unknown outcome: no order of the rest works after any of them)\n", plural(len(loose), "operation"))
	}
	return b.String()
}

// plural writes "1 operation" or "n operations".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// codeWord names an answer the model gives.
func codeWord(code int) string {
	if code == CodeOK {
		return "ok"
	}
	return codeText(code)
}

// String returns the witness in words, one operation a line (the same
// text Result.Explanation ends with).
func (w *Witness) String() string { return w.text }
