package storetest

import (
	"slices"
	"testing"
	"time"
)

// Pairs times an operation of the kit and its raw floor in turns, in one
// loop, so that both see the same machine (on a shared machine the ratio
// holds where the times do not). Report gives the medians and the median
// of the per-pair ratios.
type Pairs struct {
	kit, raw, ratio []float64
	// Err is the first error an operation returned.
	Err error
}

// Run runs kit and raw once each, the order alternating with i.
func (p *Pairs) Run(i int, kit, raw func() error) {
	timed := func(fn func() error) float64 {
		start := time.Now()
		if err := fn(); err != nil && p.Err == nil {
			p.Err = err
		}
		return float64(time.Since(start).Nanoseconds()) / 1e3
	}
	var k, r float64
	if i%2 == 0 {
		k, r = timed(kit), timed(raw)
	} else {
		r, k = timed(raw), timed(kit)
	}
	p.kit, p.raw, p.ratio = append(p.kit, k), append(p.raw, r), append(p.ratio, k/max(r, 1e-3))
}

// Report reports kit-µs, raw-µs (medians) and kit/raw (the median ratio).
func (p *Pairs) Report(b *testing.B) {
	b.ReportMetric(median(p.kit), "kit-µs")
	b.ReportMetric(median(p.raw), "raw-µs")
	b.ReportMetric(median(p.ratio), "kit/raw")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
