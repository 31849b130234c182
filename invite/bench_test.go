package invite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// BenchmarkCreateUserAndMembership measures one invite (validation, the
// duplicate checks and the atomic write of user, membership, invitation,
// sealed outbox mail and event) per store.
func BenchmarkCreateUserAndMembership(b *testing.B) {
	for _, sc := range storeCases() {
		b.Run(sc.Name, func(b *testing.B) {
			e := newEnv(b, sc.Open(b), func(c *invite.Config) { c.OnMembershipChange = nil })
			e.Org(b, "org_bench")
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, err := e.Svc.CreateUserAndMembership(ctx, "org_bench", invite.InviteRequest{
					Email:       fmt.Sprintf("user%d@example.com", i),
					Roles:       []string{"member"},
					UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee"},
					Metadata:    map[string]string{"plan": "free", "department": "Engineering"},
				})
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkAcceptInvitation measures accepting one invitation (token check,
// atomic spend + identity link + activation + event, then the login record)
// per store. The invitations are created before the timer starts.
func BenchmarkAcceptInvitation(b *testing.B) {
	for _, sc := range storeCases() {
		b.Run(sc.Name, func(b *testing.B) {
			e := newEnv(b, sc.Open(b), func(c *invite.Config) { c.OnMembershipChange = nil })
			e.Org(b, "org_bench")
			ctx := context.Background()
			no := false
			tokens := make([]string, b.N)
			for i := range b.N {
				res, err := e.Svc.CreateUserAndMembership(ctx, "org_bench", invite.InviteRequest{
					Email: fmt.Sprintf("user%d@example.com", i), SendInvitationEmail: &no, ReturnAcceptLink: true,
				})
				if err != nil {
					b.Fatal(err)
				}
				tokens[i] = invite.TokenFromLink(res.AcceptLink)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				_, err := e.Svc.AcceptInvitation(ctx, tokens[i], invite.AcceptIdentity{
					Issuer: "https://idp.example.com", Subject: fmt.Sprintf("sub-%d", i),
					Email: fmt.Sprintf("user%d@example.com", i), EmailVerified: true,
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// serviceOnlyStore is memstore with the two single writes answered without
// doing them: BenchmarkServiceOnly then measures what the Service itself
// spends on an invite and an accept (validation, ids, the verifier, the
// sealed mail, the events), apart from any store.
type serviceOnlyStore struct{ *memstore.Store }

func (serviceOnlyStore) CreateMembershipGuarded(_ context.Context, p store.CreateMembershipParams, _ *store.ApprovalRequest, _ store.DecisionGuard) (store.CreateMembershipResult, error) {
	m := p.Membership
	m.UserID = p.User.ID
	return store.CreateMembershipResult{User: p.User, Membership: m, UserCreated: true}, nil
}

func (serviceOnlyStore) AcceptInvitationGuarded(_ context.Context, p store.AcceptParams, _ store.AcceptGuard, _ store.Event) (store.Membership, error) {
	return store.Membership{OrganizationID: "org_bench", UserID: "usr_bench", Status: store.StatusActive, PrimaryIdentityProvider: p.IdentityProvider}, nil
}

// BenchmarkServiceOnly is the Service's own work per invite (with a
// profile, metadata, a sealed mail and an event) and per accept (the
// one-call path of pgstore and sqlitestore), on a store that answers the
// write without doing it. Its inputs are made before the timer starts.
//
//	go test -run '^$' -bench ServiceOnly -benchmem ./invite/
func BenchmarkServiceOnly(b *testing.B) {
	b.Run("invite", func(b *testing.B) {
		e := newEnv(b, serviceOnlyStore{memstore.New()}, func(c *invite.Config) { c.OnMembershipChange = nil })
		e.Org(b, "org_bench")
		ctx := context.Background()
		emails := make([]string, b.N)
		for i := range emails {
			emails[i] = fmt.Sprintf("User%d@Example.com", i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			_, err := e.Svc.CreateUserAndMembership(ctx, "org_bench", invite.InviteRequest{
				Email:       emails[i],
				Roles:       []string{"member"},
				UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee"},
				Metadata:    map[string]string{"plan": "free", "department": "Engineering"},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("accept", func(b *testing.B) {
		e := newEnv(b, serviceOnlyStore{memstore.New()}, func(c *invite.Config) { c.OnMembershipChange = nil })
		ctx := context.Background()
		const token = "inv_0123456789abcdefghjkmnpqrs.0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
		subjects, emails := make([]string, b.N), make([]string, b.N)
		for i := range b.N {
			subjects[i], emails[i] = fmt.Sprintf("sub-%d", i), fmt.Sprintf("User%d@Example.com", i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			_, err := e.Svc.AcceptInvitation(ctx, token, invite.AcceptIdentity{
				Issuer: "https://idp.example.com", Subject: subjects[i], Email: emails[i], EmailVerified: true,
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
