package invite_test

import (
	"context"
	"errors"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/store"
)

// TestKeptOrganizationRulesChangedBehindIt: the service keeps an
// organization (and the rules read with it) after the first invite. Rules
// changed behind its back (on the store directly: another replica) must
// decide the next invite as if read afresh — also when a hook would
// refuse on the old rules, where no guarded write follows the decision.
func TestKeptOrganizationRulesChangedBehindIt(t *testing.T) {
	policy := func(ctx context.Context, in invite.PolicyInput) (invite.PolicyDecision, error) {
		if in.Request.Email == "gated@example.com" && !in.Rules.All {
			return invite.PolicyDecision{Action: invite.PolicyDeny, Reason: "only while every invite is approved"}, nil
		}
		return invite.PolicyDecision{}, nil
	}
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) { keptRulesChanged(t, sc.Open(t), policy) })
	}
}

func keptRulesChanged(t *testing.T, st store.Store, policy func(context.Context, invite.PolicyInput) (invite.PolicyDecision, error)) {
	{
		as, ok := st.(store.ApprovalStore)
		if !ok {
			t.Skip("no approvals")
		}
		ctx := context.Background()
		for _, hooked := range []bool{false, true} {
			e := newEnv(t, st, func(c *invite.Config) {
				if hooked {
					c.InvitePolicy = policy
				}
			})
			org := map[bool]string{false: "org_plain", true: "org_hooked"}[hooked]
			e.Org(t, org)
			first := "first@example.com"
			if hooked {
				first = "gated@example.com" // refused: the rules are kept as "none"
			}
			res, err := e.Svc.CreateUserAndMembership(ctx, org, invite.InviteRequest{Email: first})
			var pe *invite.PolicyError
			switch {
			case hooked && !errors.As(err, &pe):
				t.Fatalf("hooked: first invite: err = %v, want the policy's refusal", err)
			case !hooked && (err != nil || res.Approval != nil):
				t.Fatalf("plain: first invite: %+v, %v", res, err)
			}
			ev := store.Event{ID: store.NewID("evt"), OrganizationID: org, Type: store.EventApprovalRulesUpdated, CreateTime: e.Clock.Now()}
			if _, err := as.SetApprovalRules(ctx, org, store.ApprovalRules{All: true, UpdateTime: e.Clock.Now()}, ev); err != nil {
				t.Fatal(err)
			}
			for _, email := range []string{"gated@example.com", "second@example.com"} {
				res, err := e.Svc.CreateUserAndMembership(ctx, org, invite.InviteRequest{Email: email})
				if err != nil {
					t.Fatalf("hooked %v: %s after the rules changed: %v", hooked, email, err)
				}
				if res.Approval == nil || res.Membership.Status != store.StatusPendingApproval {
					t.Errorf("hooked %v: %s after the rules changed: %s, want held", hooked, email, res.Membership.Status)
				}
			}
		}
	}
}
