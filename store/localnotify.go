package store

import (
	"context"
	"fmt"
	"sync"
)

// LocalNotifier is an in-process ChangeNotifier core for stores whose
// changes are all made in one process (memstore, sqlitestore): a store
// publishes after its commit. The zero value has no subscriptions; it is
// safe for concurrent use.
type LocalNotifier struct {
	mu   sync.Mutex
	subs map[*localSubscription]struct{}
}

type localSubscription struct {
	mu      sync.Mutex // held while changed runs: one call at a time
	ended   bool
	ctx     context.Context
	changed func(Change)
}

// Subscribe calls changed for every change published after it returns,
// one call at a time, until ctx ends.
func (n *LocalNotifier) Subscribe(ctx context.Context, changed func(Change)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: subscribe: %w", err)
	}
	sub := &localSubscription{ctx: ctx, changed: changed}
	n.mu.Lock()
	if n.subs == nil {
		n.subs = map[*localSubscription]struct{}{}
	}
	n.subs[sub] = struct{}{}
	n.mu.Unlock()
	context.AfterFunc(ctx, func() {
		n.mu.Lock()
		delete(n.subs, sub)
		n.mu.Unlock()
		sub.mu.Lock() // waits for a call in progress
		sub.ended = true
		sub.mu.Unlock()
	})
	return nil
}

// Publish calls every subscription's changed with each of cs, in order.
func (n *LocalNotifier) Publish(cs []Change) {
	if len(cs) == 0 {
		return
	}
	n.mu.Lock()
	subs := make([]*localSubscription, 0, len(n.subs))
	for sub := range n.subs {
		subs = append(subs, sub)
	}
	n.mu.Unlock()
	for _, sub := range subs {
		sub.mu.Lock()
		if !sub.ended && sub.ctx.Err() == nil { // nothing after ctx ends
			for _, c := range cs {
				sub.changed(c)
			}
		}
		sub.mu.Unlock()
	}
}
