package webhooks_test

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
)

// TestSSOWebhooks: every SSO connection change is delivered by the real
// dispatcher, signed and checked by the Standard Webhooks reference
// verifiers (Go, and npm when installed): a connection created and
// updated (sso.connection_saved, action created/updated), the trusted
// list changed (sso.trust_updated, the organization's own ids), the
// connection removed (sso.connection_deleted). A sign-in through the
// connection is user.signed_in with details.connection_id. No payload
// carries the client secret, sealed or not; an organization-scoped
// endpoint gets nothing of another organization's connection. On
// memstore, SQLite and PostgreSQL.
func TestSSOWebhooks(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		cs, ok := st.(store.SSOConnectionStore)
		require.True(t, ok, "the store keeps SSO connections")
		e := newEnv(t, st, webhooks.DispatcherConfig{})
		orgA, orgB := e.Org(t, "org_a"), e.Org(t, "org_b")
		types := []string{store.WebhookSSOConnectionSaved, store.WebhookSSOConnectionDeleted, store.WebhookSSOTrustUpdated,
			store.WebhookUserSignedIn}
		app, onlyA := newReceiver(t), newReceiver(t)
		_, secret, err := e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: app.srv.URL, EventTypes: types}, "usr_app")
		require.NoError(t, err)
		app.secret = secret
		_, secret, err = e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: onlyA.srv.URL, EventTypes: types, OrganizationID: orgA.ID}, "usr_app")
		require.NoError(t, err)
		onlyA.secret = secret

		clientSecret, otherSecret := "A-CLIENT-SECRET-MARKER", "B-CLIENT-SECRET-MARKER"
		b, err := e.Svc.SaveSSOConnection(ctx, orgB.ID, invite.SSOConnectionRequest{Name: "B IdP", Issuer: "https://b-marker.example.com",
			ClientID: "b-client", ClientSecret: &otherSecret}, "usr_b_admin")
		require.NoError(t, err)
		a, err := e.Svc.SaveSSOConnection(ctx, orgA.ID, invite.SSOConnectionRequest{Name: "A IdP", Issuer: "https://a.example.com",
			ClientID: "a-client", ClientSecret: &clientSecret}, "usr_a_admin")
		require.NoError(t, err)
		_, err = e.Svc.SaveSSOConnection(ctx, orgA.ID, invite.SSOConnectionRequest{Name: "A IdP", Issuer: "https://a.example.com",
			ClientID: "a-client", Enforce: true}, "usr_a_admin") // keeps the secret
		require.NoError(t, err)
		raw, err := cs.GetSSOConnection(ctx, orgA.ID)
		require.NoError(t, err)
		require.NotEmpty(t, raw.SealedSecret)
		unknown := "ssc_unknown0000000000000000"
		require.NoError(t, e.Svc.SetSSOTrust(ctx, orgA.ID, []string{b.ID, unknown}, "usr_a_admin"))

		// A member of A signs in through A's connection.
		inv := e.Invite(t, orgA.ID, "pat@example.com", "member")
		id := invite.AcceptIdentity{Issuer: raw.IdentityIssuer(), Subject: "pat-sub", Email: "pat@example.com", EmailVerified: true,
			Organization: orgA.ID, Connection: a.ID}
		_, err = e.Svc.AcceptInvitation(ctx, tokenOf(t, inv.AcceptLink), id)
		require.NoError(t, err)
		_, _, err = e.Svc.SignIn(ctx, id)
		require.NoError(t, err)

		require.NoError(t, e.Svc.DeleteSSOConnection(ctx, orgA.ID, "usr_a_admin"))
		e.drain(t)

		gotA := onlyA.deliveries()
		var seen []string
		for _, r := range gotA {
			p := r.payload
			seen = append(seen, p.Type)
			require.Equal(t, orgA.ID, p.Data.OrganizationID)
			switch p.Type {
			case store.WebhookSSOConnectionSaved, store.WebhookSSOConnectionDeleted:
				require.Equal(t, a.ID, p.Data.Details["connection_id"])
				require.Equal(t, "https://a.example.com", p.Data.Details["issuer"])
				require.Equal(t, "usr_a_admin", p.Data.ActorID)
			case store.WebhookSSOTrustUpdated:
				require.Equal(t, strings.Join(store.NormalizeIDs([]string{b.ID, unknown}), " "), p.Data.Details["connection_ids"],
					"the organization's own trusted list")
			case store.WebhookUserSignedIn:
				require.Equal(t, a.ID, p.Data.Details["connection_id"], "an SSO sign-in names its connection")
				require.Equal(t, inv.User.ID, p.Data.UserID)
			}
		}
		require.Equal(t, []string{store.WebhookSSOConnectionSaved, store.WebhookSSOConnectionSaved, store.WebhookSSOTrustUpdated,
			store.WebhookUserSignedIn, store.WebhookUserSignedIn, store.WebhookSSOConnectionDeleted}, seen, "in order")
		require.Equal(t, "created", gotA[0].payload.Data.Details["action"])
		require.Equal(t, "updated", gotA[1].payload.Data.Details["action"])
		require.Equal(t, "true", gotA[1].payload.Data.Details["enforce"])

		all := append(app.deliveries(), gotA...)
		require.Len(t, all, 2*len(gotA)+1, "the app-wide endpoint also gets B's connection")
		for _, r := range all {
			for _, s := range []string{clientSecret, otherSecret, base64.StdEncoding.EncodeToString(raw.SealedSecret),
				base64.RawURLEncoding.EncodeToString(raw.SealedSecret), hex.EncodeToString(raw.SealedSecret), "secret"} {
				require.NotContains(t, r.Body, s, "a payload carries the client secret")
			}
		}
		// The details of a connection change are these keys only: a new one
		// must be checked for secrets before it is listed here.
		allowed := map[string]bool{"action": true, "connection_id": true, "issuer": true, "enforce": true, "connection_ids": true}
		for _, r := range all {
			if r.payload.Type == store.WebhookUserSignedIn {
				continue
			}
			for k := range r.payload.Data.Details {
				require.True(t, allowed[k], "%s carries %q", r.payload.Type, k)
			}
		}
		for _, r := range gotA {
			require.NotContains(t, r.Body, orgB.ID)
			require.NotContains(t, r.Body, "b-marker", "nothing of the other organization's connection")
		}
		verifyWithNode(t, all)
	})
}
