package invite_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/mailer/outbox"
)

// TestJoinRequestNotifiesAdmins: a request to join queues one
// join_requested mail to each ACTIVE admin of the organization (not to
// invited or plain members, not to another organization's admins), with
// the request, in the request's own write: a refused request queues none.
// JoinRequests.NotifyRole picks another role.
func TestJoinRequestNotifiesAdmins(t *testing.T) {
	for _, sc := range invitetestStoresWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			for _, tc := range []struct {
				role string
				want []string
			}{
				{"", []string{"dan@acme.example", "eve@acme.example"}},
				{"billing", []string{"eve@acme.example"}},
			} {
				e := newEnv(t, sc.Open(t), func(c *invite.Config) { c.JoinRequests.NotifyRole = tc.role })
				acme, other := e.Org(t, "org_acme"), e.Org(t, "org_other")
				e.AddActive(t, acme.ID, "dan@acme.example", "admin")
				e.AddActive(t, acme.ID, "eve@acme.example", "admin", "billing")
				e.AddActive(t, acme.ID, "mo@acme.example", "member")
				e.Invite(t, acme.ID, "ina@acme.example", "admin", "billing")
				e.AddActive(t, other.ID, "bob@other.example", "admin", "billing")
				before, otherBefore := len(e.Queued(t, acme.ID)), len(e.Queued(t, other.ID))

				_, err := e.Svc.RequestToJoin(ctx, acme.ID, ask("ann@example.com"))
				require.NoError(t, err)
				var to []string
				for _, m := range e.Queued(t, acme.ID)[before:] {
					require.Equal(t, invite.MailJoinRequested, m.Kind)
					assert.Equal(t, "ann@example.com", m.Data[outbox.DataRequester])
					assert.Equal(t, "Ann Lee", m.Data[outbox.DataRequesterName])
					assert.Equal(t, "I work in sales", m.Data[outbox.DataMessage])
					assert.Equal(t, acme.Name, m.Data[outbox.DataOrgName])
					assert.Empty(t, m.Sealed, "a notice carries no link")
					to = append(to, m.To)
				}
				slices.Sort(to)
				assert.Equal(t, tc.want, to, "role %q", tc.role)
				assert.Len(t, e.Queued(t, other.ID), otherBefore, "another organization's admins hear nothing")

				queued := len(e.Queued(t, acme.ID))
				_, err = e.Svc.RequestToJoin(ctx, acme.ID, ask("ann@example.com"))
				require.ErrorIs(t, err, invite.ErrJoinRequestPending)
				assert.Len(t, e.Queued(t, acme.ID), queued, "a refused request queues nothing")
			}
		})
	}
}

// TestJoinNotifyRoleConfig: a notice role outside Config.Roles is refused
// by New.
func TestJoinNotifyRoleConfig(t *testing.T) {
	_, err := invite.New(invitetest.OpenMem(t), invite.Config{
		Roles: []string{"admin", "member"}, SecretKey: invitetest.TestKey, AcceptURL: invitetest.AcceptURL,
		JoinRequests: invite.JoinRequestConfig{NotifyRole: "owner"},
	})
	require.ErrorContains(t, err, "NotifyRole")
}
