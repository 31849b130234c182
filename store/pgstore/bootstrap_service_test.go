package pgstore_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
)

// TestServiceBootstrapTwoReplicas: both replicas run the same bootstrap
// through invite.Service (organization + admin); the one that does not
// create it gets invite.ErrOrganizationExists (today: ErrAlreadyInvited).
func TestServiceBootstrapTwoReplicas(t *testing.T) {
	_, rs := newReplicas(t, 2, nil)
	ctx := t.Context()
	req := func(id string) invite.CreateOrganizationRequest {
		return invite.CreateOrganizationRequest{ID: id, Name: "Acme", Admin: &invite.InviteRequest{Email: "founder+" + id + "@example.com"}}
	}
	_, _, err := rs[0].svc.CreateOrganization(ctx, req("org_seq"))
	require.NoError(t, err)
	_, _, err = rs[1].svc.CreateOrganization(ctx, req("org_seq"))
	require.ErrorIs(t, err, invite.ErrOrganizationExists, "sequential")
	for round := range 20 {
		id := "org_par" + string(rune('a'+round))
		var errs [2]error
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() { _, _, errs[i] = rs[i].svc.CreateOrganization(ctx, req(id)) })
		}
		wg.Wait()
		n := 0
		for _, err := range errs {
			if err == nil {
				n++
			} else {
				require.ErrorIs(t, err, invite.ErrOrganizationExists, "round %d", round)
			}
		}
		require.Equal(t, 1, n)
	}
}
