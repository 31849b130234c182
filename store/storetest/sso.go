package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// RunSSO runs the conformance suite of store.SSOConnectionStore against
// the stores newStore returns (each must implement it), one per subtest.
func RunSSO(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture, s store.SSOConnectionStore)
	}{
		{"PutGetReplaceDelete", testSSOConnections},
		{"ScopedByOrganization", testSSOScoped},
		{"Trust", testSSOTrust},
		{"ChangesPublished", testSSOChanges},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			if c, ok := st.(store.Closer); ok {
				defer c.Close()
			}
			s, ok := st.(store.SSOConnectionStore)
			if !ok {
				t.Fatalf("%T does not implement store.SSOConnectionStore", st)
			}
			tc.fn(t, &fixture{t: t, ctx: t.Context(), st: st, now: epoch()}, s)
		})
	}
}

func (f *fixture) ssoConnection(orgID string) store.SSOConnection {
	return store.SSOConnection{
		ID: store.NewID("ssc"), OrganizationID: orgID, Name: "Okta " + token(),
		Issuer: "https://idp.example.com/" + token(), ClientID: "client-" + token(),
		SealedSecret: []byte("sealed " + token()), Scopes: []string{"openid", "email", "groups"},
		EmailClaim: "upn", NameClaim: "display_name", Enforce: true, CreatedBy: "usr_storetest",
		CreateTime: f.now, UpdateTime: f.now,
	}
}

