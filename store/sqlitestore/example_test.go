package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// Open a database file (created and migrated on first use), invite a person
// and read the membership back.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "invitekit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "invitekit.db"), sqlitestore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	org := store.Organization{ID: "org_acme", Name: "Acme", CreateTime: now, UpdateTime: now}
	if err := st.CreateOrganization(ctx, org, store.Event{Type: store.EventOrganizationCreated, CreateTime: now}); err != nil {
		log.Fatal(err)
	}
	res, err := st.CreateMembership(ctx, store.CreateMembershipParams{
		User: store.User{ID: "usr_ann", Email: "ann@example.com", CreateTime: now, UpdateTime: now},
		Membership: store.Membership{
			OrganizationID: org.ID, Status: store.StatusPendingInvite, Roles: []string{"member"},
			InviteExpireTime: now.Add(15 * 24 * time.Hour), JoinTime: now, UpdateTime: now,
		},
		Invitation: &store.Invitation{
			ID: "inv_1", Email: "ann@example.com", VerifierHash: []byte("sha-256 of the verifier"),
			CreateTime: now, ExpireTime: now.Add(15 * 24 * time.Hour),
		},
		Outbox: &store.OutboxMessage{Kind: store.MailInvitation, To: "ann@example.com", CreateTime: now},
		Event:  store.Event{Type: store.EventMembershipInvited, CreateTime: now},
	})
	if err != nil {
		log.Fatal(err)
	}
	m, err := st.GetMembership(ctx, org.ID, res.User.ID)
	if err != nil {
		log.Fatal(err)
	}
	queued, _ := st.CountOutbox(ctx, store.OutboxQueued)
	fmt.Println(m.UserID, m.Status, m.Roles, m.EffectiveStatus(now.Add(16*24*time.Hour)), queued)
	// Output:
	// usr_ann PENDING_INVITE [member] INVITE_EXPIRED 1
}

// Bulk import: many invites in one transaction; refused items are reported
// one by one and do not stop the others.
func ExampleStore_CreateMemberships() {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, sqlitestore.MemoryPath, sqlitestore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	if err := st.CreateOrganization(ctx, store.Organization{ID: "org_acme", Name: "Acme"}, store.Event{Type: store.EventOrganizationCreated}); err != nil {
		log.Fatal(err)
	}
	add := func(email string) store.CreateMembershipParams {
		return store.CreateMembershipParams{
			User:       store.User{Email: email, CreateTime: now, UpdateTime: now},
			Membership: store.Membership{OrganizationID: "org_acme", Status: store.StatusActive, JoinTime: now, UpdateTime: now},
			Event:      store.Event{Type: store.EventMembershipAdded, CreateTime: now},
		}
	}
	res, err := st.CreateMemberships(ctx, []store.CreateMembershipParams{
		add("ann@example.com"), add("bob@example.com"), add("ann@example.com"),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Println(r.Membership.Seq, r.UserCreated, errors.Is(r.Err, store.ErrAlreadyMember))
	}
	// Output:
	// 1 true false
	// 2 true false
	// 0 false true
}
