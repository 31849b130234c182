package webhooks_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// TestApprovalWebhooks: every step of approval before invitation is
// delivered to a subscribed endpoint, in the step's own transaction (the
// SQL stores' trigger, memstore's lock): a hold, an approval (which is
// also the invitation and the membership a plain invite creates), a
// rejection. On memstore, SQLite and PostgreSQL.
func TestApprovalWebhooks(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e := invitetest.NewEnv(t, sc.Open(t), nil)
			org := e.Org(t, "org_hooks")
			hooks, err := webhooks.New(e.St, webhooks.Config{Sealer: e.Svc.Sealer(), InsecureAllowPrivate: true, InsecureAllowHTTP: true})
			require.NoError(t, err)
			ep, _, err := hooks.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: "http://127.0.0.1:9/hook", OrganizationID: org.ID,
				EventTypes: []string{store.WebhookInvitationHeld, store.WebhookInvitationApproved, store.WebhookInvitationRejected,
					store.WebhookInvitationHoldExpired, store.WebhookInvitationCreated, store.WebhookMembershipCreated}}, "")
			require.NoError(t, err)
			_, err = e.Svc.SetApprovalRules(ctx, org.ID, invite.ApprovalRulesInput{All: true}, "")
			require.NoError(t, err)
			var held []string
			for _, email := range []string{"a@else.example", "b@else.example"} {
				res, err := e.Svc.CreateUserAndMembership(ctx, org.ID, invite.InviteRequest{Email: email})
				require.NoError(t, err)
				require.NotNil(t, res.Approval)
				held = append(held, res.Approval.ID)
			}
			_, _, err = e.Svc.ApproveInvite(ctx, org.ID, held[0], "", invite.ApproveRequest{})
			require.NoError(t, err)
			_, err = e.Svc.RejectInvite(ctx, org.ID, held[1], "", invite.RejectRequest{Reason: "no"})
			require.NoError(t, err)

			ds, err := hooks.Deliveries(ctx, org.ID, ep.ID, "", 100)
			require.NoError(t, err)
			var types []string
			for _, d := range ds {
				types = append(types, d.Type)
			}
			slices.Sort(types)
			require.Equal(t, []string{
				store.WebhookInvitationApproved, store.WebhookInvitationCreated,
				store.WebhookInvitationHeld, store.WebhookInvitationHeld,
				store.WebhookInvitationRejected, store.WebhookMembershipCreated,
			}, types, "a held invite is not yet invitation.created nor membership.created")
		})
	}
}
