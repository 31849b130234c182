package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// RunWebhooks runs the conformance suite of store.WebhookStore against the
// stores newStore returns (each must implement it), one per subtest.
func RunWebhooks(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture, w store.WebhookStore)
	}{
		{"Endpoints", testWebhookEndpoints},
		{"DeliveriesInTheEventsTransaction", testWebhookDeliveriesWritten},
		{"RolledBackWritesNothing", testWebhookRollback},
		{"Batch", testWebhookBatch},
		{"ClaimMarkReplay", testWebhookClaim},
		{"ExpiredOnce", testWebhookExpired},
		{"ClaimInOrder", testWebhookClaimInOrder},
		{"EndpointHealth", testWebhookEndpointHealth},
		{"MarkManyDelivered", testWebhookMarkMany},
		{"EndpointRevision", testWebhookEndpointRevision},
		{"DeliveriesPaged", testWebhookDeliveriesPaged},
		{"DeleteAtRevision", testWebhookDeleteAtRevision},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			if c, ok := st.(store.Closer); ok {
				defer c.Close()
			}
			w, ok := st.(store.WebhookStore)
			if !ok {
				t.Fatalf("%T does not implement store.WebhookStore", st)
			}
			tc.fn(t, &fixture{t: t, ctx: t.Context(), st: st, now: epoch()}, w)
		})
	}
}

func (f *fixture) endpoint(w store.WebhookStore, orgID string, types ...string) store.WebhookEndpoint {
	f.t.Helper()
	ep := store.WebhookEndpoint{
		ID: store.NewID("whep"), URL: "https://hooks.example.com/" + token(), EventTypes: types,
		OrganizationID: orgID, SealedSecret: []byte("sealed " + token()), CreatedBy: "usr_storetest",
		CreateTime: f.now, UpdateTime: f.now,
	}
	require.NoError(f.t, w.CreateWebhookEndpoint(f.ctx, ep))
	return ep
}

func (f *fixture) deliveries(w store.WebhookStore, ep store.WebhookEndpoint) []store.WebhookDelivery {
	f.t.Helper()
	ds, err := w.ListWebhookDeliveries(f.ctx, ep.ID, "", 0, 1000)
	require.NoError(f.t, err)
	return ds
}

// deliveryTypes lists the webhook types of ds.
func deliveryTypes(ds []store.WebhookDelivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Type)
	}
	return out
}

func testWebhookEndpoints(t *testing.T, f *fixture, w store.WebhookStore) {
	org := f.org()
	a := f.endpoint(w, "", store.WebhookMembershipCreated, store.WebhookInvitationCreated)
	b := f.endpoint(w, org.ID, store.WebhookUserSignedIn)

	got, err := w.GetWebhookEndpoint(f.ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, a.URL, got.URL)
	require.ElementsMatch(t, a.EventTypes, got.EventTypes)
	require.Equal(t, a.SealedSecret, got.SealedSecret)
	require.Nil(t, got.DisabledTime)

	_, err = w.GetWebhookEndpoint(f.ctx, "whep_missing")
	require.ErrorIs(t, err, store.ErrNotFound)

	app, err := w.ListWebhookEndpoints(f.ctx, "", false)
	require.NoError(t, err)
	require.Len(t, app, 1)
	require.Equal(t, a.ID, app[0].ID)
	orgs, err := w.ListWebhookEndpoints(f.ctx, org.ID, false)
	require.NoError(t, err)
	require.Len(t, orgs, 1)
	require.Equal(t, b.ID, orgs[0].ID)
	all, err := w.ListWebhookEndpoints(f.ctx, "", true)
	require.NoError(t, err)
	require.Len(t, all, 2)

	// Update: new types, disabled, an event in the same transaction.
	disabled := f.now.Add(time.Hour)
	b.EventTypes, b.DisabledTime, b.DisabledReason, b.URL = []string{store.WebhookIdentityLinked}, &disabled, "failing", "https://other.example.com/"
	ev := f.ev(org.ID, "", store.EventWebhookEndpointDisabled)
	require.NoError(t, w.UpdateWebhookEndpoint(f.ctx, b, &ev))
	got, err = w.GetWebhookEndpoint(f.ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, []string{store.WebhookIdentityLinked}, got.EventTypes)
	require.Equal(t, "https://other.example.com/", got.URL)
	require.NotNil(t, got.DisabledTime)
	require.True(t, got.DisabledTime.Equal(disabled))
	require.Equal(t, store.EventWebhookEndpointDisabled, f.lastEvent(org.ID).Type)
	require.ErrorIs(t, w.UpdateWebhookEndpoint(f.ctx, store.WebhookEndpoint{ID: "whep_missing"}, nil), store.ErrNotFound)

	require.NoError(t, w.DeleteWebhookEndpoint(f.ctx, a.ID))
	_, err = w.GetWebhookEndpoint(f.ctx, a.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, w.DeleteWebhookEndpoint(f.ctx, a.ID), store.ErrNotFound)
}

