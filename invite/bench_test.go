package invite_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/invitekit/invitekit/invite"
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