func testSSOConnections(t *testing.T, f *fixture, s store.SSOConnectionStore) {
	org := f.org()
	_, err := s.GetSSOConnection(f.ctx, org.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "none yet")
	require.ErrorIs(t, s.DeleteSSOConnection(f.ctx, org.ID, f.ev(org.ID, "", store.EventSSOConnectionDeleted)), store.ErrNotFound)
	before := len(f.events(org.ID))

	c := f.ssoConnection(org.ID)
	require.NoError(t, s.PutSSOConnection(f.ctx, c, f.ev(org.ID, "", store.EventSSOConnectionSaved)))
	got, err := s.GetSSOConnection(f.ctx, org.ID)
	require.NoError(t, err)
	require.Equal(t, c, got, "every field round-trips")
	require.Len(t, f.events(org.ID), before+1, "the put wrote its event")

	// The caller's slices are not shared.
	c.Scopes[0], c.SealedSecret[0] = "mutated", 'X'
	got2, _ := s.GetSSOConnection(f.ctx, org.ID)
	require.Equal(t, "openid", got2.Scopes[0])
	require.Equal(t, byte('s'), got2.SealedSecret[0])

	// Replace: same id, changed fields; a public client has no secret.
	upd := got.Clone()
	upd.Name, upd.Enforce, upd.SealedSecret, upd.Scopes = "Entra", false, nil, nil
	upd.EmailClaim, upd.NameClaim = "", ""
	upd.UpdateTime = f.now.Add(time.Hour)
	require.NoError(t, s.PutSSOConnection(f.ctx, upd, f.ev(org.ID, "", store.EventSSOConnectionSaved)))
	got, err = s.GetSSOConnection(f.ctx, org.ID)
	require.NoError(t, err)
	require.Equal(t, "Entra", got.Name)
	require.False(t, got.Enforce)
	require.Empty(t, got.SealedSecret)
	require.Empty(t, got.Scopes)
	require.True(t, got.UpdateTime.Equal(upd.UpdateTime))
	require.True(t, got.CreateTime.Equal(c.CreateTime))

	// A new id replaces the organization's one connection.
	other := f.ssoConnection(org.ID)
	require.NoError(t, s.PutSSOConnection(f.ctx, other, f.ev(org.ID, "", store.EventSSOConnectionSaved)))
	got, _ = s.GetSSOConnection(f.ctx, org.ID)
	require.Equal(t, other.ID, got.ID)

	require.NoError(t, s.DeleteSSOConnection(f.ctx, org.ID, f.ev(org.ID, "", store.EventSSOConnectionDeleted)))
	_, err = s.GetSSOConnection(f.ctx, org.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Equal(t, store.EventSSOConnectionDeleted, f.lastEvent(org.ID).Type)
	require.Len(t, f.events(org.ID), before+4)

	// No such organization: nothing written.
	err = s.PutSSOConnection(f.ctx, f.ssoConnection("org_missing"), f.ev("org_missing", "", store.EventSSOConnectionSaved))
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Empty(t, f.events("org_missing"))
}

func testSSOScoped(t *testing.T, f *fixture, s store.SSOConnectionStore) {
	a, b := f.org(), f.org()
	ca := f.ssoConnection(a.ID)
	require.NoError(t, s.PutSSOConnection(f.ctx, ca, f.ev(a.ID, "", store.EventSSOConnectionSaved)))
	_, err := s.GetSSOConnection(f.ctx, b.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "B does not see A's connection")
	require.ErrorIs(t, s.DeleteSSOConnection(f.ctx, b.ID, f.ev(b.ID, "", store.EventSSOConnectionDeleted)), store.ErrNotFound)
	cb := f.ssoConnection(b.ID)
	require.NoError(t, s.PutSSOConnection(f.ctx, cb, f.ev(b.ID, "", store.EventSSOConnectionSaved)))
	got, _ := s.GetSSOConnection(f.ctx, a.ID)
	require.Equal(t, ca.ID, got.ID, "B's put left A's connection alone")
	for _, ev := range f.events(a.ID) {
		require.Equal(t, a.ID, ev.OrganizationID)
	}
}

func testSSOTrust(t *testing.T, f *fixture, s store.SSOConnectionStore) {
	a, b := f.org(), f.org()
	ids, err := s.ListSSOTrust(f.ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, ids)
	ca := f.ssoConnection(a.ID)
	require.NoError(t, s.PutSSOConnection(f.ctx, ca, f.ev(a.ID, "", store.EventSSOConnectionSaved)))

	require.NoError(t, s.SetSSOTrust(f.ctx, b.ID, []string{ca.ID, "ssc_zz", ca.ID, ""}, f.ev(b.ID, "", store.EventSSOTrustUpdated)))
	ids, err = s.ListSSOTrust(f.ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, store.NormalizeIDs([]string{ca.ID, "ssc_zz"}), ids)
	require.Equal(t, store.EventSSOTrustUpdated, f.lastEvent(b.ID).Type)
	ids, _ = s.ListSSOTrust(f.ctx, a.ID)
	require.Empty(t, ids, "trust is the trusting organization's")

	// Deleting A's connection leaves B's list as B set it: A's change
	// must not show B's admin which of B's ids was a real connection (an
	// id that names no connection matches nothing; ids are never reused).
	require.NoError(t, s.DeleteSSOConnection(f.ctx, a.ID, f.ev(a.ID, "", store.EventSSOConnectionDeleted)))
	ids, _ = s.ListSSOTrust(f.ctx, b.ID)
	require.Equal(t, store.NormalizeIDs([]string{ca.ID, "ssc_zz"}), ids)

	require.NoError(t, s.SetSSOTrust(f.ctx, b.ID, nil, f.ev(b.ID, "", store.EventSSOTrustUpdated)))
	ids, _ = s.ListSSOTrust(f.ctx, b.ID)
	require.Empty(t, ids)

	err = s.SetSSOTrust(f.ctx, "org_missing", []string{"ssc_x"}, f.ev("org_missing", "", store.EventSSOTrustUpdated))
	require.True(t, errors.Is(err, store.ErrNotFound), "%v", err)
}

// testSSOChanges: on a store.ChangeNotifier, every committed SSO write
// publishes Change{OrganizationID: org} (the organization's policy
// changed), and a refused one publishes nothing: after it, the next change
// is a marker's.
func testSSOChanges(t *testing.T, f *fixture, s store.SSOConnectionStore) {
	cn := changeNotifier(t, f)
	org, other := f.org(), f.org()
	r := f.subscribe(t, cn, f.ctx)
	want := store.Change{OrganizationID: org.ID}
	c := f.ssoConnection(org.ID)
	require.NoError(t, s.PutSSOConnection(f.ctx, c, f.ev(org.ID, "", store.EventSSOConnectionSaved)))
	require.Equal(t, want, r.next("PutSSOConnection").c)
	c.Enforce = false
	require.NoError(t, s.PutSSOConnection(f.ctx, c, f.ev(org.ID, "", store.EventSSOConnectionSaved)))
	require.Equal(t, want, r.next("PutSSOConnection (replace)").c)
	require.NoError(t, s.SetSSOTrust(f.ctx, other.ID, []string{c.ID}, f.ev(other.ID, "", store.EventSSOTrustUpdated)))
	require.Equal(t, store.Change{OrganizationID: other.ID}, r.next("SetSSOTrust").c)
	require.NoError(t, s.DeleteSSOConnection(f.ctx, org.ID, f.ev(org.ID, "", store.EventSSOConnectionDeleted)))
	require.Equal(t, want, r.next("DeleteSSOConnection").c)

	require.ErrorIs(t, s.DeleteSSOConnection(f.ctx, org.ID, f.ev(org.ID, "", store.EventSSOConnectionDeleted)), store.ErrNotFound)
	require.ErrorIs(t, s.SetSSOTrust(f.ctx, "org_missing", nil, f.ev("org_missing", "", store.EventSSOTrustUpdated)), store.ErrNotFound)
	missing := f.ssoConnection("org_missing")
	require.ErrorIs(t, s.PutSSOConnection(f.ctx, missing, f.ev("org_missing", "", store.EventSSOConnectionSaved)), store.ErrNotFound)
	marker := f.add(org.ID, f.email("marker"))
	require.Equal(t, store.Change{OrganizationID: org.ID, UserID: marker.User.ID}, r.next("marker (nothing for the refused writes)").c)
	require.Zero(t, r.lost.Load())
}