func testWebhookDeliveriesWritten(t *testing.T, f *fixture, w store.WebhookStore) {
	orgA, orgB := f.org(), f.org()
	app := f.endpoint(w, "", store.WebhookInvitationCreated, store.WebhookMembershipCreated, store.WebhookMembershipRolesChanged)
	updates := f.endpoint(w, orgA.ID, store.WebhookMembershipUpdated)
	onlyA := f.endpoint(w, orgA.ID, store.WebhookInvitationCreated, store.WebhookMembershipActivated)
	off := f.endpoint(w, "", store.WebhookInvitationCreated)
	now := f.now
	off.DisabledTime = &now
	require.NoError(t, w.UpdateWebhookEndpoint(f.ctx, off, nil))

	invA := f.invite(orgA.ID, f.email("a"))
	f.invite(orgB.ID, f.email("b"))

	ds := f.deliveries(w, app)
	require.Equal(t, []string{store.WebhookInvitationCreated, store.WebhookMembershipCreated,
		store.WebhookInvitationCreated, store.WebhookMembershipCreated}, deliveryTypes(ds))
	d := ds[0]
	require.Equal(t, store.WebhookPending, d.Status)
	require.Equal(t, 0, d.Attempts)
	require.Equal(t, orgA.ID, d.OrganizationID)
	require.Equal(t, orgA.ID, d.Event.OrganizationID)
	require.Equal(t, store.EventMembershipInvited, d.Event.Type)
	require.Equal(t, invA.User.ID, d.Event.UserID)
	require.Equal(t, store.WebhookMessageID(d.Event.ID, store.WebhookInvitationCreated), d.MessageID)
	require.True(t, d.NextAttemptTime.Equal(f.now), "due at the event's time")
	require.Greater(t, d.Event.Seq, int64(0))

	// The org-scoped endpoint gets only A's, and only its types.
	ds = f.deliveries(w, onlyA)
	require.Equal(t, []string{store.WebhookInvitationCreated}, deliveryTypes(ds))
	require.Equal(t, orgA.ID, ds[0].OrganizationID)
	require.Empty(t, f.deliveries(w, off), "a disabled endpoint gets nothing")

	// A metadata-only update is no roles_changed; a roles update is.
	user := invA.User.ID
	_, err := f.st.UpdateMembership(f.ctx, orgA.ID, user, store.MembershipUpdate{Metadata: map[string]string{"x": "y"}}, f.now,
		f.evData(orgA.ID, user, store.EventMembershipUpdated, map[string]string{"metadata": "updated"}))
	require.NoError(t, err)
	require.Len(t, f.deliveries(w, app), 4)
	_, err = f.st.UpdateMembership(f.ctx, orgA.ID, user, store.MembershipUpdate{Roles: []string{"admin"}}, f.now,
		f.evData(orgA.ID, user, store.EventMembershipUpdated, map[string]string{"roles": "admin"}))
	require.NoError(t, err)
	ds = f.deliveries(w, app)
	require.Len(t, ds, 5)
	require.Equal(t, store.WebhookMembershipRolesChanged, ds[4].Type)
	// membership.updated is every update, with what changed in its data.
	ds = f.deliveries(w, updates)
	require.Equal(t, []string{store.WebhookMembershipUpdated, store.WebhookMembershipUpdated}, deliveryTypes(ds))
	require.Equal(t, "updated", ds[0].Event.Data["metadata"])
	require.Equal(t, "admin", ds[1].Event.Data["roles"])

	// The same types as store.WebhookTypesOf, for every mapped event.
	for _, d := range ds {
		require.Contains(t, store.WebhookTypesOf(d.Event), d.Type)
	}
	// An endpoint created later gets no earlier event.
	late := f.endpoint(w, "", store.WebhookInvitationCreated)
	require.Empty(t, f.deliveries(w, late))
}

