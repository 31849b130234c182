package webhooks_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// raceRounds is how often each race runs per store.
const raceRounds = 60

// together runs fns at the same moment and waits for them.
func together(fns ...func()) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn()
		}()
	}
	close(start)
	wg.Wait()
}

// TestConcurrentEndpointChangesKeepBoth: a rotation and a PATCH of the same
// endpoint at the same moment, and a dispatcher's disable and a PATCH at
// the same moment, many times, on memstore, SQLite and PostgreSQL: the
// endpoint always ends with both changes (the new secret, already handed
// to the caller, signs; the disable stays), because the store's update is
// a compare-and-swap on the endpoint's revision and the Service redoes its
// own change on a refusal.
func TestConcurrentEndpointChangesKeepBoth(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		e := invitetest.NewEnv(t, st, nil)
		sealer := e.Svc.Sealer()
		wh, err := webhooks.New(st, webhooks.Config{Sealer: sealer, InsecureAllowPrivate: true, InsecureAllowHTTP: true})
		require.NoError(t, err)
		ws, health := st.(store.WebhookStore), st.(store.WebhookEndpointHealth)
		secretOf := func(sealed []byte, id string) string {
			t.Helper()
			m, err := sealer.Open(id, sealed)
			require.NoError(t, err)
			return m["secret"]
		}
		create := func(i int) (webhooks.Endpoint, string) {
			t.Helper()
			ep, secret, err := wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: fmt.Sprintf("http://127.0.0.1:1/%d", i),
				EventTypes: []string{store.WebhookMembershipCreated}}, "")
			require.NoError(t, err)
			return ep, secret
		}

		t.Run("RotationAndPatch", func(t *testing.T) {
			for i := range raceRounds {
				ep, first := create(i)
				var rotated string
				var rotErr, patchErr error
				desc := fmt.Sprintf("patched %d", i)
				together(
					func() { rotated, rotErr = wh.RotateSecret(ctx, "", ep.ID) },
					func() { _, patchErr = wh.UpdateEndpoint(ctx, "", ep.ID, webhooks.EndpointUpdate{Description: &desc}) },
				)
				require.NoError(t, rotErr)
				require.NoError(t, patchErr)
				got, err := ws.GetWebhookEndpoint(ctx, ep.ID)
				require.NoError(t, err)
				require.Equal(t, desc, got.Description, "round %d: the PATCH stays", i)
				require.Equal(t, rotated, secretOf(got.SealedSecret, ep.ID), "round %d: the rotated secret the caller got is the one that signs", i)
				require.Equal(t, first, secretOf(got.SealedPreviousSecret, ep.ID), "round %d: the first secret still signs in the overlap", i)
				require.Equal(t, int64(2), got.Revision, "round %d: two writes", i)
			}
		})

		t.Run("DisableAndPatch", func(t *testing.T) {
			for i := range raceRounds {
				ep, _ := create(1000 + i)
				t0 := time.Now().UTC().Add(-time.Hour)
				require.NoError(t, health.NoteWebhookFailure(ctx, ep.ID, t0))
				url := fmt.Sprintf("http://127.0.0.1:2/%d", i)
				var disabled bool
				var disErr, patchErr error
				together(
					func() { // what the dispatcher does after DisableAfter of failures
						disabled, disErr = health.DisableFailingWebhookEndpoint(ctx, ep.ID, t0, time.Now().UTC(), "failing",
							store.Event{ID: store.NewID("evt"), Type: store.EventWebhookEndpointDisabled, Data: map[string]string{"endpoint_id": ep.ID}})
					},
					func() { _, patchErr = wh.UpdateEndpoint(ctx, "", ep.ID, webhooks.EndpointUpdate{URL: &url}) },
				)
				require.NoError(t, disErr)
				require.NoError(t, patchErr)
				require.True(t, disabled, "round %d", i)
				got, err := ws.GetWebhookEndpoint(ctx, ep.ID)
				require.NoError(t, err)
				require.Equal(t, url, got.URL, "round %d: the PATCH stays", i)
				require.NotNil(t, got.DisabledTime, "round %d: a PATCH that does not touch enabled keeps the dispatcher's disable", i)
				require.Equal(t, "failing", got.DisabledReason, "round %d", i)
			}
		})
	})
}
