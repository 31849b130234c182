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

// KitVsRaw are the operations of BenchKitVsRaw: person i's invite and
// accept through the kit (the invite returns what the accept needs, its
// token) and the raw floor's writes of the same rows.
type KitVsRaw struct {
	Invite    func(i int) (token string, err error)
	Accept    func(i int, token string) error
	RawInvite func(i int) error
	RawAccept func(i int) error
}

// BenchKitVsRaw runs the sub-benchmarks "invite" (kit and floor in turns,
// see Pairs) and "accept" (b.N people invited both ways before the timer,
// then accepted in turns), each on a fresh setup.
func BenchKitVsRaw(b *testing.B, setup func(b *testing.B) KitVsRaw) {
	b.Run("invite", func(b *testing.B) {
		ops := setup(b)
		RunPairs(b, func(i int) error { _, err := ops.Invite(i); return err }, ops.RawInvite)
	})
	b.Run("accept", func(b *testing.B) {
		ops := setup(b)
		tokens := make([]string, b.N)
		for i := range b.N {
			var err error
			if tokens[i], err = ops.Invite(i); err == nil {
				err = ops.RawInvite(i)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		RunPairs(b, func(i int) error { return ops.Accept(i, tokens[i]) }, ops.RawAccept)
	})
}

// RunPairs resets b's timer, then runs kit(i) and raw(i) in turns (see
// Pairs) for i from 0 to b.N-1, stops b at the first error and reports
// the medians.
func RunPairs(b *testing.B, kit, raw func(i int) error) {
	var p Pairs
	b.ResetTimer()
	for i := range b.N {
		p.Run(i, func() error { return kit(i) }, func() error { return raw(i) })
		if p.Err != nil {
			b.Fatal(p.Err)
		}
	}
	p.Report(b)
}