func (f *fixture) evData(orgID, userID, typ string, data map[string]string) store.Event {
	ev := f.ev(orgID, userID, typ)
	ev.Data = data
	return ev
}

func testWebhookRollback(t *testing.T, f *fixture, w store.WebhookStore) {
	org := f.org()
	ep := f.endpoint(w, "", store.WebhookMembershipCreated, store.WebhookInvitationCreated)
	email := f.email("dup")
	f.invite(org.ID, email)
	require.Len(t, f.deliveries(w, ep), 2)

	// A refused write (the user is already a member) appends no event and
	// writes no delivery.
	_, err := f.st.CreateMembership(f.ctx, InviteParams(org.ID, email, f.now))
	require.ErrorIs(t, err, store.ErrAlreadyMember)
	require.Len(t, f.deliveries(w, ep), 2)

	// An organization with a member whose second step fails: the
	// organization's event was written, then rolled back.
	if oc, ok := f.st.(store.OrganizationMemberCreator); ok {
		orgEp := f.endpoint(w, "", store.WebhookMembershipCreated)
		newOrg := store.Organization{ID: store.NewID("org"), Name: "N", CreateTime: f.now, UpdateTime: f.now}
		p := AddParams(newOrg.ID, f.email("new"), f.now)
		p.User.ExternalID = "taken-" + token()
		// An external id another user holds fails the membership step.
		q := AddParams(org.ID, f.email("holder"), f.now)
		q.User.ExternalID = p.User.ExternalID
		f.create(q)
		before := len(f.deliveries(w, orgEp))
		_, err := oc.CreateOrganizationWithMember(f.ctx, newOrg, f.ev(newOrg.ID, "", store.EventOrganizationCreated), p)
		require.ErrorIs(t, err, store.ErrExternalIDTaken)
		require.Len(t, f.deliveries(w, orgEp), before, "a rolled-back change delivers nothing")
	}
}

func testWebhookBatch(t *testing.T, f *fixture, w store.WebhookStore) {
	bc, ok := f.st.(store.BatchCreator)
	if !ok {
		t.Skip("no BatchCreator")
	}
	org := f.org()
	ep := f.endpoint(w, org.ID, store.WebhookMembershipCreated)
	var ps []store.CreateMembershipParams
	for range 20 {
		ps = append(ps, AddParams(org.ID, f.email("b"), f.now))
	}
	dup := ps[3]
	dup.User.ID, dup.Event.ID = store.NewID("usr"), store.NewID("evt")
	ps = append(ps, dup) // refused: already a member
	res, err := bc.CreateMemberships(f.ctx, ps)
	require.NoError(t, err)
	require.ErrorIs(t, res[20].Err, store.ErrAlreadyMember)
	ds := f.deliveries(w, ep)
	require.Len(t, ds, 20)
	for i, d := range ds {
		require.Equal(t, ps[i].Event.ID, d.Event.ID, "in the batch's order")
	}
}

