package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/storetest"
)

// TestListAllEventsWaitsForEarlierWriters: organization A's transaction
// takes a seq and stays open while organization B's event, with a higher
// seq, commits. The across-organization feed must not hand out B's event
// before A's commits (a cursor past it would skip A's for ever); once A
// commits, one read returns both, in seq order.
func TestListAllEventsWaitsForEarlierWriters(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	now := time.Now().UTC()
	a, b := storetest.NewOrg(t, st, now), storetest.NewOrg(t, st, now)
	start, err := st.ListAllEvents(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	cursor := start[len(start)-1].Seq

	tx, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `INSERT INTO `+st.Schema()+`.events (id, org_id, type, create_time) VALUES ('evt_slow', $1, 'test.event', now())`, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.AppendEvent(ctx, store.Event{ID: "evt_fast", OrganizationID: b.ID, Type: "test.event", CreateTime: now}); err != nil {
		t.Fatal(err)
	}

	type result struct {
		evs []store.Event
		err error
	}
	got := make(chan result, 1)
	go func() {
		evs, err := st.ListAllEvents(ctx, cursor, 100)
		got <- result{evs, err}
	}()
	select {
	case r := <-got:
		t.Fatalf("read while an earlier seq is uncommitted: %v %v", ids(r.evs), r.err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if g := ids(r.evs); len(g) != 2 || g[0] != "evt_slow" || g[1] != "evt_fast" {
		t.Fatalf("after the commit: %v, want [evt_slow evt_fast]", g)
	}
}

func ids(evs []store.Event) []string {
	out := make([]string, 0, len(evs))
	for _, ev := range evs {
		out = append(out, ev.ID)
	}
	return out
}
