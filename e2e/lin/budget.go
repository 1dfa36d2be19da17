package lin

import "time"

// budget bounds a search: a number of steps (one step is one attempt to
// linearize an operation or one backtrack) and an optional deadline.
type budget struct {
	steps    int64     // steps left
	deadline time.Time // zero: none
	spent    int64     // steps spent
	tick     int       // steps until the next look at the clock
}

func newBudget(steps int64, deadline time.Time) *budget {
	return &budget{steps: steps, deadline: deadline}
}

// spend takes one step; it reports false when the budget is exhausted.
func (b *budget) spend() bool {
	if b.steps <= 0 {
		return false
	}
	b.steps--
	b.spent++
	if b.tick--; b.tick < 0 {
		b.tick = 1023
		if !b.deadline.IsZero() && time.Now().After(b.deadline) {
			b.steps = 0
			return false
		}
	}
	return true
}