func testWebhookClaim(t *testing.T, f *fixture, w store.WebhookStore) {
	// Three organizations: one's deliveries wait behind each other
	// (ClaimInOrder), these do not.
	ep := f.endpoint(w, "", store.WebhookMembershipCreated)
	for range 3 {
		f.add(f.org().ID, f.email("c"))
	}
	lease := f.now.Add(time.Minute)
	got, err := w.ClaimWebhookDeliveries(f.ctx, f.now, lease, 2)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Less(t, got[0].Seq, got[1].Seq)
	require.Equal(t, store.EventMembershipAdded, got[0].Event.Type)
	require.NotEmpty(t, got[0].Event.Data["email"], "the event comes with its data")
	more, err := w.ClaimWebhookDeliveries(f.ctx, f.now, lease, 10)
	require.NoError(t, err)
	require.Len(t, more, 1, "leased ones are not claimed again")
	none, err := w.ClaimWebhookDeliveries(f.ctx, f.now, lease, 10)
	require.NoError(t, err)
	require.Empty(t, none)

	d0, d1, d2 := got[0], got[1], more[0]
	require.NoError(t, w.MarkWebhookDelivered(f.ctx, ep.ID, d0.MessageID, 1, f.now))
	require.NoError(t, w.MarkWebhookRetry(f.ctx, ep.ID, d1.MessageID, 1, f.now.Add(10*time.Second), "503"))
	require.NoError(t, w.MarkWebhookDead(f.ctx, ep.ID, d2.MessageID, 5, "gave up"))
	// Transitions of a finished delivery are no-ops.
	require.NoError(t, w.MarkWebhookRetry(f.ctx, ep.ID, d0.MessageID, 9, f.now, "late"))
	require.ErrorIs(t, w.MarkWebhookDelivered(f.ctx, ep.ID, "msg_missing", 1, f.now), store.ErrNotFound)

	g0, err := w.GetWebhookDelivery(f.ctx, ep.ID, d0.MessageID)
	require.NoError(t, err)
	require.Equal(t, store.WebhookDelivered, g0.Status)
	require.Equal(t, 1, g0.Attempts)
	require.NotNil(t, g0.DeliveredTime)

	// The retry is due after its next attempt time, not before.
	none, err = w.ClaimWebhookDeliveries(f.ctx, f.now.Add(5*time.Second), lease, 10)
	require.NoError(t, err)
	require.Empty(t, none)
	again, err := w.ClaimWebhookDeliveries(f.ctx, f.now.Add(10*time.Second), f.now.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, d1.MessageID, again[0].MessageID)
	require.Equal(t, 1, again[0].Attempts)
	require.Equal(t, "503", again[0].LastError)

	dead, err := w.ListWebhookDeliveries(f.ctx, ep.ID, store.WebhookDead, 0, 0)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, 5, dead[0].Attempts)

	// Replay makes it pending and due now.
	require.NoError(t, w.ReplayWebhookDelivery(f.ctx, ep.ID, d2.MessageID, f.now.Add(time.Hour)))
	replayed, err := w.GetWebhookDelivery(f.ctx, ep.ID, d2.MessageID)
	require.NoError(t, err)
	require.Equal(t, store.WebhookPending, replayed.Status)
	require.Equal(t, 0, replayed.Attempts)
	require.True(t, replayed.NextAttemptTime.Equal(f.now.Add(time.Hour)))
	claimed, err := w.ClaimWebhookDeliveries(f.ctx, f.now.Add(time.Hour), f.now.Add(2*time.Hour), 10)
	require.NoError(t, err)
	require.Contains(t, messageIDs(claimed), d2.MessageID)
	require.ErrorIs(t, w.ReplayWebhookDelivery(f.ctx, ep.ID, "msg_missing", f.now), store.ErrNotFound)

	// Deleting the endpoint deletes its deliveries.
	require.NoError(t, w.DeleteWebhookEndpoint(f.ctx, ep.ID))
	_, err = w.GetWebhookDelivery(f.ctx, ep.ID, d0.MessageID)
	require.True(t, errors.Is(err, store.ErrNotFound))
}

func testWebhookExpired(t *testing.T, f *fixture, w store.WebhookStore) {
	org := f.org()
	ep := f.endpoint(w, "", store.WebhookInvitationExpired)
	exp := f.now.Add(time.Hour)
	expiring := f.invite(org.ID, f.email("e"), shortExpiry(exp))
	f.invite(org.ID, f.email("valid"))
	accepted := f.invite(org.ID, f.email("acc"), shortExpiry(exp))
	_, err := f.st.AcceptInvitation(f.ctx, f.acceptParams(accepted.Invitation, f.now))
	require.NoError(t, err)

	n, err := w.NoticeExpiredInvitations(f.ctx, f.now, 100)
	require.NoError(t, err)
	require.Equal(t, 0, n, "nothing expired yet")
	n, err = w.NoticeExpiredInvitations(f.ctx, exp, 100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = w.NoticeExpiredInvitations(f.ctx, exp.Add(time.Hour), 100)
	require.NoError(t, err)
	require.Equal(t, 0, n, "once per invitation")

	evs := f.events(org.ID)
	i := slices.IndexFunc(evs, func(e store.Event) bool { return e.Type == store.EventInvitationExpired })
	require.GreaterOrEqual(t, i, 0)
	require.Equal(t, expiring.User.ID, evs[i].UserID)
	require.Equal(t, expiring.Invitation.ID, evs[i].Data["invitation_id"])
	ds := f.deliveries(w, ep)
	require.Equal(t, []string{store.WebhookInvitationExpired}, deliveryTypes(ds))
}

func messageIDs(ds []store.WebhookDelivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.MessageID)
	}
	return out
}

