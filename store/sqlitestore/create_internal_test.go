package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/invitekit/invitekit/store"
)

// batchItem is one invite of a new person, as the bulk import writes it.
func batchItem(orgID string, i int) store.CreateMembershipParams {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	email := fmt.Sprintf("p%d@example.com", i)
	return store.CreateMembershipParams{
		User:       store.User{ID: store.NewID("usr"), Email: email, ExternalID: fmt.Sprint("ext-", i), CreateTime: now, UpdateTime: now},
		Membership: store.Membership{OrganizationID: orgID, Status: store.StatusPendingInvite, Roles: []string{"member"}, UpdateTime: now},
		Invitation: &store.Invitation{ID: store.NewID("inv"), OrganizationID: orgID, Email: email, CreateTime: now, ExpireTime: now.Add(time.Hour)},
		Outbox:     &store.OutboxMessage{ID: store.NewID("msg"), OrganizationID: orgID, Kind: store.MailInvitation, To: email, CreateTime: now},
		Event:      store.Event{ID: store.NewID("evt"), OrganizationID: orgID, Type: store.EventMembershipInvited, CreateTime: now},
	}
}

// A chunk that conflicts with the database is rolled back to its savepoint
// and redone the careful way: its refused items write nothing, its other
// items and the chunks around it are written in full.
func TestCreateMembershipsOptimisticFallback(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "b.db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const org = "org_fb"
	if err := st.CreateOrganization(ctx, store.Organization{ID: org, Name: "FB"}, store.Event{Type: store.EventOrganizationCreated}); err != nil {
		t.Fatal(err)
	}
	old := batchItem(org, -1)
	if _, err := st.CreateMembership(ctx, old); err != nil {
		t.Fatal(err)
	}

	const n = 2*chunkSize + chunkSize/4 // a fast chunk, a redone one, a careful one
	ps := make([]store.CreateMembershipParams, n)
	for i := range ps {
		ps[i] = batchItem(org, i)
	}
	inChunk2 := chunkSize + 10
	ps[inChunk2].User.Email = old.User.Email              // existing member
	ps[inChunk2+1].Invitation.ID = old.Invitation.ID      // taken invitation id
	ps[inChunk2+2].User.ExternalID = old.User.ExternalID  // taken external id
	ps[inChunk2+4].User.Email = ps[inChunk2+3].User.Email // same new person twice
	ps[2*chunkSize+1].Outbox.ID = old.Outbox.ID           // taken outbox id (careful chunk)
	refused := map[int]error{
		inChunk2:        store.ErrAlreadyMember,
		inChunk2 + 1:    nil, // "invitation id is taken": no sentinel
		inChunk2 + 2:    store.ErrExternalIDTaken,
		inChunk2 + 4:    store.ErrAlreadyMember,
		2*chunkSize + 1: nil, // "outbox id is taken"
	}

	var c *creator
	results := make([]store.BatchResult, n)
	err = st.write(ctx, func(t *wtx) error {
		c = newCreator(t)
		c.optimistic = true
		for start := 0; start < n; start += chunkSize {
			end := min(start+chunkSize, n)
			if err := c.chunk(ps[start:end], results[start:end]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.fallbacks != 1 {
		t.Errorf("fallbacks = %d, want 1 (only the second chunk)", c.fallbacks)
	}

	for i, r := range results {
		want, isRefused := refused[i]
		switch {
		case isRefused && r.Err == nil:
			t.Errorf("item %d: no error", i)
		case isRefused && want != nil && !errors.Is(r.Err, want):
			t.Errorf("item %d: err = %v, want %v", i, r.Err, want)
		case !isRefused && r.Err != nil:
			t.Errorf("item %d: %v", i, r.Err)
		}
		if isRefused {
			if _, err := st.GetUser(ctx, ps[i].User.ID); !errors.Is(err, store.ErrNotFound) && i != inChunk2+4 {
				t.Errorf("item %d wrote its user: %v", i, err)
			}
			continue
		}
		m, err := st.GetMembership(ctx, org, r.User.ID)
		if err != nil || m.Seq != r.Membership.Seq {
			t.Errorf("item %d: membership %+v, %v; want seq %d", i, m, err, r.Membership.Seq)
		}
		inv, err := st.GetInvitation(ctx, ps[i].Invitation.ID)
		if err != nil || inv.UserID != r.User.ID {
			t.Errorf("item %d: invitation %+v, %v", i, inv, err)
		}
	}
	// The taken ids still belong to the old invite.
	inv, err := st.GetInvitation(ctx, old.Invitation.ID)
	if err != nil || inv.Email != old.User.Email {
		t.Errorf("old invitation = %+v, %v", inv, err)
	}
	page, err := st.ListMembers(ctx, org, store.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(page.Members), 1+n-len(refused); got != want {
		t.Errorf("%d members, want %d", got, want)
	}
	for i := 1; i < len(page.Members); i++ {
		if page.Members[i].Membership.Seq <= page.Members[i-1].Membership.Seq {
			t.Fatalf("members out of order at %d", i)
		}
	}
	evs, err := st.ListEvents(ctx, org, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(evs), 2+n-len(refused); got != want { // + organization created, old invite
		t.Errorf("%d events, want %d", got, want)
	}
	queued, err := st.CountOutbox(ctx, store.OutboxQueued)
	if err != nil || queued != 1+n-len(refused) {
		t.Errorf("%d queued mails (%v), want %d", queued, err, 1+n-len(refused))
	}
}

// Bulk writes kick the background checkpointer, which copies the WAL into
// the database file on its own connection; Close stops it.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "ck.db"), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const org = "org_ck"
	if err := st.CreateOrganization(ctx, store.Organization{ID: org, Name: "CK"}, store.Event{Type: store.EventOrganizationCreated}); err != nil {
		t.Fatal(err)
	}
	ps := make([]store.CreateMembershipParams, checkpointEvery)
	for i := range ps {
		ps[i] = batchItem(org, i)
	}
	if st.ck.runs.Load() != 0 {
		t.Fatal("checkpointed before any bulk write")
	}
	if _, err := st.CreateMemberships(ctx, ps); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); st.ck.runs.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no background checkpoint after a bulk write")
		}
	}
	// Everything committed so far is in the database file: a checkpoint
	// now has nothing left to copy.
	var busy, logFrames, copied int
	if err := st.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &copied); err != nil {
		t.Fatal(err)
	}
	if busy != 0 || logFrames != copied {
		t.Errorf("wal_checkpoint = busy %d, %d frames, %d copied", busy, logFrames, copied)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.ck.done:
	default:
		t.Error("Close left the checkpointer running")
	}
}
