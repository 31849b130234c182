package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// An invite through the Service into a known organization is one write
// transaction of six statements: the membership's seq reserved together
// with the approval rules' revision (the decision's guard), then one
// INSERT per table. The seqs stay distinct and in order.
func TestServiceInviteStatements(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "kit.db"), sqlitestore.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	svc, err := invite.New(st, invite.Config{Roles: []string{"admin", "member"}, SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		AcceptURL: "https://app.example.com/invite/accept"})
	require.NoError(t, err)
	_, _, err = svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_a", Name: "A"})
	require.NoError(t, err)

	var stmts []string
	st.OnWriteStatement(func(q string) { stmts = append(stmts, strings.Fields(q)[0]+" "+strings.Fields(q)[2]) })
	var seqs []int64
	for i := range 3 {
		stmts = nil
		res, err := svc.CreateUserAndMembership(ctx, "org_a", invite.InviteRequest{Email: fmt.Sprintf("p%d@example.com", i)})
		require.NoError(t, err)
		seqs = append(seqs, res.Membership.Seq)
		if i == 0 {
			continue // the first invite reads the organization
		}
		require.Equal(t, []string{"UPDATE SET", "INSERT users", "INSERT memberships", "INSERT invitations", "INSERT outbox", "INSERT events"}, stmts)
	}
	require.Less(t, seqs[0], seqs[1])
	require.Equal(t, seqs[1]+1, seqs[2])
	m, err := st.GetMembership(ctx, "org_a", mustUserID(t, st, "p2@example.com"))
	require.NoError(t, err)
	require.Equal(t, seqs[2], m.Seq)
}

func mustUserID(t *testing.T, st *sqlitestore.Store, email string) string {
	t.Helper()
	u, err := st.GetUserByEmail(context.Background(), email)
	require.NoError(t, err)
	return u.ID
}