// testWebhookClaimInOrder: deliveries of one endpoint and organization are
// claimed in order; one in backoff or leased holds back the later ones of
// its endpoint and organization, never another organization's.
func testWebhookClaimInOrder(t *testing.T, f *fixture, w store.WebhookStore) {
	orgA, orgB := f.org(), f.org()
	ep := f.endpoint(w, "", store.WebhookMembershipCreated)
	f.add(orgA.ID, f.email("a1"))
	f.add(orgB.ID, f.email("b1"))
	f.add(orgA.ID, f.email("a2"))
	f.add(orgA.ID, f.email("a3"))
	lease := f.now.Add(time.Minute)
	got, err := w.ClaimWebhookDeliveries(f.ctx, f.now, lease, 10)
	require.NoError(t, err)
	require.Len(t, got, 4)
	a1, b1, a2, a3 := got[0], got[1], got[2], got[3]
	require.Equal(t, []string{orgA.ID, orgB.ID, orgA.ID, orgA.ID}, []string{a1.OrganizationID, b1.OrganizationID, a2.OrganizationID, a3.OrganizationID})

	// a1 fails and waits 10 s; a2 and a3 are released unsent.
	retry := f.now.Add(10 * time.Second)
	require.NoError(t, w.MarkWebhookRetry(f.ctx, ep.ID, a1.MessageID, 1, retry, "503"))
	for _, d := range []store.WebhookDelivery{a2, a3} {
		require.NoError(t, w.MarkWebhookRetry(f.ctx, ep.ID, d.MessageID, d.Attempts, d.NextAttemptTime, d.LastError))
	}
	require.NoError(t, w.MarkWebhookDelivered(f.ctx, ep.ID, b1.MessageID, 1, f.now))
	none, err := w.ClaimWebhookDeliveries(f.ctx, f.now, lease, 10)
	require.NoError(t, err)
	require.Empty(t, none, "a2 and a3 never overtake a1 in backoff")

	f.add(orgB.ID, f.email("b2"))
	got, err = w.ClaimWebhookDeliveries(f.ctx, f.now, lease, 10)
	require.NoError(t, err)
	require.Len(t, got, 1, "another organization is not held back")
	require.Equal(t, orgB.ID, got[0].OrganizationID)

	got, err = w.ClaimWebhookDeliveries(f.ctx, retry, retry.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, messageIDs([]store.WebhookDelivery{a1, a2, a3}), messageIDs(got), "due again: in order")

	// While they are leased, a later one of A waits too.
	f.add(orgA.ID, f.email("a4"))
	none, err = w.ClaimWebhookDeliveries(f.ctx, retry, retry.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Empty(t, none, "a4 waits behind leased a1..a3")
	// A dead letter holds nothing back.
	require.NoError(t, w.MarkWebhookDead(f.ctx, ep.ID, a1.MessageID, 2, "gave up"))
	require.NoError(t, w.MarkWebhookDelivered(f.ctx, ep.ID, a2.MessageID, 1, retry))
	require.NoError(t, w.MarkWebhookDelivered(f.ctx, ep.ID, a3.MessageID, 1, retry))
	got, err = w.ClaimWebhookDeliveries(f.ctx, retry, retry.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, orgA.ID, got[0].OrganizationID)
	require.NotContains(t, messageIDs([]store.WebhookDelivery{a1, a2, a3}), got[0].MessageID)
}

// testWebhookEndpointHealth: FailingSince is set by the first failure,
// cleared by a success and by re-enabling; a failing endpoint is disabled
// once, with one event.
func testWebhookEndpointHealth(t *testing.T, f *fixture, w store.WebhookStore) {
	h, ok := w.(store.WebhookEndpointHealth)
	if !ok {
		t.Skip("no WebhookEndpointHealth")
	}
	org := f.org()
	ep := f.endpoint(w, org.ID, store.WebhookMembershipCreated)
	failingSince := func() *time.Time {
		got, err := w.GetWebhookEndpoint(f.ctx, ep.ID)
		require.NoError(t, err)
		return got.FailingSince
	}
	require.Nil(t, failingSince())
	t1 := f.now.Add(time.Hour)
	require.NoError(t, h.NoteWebhookFailure(f.ctx, ep.ID, t1))
	require.NoError(t, h.NoteWebhookFailure(f.ctx, ep.ID, t1.Add(time.Hour)))
	require.NotNil(t, failingSince())
	require.True(t, failingSince().Equal(t1), "the first failure counts")
	require.NoError(t, h.NoteWebhookSuccess(f.ctx, ep.ID))
	require.Nil(t, failingSince(), "a success clears it")
	require.NoError(t, h.NoteWebhookFailure(f.ctx, ep.ID, t1))

	// An update that does not re-enable keeps it.
	ep.Description = "rotated"
	require.NoError(t, w.UpdateWebhookEndpoint(f.ctx, ep, nil))
	require.NotNil(t, failingSince())

	before := len(f.events(org.ID))
	at := t1.Add(120 * time.Hour)
	ev := f.evData(org.ID, "", store.EventWebhookEndpointDisabled, map[string]string{"endpoint_id": ep.ID})
	done, err := h.DisableFailingWebhookEndpoint(f.ctx, ep.ID, t1.Add(-time.Second), at, "failing", ev)
	require.NoError(t, err)
	require.False(t, done, "not failing long enough")
	done, err = h.DisableFailingWebhookEndpoint(f.ctx, ep.ID, t1, at, "failing for 5 days", ev)
	require.NoError(t, err)
	require.True(t, done)
	ev.ID = store.NewID("evt")
	done, err = h.DisableFailingWebhookEndpoint(f.ctx, ep.ID, t1, at, "failing for 5 days", ev)
	require.NoError(t, err)
	require.False(t, done, "disabled once")
	got, err := w.GetWebhookEndpoint(f.ctx, ep.ID)
	require.NoError(t, err)
	require.NotNil(t, got.DisabledTime)
	require.True(t, got.DisabledTime.Equal(at))
	require.Equal(t, "failing for 5 days", got.DisabledReason)
	evs := f.events(org.ID)
	require.Len(t, evs, before+1, "one event")
	require.Equal(t, store.EventWebhookEndpointDisabled, evs[len(evs)-1].Type)
	require.Equal(t, ep.ID, evs[len(evs)-1].Data["endpoint_id"])

	// Re-enabling clears FailingSince.
	got.DisabledTime, got.DisabledReason = nil, ""
	require.NoError(t, w.UpdateWebhookEndpoint(f.ctx, got, nil))
	require.Nil(t, failingSince())

	// A missing endpoint is a no-op.
	require.NoError(t, h.NoteWebhookFailure(f.ctx, "whep_missing", t1))
	require.NoError(t, h.NoteWebhookSuccess(f.ctx, "whep_missing"))
	done, err = h.DisableFailingWebhookEndpoint(f.ctx, "whep_missing", t1, at, "x", ev)
	require.NoError(t, err)
	require.False(t, done)
}

// testWebhookMarkMany: MarkWebhooksDelivered marks PENDING ones and skips
// missing and finished ones.
func testWebhookMarkMany(t *testing.T, f *fixture, w store.WebhookStore) {
	m, ok := w.(store.WebhookDeliveredMarker)
	if !ok {
		t.Skip("no WebhookDeliveredMarker")
	}
	ep := f.endpoint(w, "", store.WebhookMembershipCreated)
	for range 3 {
		f.add(f.org().ID, f.email("m"))
	}
	ds, err := w.ClaimWebhookDeliveries(f.ctx, f.now, f.now.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, ds, 3)
	require.NoError(t, w.MarkWebhookDead(f.ctx, ep.ID, ds[2].MessageID, 4, "gave up"))
	at := f.now.Add(time.Second)
	require.NoError(t, m.MarkWebhooksDelivered(f.ctx, []store.WebhookMark{
		{EndpointID: ep.ID, MessageID: ds[0].MessageID, Attempts: 1, At: at},
		{EndpointID: ep.ID, MessageID: ds[1].MessageID, Attempts: 2, At: at},
		{EndpointID: ep.ID, MessageID: ds[2].MessageID, Attempts: 9, At: at},
		{EndpointID: ep.ID, MessageID: "msg_missing", Attempts: 1, At: at},
	}))
	require.NoError(t, m.MarkWebhooksDelivered(f.ctx, nil))
	for i, want := range []struct {
		status   store.WebhookDeliveryStatus
		attempts int
	}{{store.WebhookDelivered, 1}, {store.WebhookDelivered, 2}, {store.WebhookDead, 4}} {
		got, err := w.GetWebhookDelivery(f.ctx, ep.ID, ds[i].MessageID)
		require.NoError(t, err)
		require.Equal(t, want.status, got.Status, i)
		require.Equal(t, want.attempts, got.Attempts, i)
		if want.status == store.WebhookDelivered {
			require.NotNil(t, got.DeliveredTime)
			require.True(t, got.DeliveredTime.Equal(at))
		}
	}
	none, err := w.ClaimWebhookDeliveries(f.ctx, f.now.Add(2*time.Minute), f.now.Add(3*time.Minute), 10)
	require.NoError(t, err)
	require.Empty(t, none, "delivered ones are not claimed again")
}

// testWebhookEndpointRevision: UpdateWebhookEndpoint is a compare-and-swap
// on Revision. A stale (or made-up) revision is refused with
// ErrWebhookEndpointStale and changes nothing: no field, no type, no event;
// a dispatcher's disable counts the revision up too.
func testWebhookEndpointRevision(t *testing.T, f *fixture, w store.WebhookStore) {
	org := f.org()
	ep := f.endpoint(w, org.ID, store.WebhookMembershipCreated)
	read := func() store.WebhookEndpoint {
		t.Helper()
		got, err := w.GetWebhookEndpoint(f.ctx, ep.ID)
		require.NoError(t, err)
		return got
	}
	require.Zero(t, read().Revision, "a new endpoint is at revision 0")

	first := read()
	first.URL, first.SealedSecret = "https://first.example.com/", []byte("sealed first")
	require.NoError(t, w.UpdateWebhookEndpoint(f.ctx, first, nil))
	stored := read()
	require.Equal(t, int64(1), stored.Revision, "a write counts the revision up")
	require.Equal(t, "https://first.example.com/", stored.URL)

	eventsBefore := len(f.events(org.ID))
	for name, rev := range map[string]int64{"stale": 0, "ahead": 7} {
		stale := read()
		off := f.now.Add(time.Hour)
		stale.Revision = rev
		stale.URL, stale.Description, stale.EventTypes = "https://stale.example.com/", "stale", []string{store.WebhookUserSignedIn}
		stale.SealedSecret, stale.SealedPreviousSecret, stale.PreviousSecretUntil = []byte("sealed stale"), []byte("sealed first"), off
		stale.DisabledTime, stale.DisabledReason, stale.UpdateTime = &off, "stale", off
		ev := f.ev(org.ID, "", store.EventWebhookEndpointDisabled)
		err := w.UpdateWebhookEndpoint(f.ctx, stale, &ev)
		require.ErrorIs(t, err, store.ErrWebhookEndpointStale, name)
		require.NotErrorIs(t, err, store.ErrNotFound, name)
		require.Equal(t, stored, read(), "%s: nothing changed", name)
		require.Len(t, f.events(org.ID), eventsBefore, "%s: no event appended", name)
	}

	// The dispatcher's disable counts up: an update of the endpoint as
	// read before it is refused and does not enable it again.
	h, ok := w.(store.WebhookEndpointHealth)
	if !ok {
		return
	}
	beforeDisable := read()
	t1 := f.now.Add(time.Minute)
	require.NoError(t, h.NoteWebhookFailure(f.ctx, ep.ID, t1))
	require.Equal(t, beforeDisable.Revision, read().Revision, "noting a failure is not a write of the endpoint's fields")
	done, err := h.DisableFailingWebhookEndpoint(f.ctx, ep.ID, t1, t1.Add(time.Hour), "failing",
		f.evData(org.ID, "", store.EventWebhookEndpointDisabled, map[string]string{"endpoint_id": ep.ID}))
	require.NoError(t, err)
	require.True(t, done)
	disabled := read()
	require.Equal(t, beforeDisable.Revision+1, disabled.Revision)
	beforeDisable.Description = "an update that read before the disable"
	require.ErrorIs(t, w.UpdateWebhookEndpoint(f.ctx, beforeDisable, nil), store.ErrWebhookEndpointStale)
	require.Equal(t, disabled, read(), "still disabled, nothing changed")

	require.ErrorIs(t, w.UpdateWebhookEndpoint(f.ctx, store.WebhookEndpoint{ID: "whep_missing", Revision: 0}, nil), store.ErrNotFound)
}

// testWebhookDeliveriesPaged: ListWebhookDeliveries pages from a Seq. The
// pages, walked with the last Seq of each, are the whole list in Seq
// order, each delivery once, only the endpoint's, with and without a
// status, whatever another endpoint's deliveries in between.
func testWebhookDeliveriesPaged(t *testing.T, f *fixture, w store.WebhookStore) {
	org := f.org()
	ep := f.endpoint(w, org.ID, store.WebhookInvitationCreated, store.WebhookMembershipCreated)
	other := f.endpoint(w, "", store.WebhookInvitationCreated, store.WebhookMembershipCreated)
	for range 7 {
		f.invite(org.ID, f.email("page"))
	}
	all := f.deliveries(w, ep)
	require.Len(t, all, 14)
	require.Len(t, f.deliveries(w, other), 14, "the other endpoint's are interleaved")
	for i, d := range all {
		if i%3 == 0 {
			require.NoError(t, w.MarkWebhookDead(f.ctx, ep.ID, d.MessageID, 1, "dead"))
			all[i].Status = store.WebhookDead
		}
	}
	walk := func(status store.WebhookDeliveryStatus, size int) []store.WebhookDelivery {
		t.Helper()
		var out []store.WebhookDelivery
		var after int64
		for range 100 {
			page, err := w.ListWebhookDeliveries(f.ctx, ep.ID, status, after, size)
			require.NoError(t, err)
			require.LessOrEqual(t, len(page), size)
			if len(page) == 0 {
				return out
			}
			for _, d := range page {
				require.Equal(t, ep.ID, d.EndpointID)
				require.Greater(t, d.Seq, after, "after the cursor, in Seq order")
				require.NotEmpty(t, d.Event.ID, "with its event")
				after = d.Seq
			}
			out = append(out, page...)
		}
		t.Fatal("the pages never ran out")
		return nil
	}
	seqs := func(ds []store.WebhookDelivery) []int64 {
		var out []int64
		for _, d := range ds {
			out = append(out, d.Seq)
		}
		return out
	}
	for _, size := range []int{1, 3, 14, 100} {
		require.Equal(t, seqs(all), seqs(walk("", size)), "page size %d", size)
	}
	var dead []store.WebhookDelivery
	for _, d := range all {
		if d.Status == store.WebhookDead {
			dead = append(dead, d)
		}
	}
	require.Len(t, dead, 5)
	require.Equal(t, seqs(dead), seqs(walk(store.WebhookDead, 2)))
	require.Len(t, walk(store.WebhookPending, 4), 9)

	last := all[len(all)-1].Seq
	none, err := w.ListWebhookDeliveries(f.ctx, ep.ID, "", last, 10)
	require.NoError(t, err)
	require.Empty(t, none, "nothing after the last")
	tail, err := w.ListWebhookDeliveries(f.ctx, ep.ID, "", all[5].Seq, 3)
	require.NoError(t, err)
	require.Equal(t, seqs(all[6:9]), seqs(tail))
}

// testWebhookDeleteAtRevision: DeleteWebhookEndpointAt is a
// compare-and-swap on Revision: a stale (or made-up) revision deletes
// nothing (the endpoint and its deliveries stay) and is
// ErrWebhookEndpointStale; the stored one deletes both; a missing
// endpoint is ErrNotFound.
func testWebhookDeleteAtRevision(t *testing.T, f *fixture, w store.WebhookStore) {
	org := f.org()
	ep := f.endpoint(w, org.ID, store.WebhookMembershipCreated)
	f.invite(org.ID, f.email("del"))
	require.Len(t, f.deliveries(w, ep), 1)
	got, err := w.GetWebhookEndpoint(f.ctx, ep.ID)
	require.NoError(t, err)
	got.Description = "changed"
	require.NoError(t, w.UpdateWebhookEndpoint(f.ctx, got, nil))
	for _, rev := range []int64{0, 2, -1} {
		err := w.DeleteWebhookEndpointAt(f.ctx, ep.ID, rev)
		require.ErrorIs(t, err, store.ErrWebhookEndpointStale, "revision %d", rev)
		require.NotErrorIs(t, err, store.ErrNotFound)
		stored, err := w.GetWebhookEndpoint(f.ctx, ep.ID)
		require.NoError(t, err, "revision %d: not deleted", rev)
		require.Equal(t, int64(1), stored.Revision)
		require.Len(t, f.deliveries(w, ep), 1, "revision %d: its deliveries stay", rev)
	}
	require.NoError(t, w.DeleteWebhookEndpointAt(f.ctx, ep.ID, 1))
	_, err = w.GetWebhookEndpoint(f.ctx, ep.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Empty(t, f.deliveries(w, ep), "its deliveries went with it")
	require.ErrorIs(t, w.DeleteWebhookEndpointAt(f.ctx, ep.ID, 1), store.ErrNotFound)
	require.ErrorIs(t, w.DeleteWebhookEndpointAt(f.ctx, "whep_missing", 0), store.ErrNotFound)
}
