package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// notifyTests are the subtests of the optional capabilities of push
// invalidation (store/notify.go): MemberGetter, SessionRevoker and
// ChangeNotifier. Each skips on a store that lacks its capability.
var notifyTests = []struct {
	name string
	fn   func(t *testing.T, f *fixture)
}{
	{"MemberGetter/Found", testGetMemberFound},
	{"MemberGetter/NotFound", testGetMemberNotFound},
	{"SessionRevoker/Increments", testRevokeSessions},
	{"SessionRevoker/UnknownUser", testRevokeSessionsUnknown},
	{"SessionRevoker/EveryUserRead", testSessionGenerationEverywhere},
	{"ChangeNotifier/EachChange", testChangesPublished},
	{"ChangeNotifier/Batch", testChangesBatch},
	{"ChangeNotifier/FailedChangesPublishNothing", testFailedChangesPublishNothing},
	{"ChangeNotifier/OneCallAtATime", testChangesOneAtATime},
	{"ChangeNotifier/EndsWithContext", testChangesEndWithContext},
}

// notifyWait bounds the wait for one published change.
const notifyWait = 10 * time.Second

func memberGetter(t *testing.T, f *fixture) store.MemberGetter {
	mg, ok := f.st.(store.MemberGetter)
	if !ok {
		t.Skip("the store does not implement store.MemberGetter")
	}
	return mg
}

func sessionRevoker(t *testing.T, f *fixture) store.SessionRevoker {
	sr, ok := f.st.(store.SessionRevoker)
	if !ok {
		t.Skip("the store does not implement store.SessionRevoker")
	}
	return sr
}

func changeNotifier(t *testing.T, f *fixture) store.ChangeNotifier {
	cn, ok := f.st.(store.ChangeNotifier)
	if !ok {
		t.Skip("the store does not implement store.ChangeNotifier")
	}
	return cn
}

// testGetMemberFound: GetMember returns what GetMembership and GetUser
// return, the organization's view of the member included, and no alias of
// the stored maps.
func testGetMemberFound(t *testing.T, f *fixture) {
	mg := memberGetter(t, f)
	a, b := f.org(), f.org()
	ext := "ext-" + token()
	res := f.add(a.ID, f.email("ann"), func(p *store.CreateMembershipParams) {
		p.Membership.ExternalID = ext
		p.Membership.Profile = store.MemberProfile{
			FirstName: "Ann", LastName: "In A", Name: "Ann (A)", Locale: "de", PhoneNumber: "+49 1",
			Metadata: map[string]string{"seat": "7"}, CustomAttributes: map[string]string{"cost_center": "42"},
		}
		p.Membership.UserMetadata = map[string]string{"from": "a"}
	})
	f.add(b.ID, res.User.Email, func(p *store.CreateMembershipParams) {
		p.Membership.Profile = store.MemberProfile{Name: "Ann (B)"}
		p.Membership.Roles = []string{"admin"}
	})

	for _, org := range []string{a.ID, b.ID} {
		got, err := mg.GetMember(f.ctx, org, res.User.ID)
		require.NoError(t, err, org)
		assert.Equal(t, normMembership(f.membership(org, res.User.ID)), normMembership(got.Membership), org)
		assert.Equal(t, normUser(f.user(res.User.ID)), normUser(got.User), org)
		assert.Equal(t, int64(0), got.User.SessionGeneration)
	}
	got, err := mg.GetMember(f.ctx, a.ID, res.User.ID)
	require.NoError(t, err)
	assert.Equal(t, ext, got.Membership.ExternalID)
	assert.Equal(t, "Ann (A)", got.Membership.Profile.Name)
	assert.Equal(t, map[string]string{"seat": "7"}, got.Membership.Profile.Metadata)
	assert.Equal(t, map[string]string{"from": "a"}, got.Membership.UserMetadata)
	assert.Equal(t, []string{"member"}, got.Membership.Roles)
	assert.Equal(t, store.StatusActive, got.Membership.Status)

	// Changing what was returned changes nothing stored.
	got.Membership.Roles[0] = "owner"
	got.Membership.Profile.Metadata["seat"] = "x"
	got.User.Metadata["source"] = "x"
	again, err := mg.GetMember(f.ctx, a.ID, res.User.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"member"}, again.Membership.Roles)
	assert.Equal(t, "7", again.Membership.Profile.Metadata["seat"])
	assert.Equal(t, "storetest", again.User.Metadata["source"])

	// A change shows in the next read.
	_, err = f.st.SetMembershipStatus(f.ctx, a.ID, res.User.ID, store.StatusChange{
		From: store.StatusActive, To: store.StatusInactive, Now: f.now.Add(time.Hour),
		Event: f.ev(a.ID, res.User.ID, store.EventMembershipDeactivated),
	})
	require.NoError(t, err)
	got, err = mg.GetMember(f.ctx, a.ID, res.User.ID)
	require.NoError(t, err)
	assert.Equal(t, store.StatusInactive, got.Membership.Status)
	got, err = mg.GetMember(f.ctx, b.ID, res.User.ID)
	require.NoError(t, err)
	assert.Equal(t, store.StatusActive, got.Membership.Status, "the other organization's membership")
}

func testGetMemberNotFound(t *testing.T, f *fixture) {
	mg := memberGetter(t, f)
	a, b := f.org(), f.org()
	res := f.add(a.ID, f.email("ann"))
	inv := f.invite(a.ID, f.email("revoked"))
	require.NoError(t, f.st.RevokeInvitation(f.ctx, a.ID, inv.User.ID, f.now, f.ev(a.ID, inv.User.ID, store.EventMembershipRevoked)))
	for name, k := range map[string][2]string{
		"member of another organization": {b.ID, res.User.ID},
		"unknown user":                   {a.ID, "usr_unknown"},
		"unknown organization":           {"org_unknown", res.User.ID},
		"revoked invitation":             {a.ID, inv.User.ID},
		"empty ids":                      {"", ""},
	} {
		_, err := mg.GetMember(f.ctx, k[0], k[1])
		assert.ErrorIs(t, err, store.ErrNotFound, name)
	}
}

func testRevokeSessions(t *testing.T, f *fixture) {
	sr := sessionRevoker(t, f)
	org := f.org()
	ann := f.add(org.ID, f.email("ann"))
	bob := f.add(org.ID, f.email("bob"))
	require.Equal(t, int64(0), ann.User.SessionGeneration)
	require.Equal(t, int64(0), f.user(ann.User.ID).SessionGeneration)

	for want := int64(1); want <= 3; want++ {
		ev := f.ev(org.ID, "", "user.sessions_revoked")
		at := f.now.Add(time.Duration(want) * time.Minute)
		ev.CreateTime = at
		gen, err := sr.RevokeSessions(f.ctx, ann.User.ID, at, ev)
		require.NoError(t, err)
		assert.Equal(t, want, gen)
		assert.Equal(t, want, f.user(ann.User.ID).SessionGeneration)
		last := f.lastEvent(org.ID)
		assert.Equal(t, ev.ID, last.ID, "the event is appended")
		assert.Equal(t, ann.User.ID, last.UserID, "with the user filled in")
		assert.Equal(t, "user.sessions_revoked", last.Type)
	}
	assert.Equal(t, int64(0), f.user(bob.User.ID).SessionGeneration, "another user's")
	u := f.user(ann.User.ID)
	assert.Equal(t, normTime(ann.User.UpdateTime), normTime(u.UpdateTime), "UpdateTime unchanged")
	assert.Equal(t, normMembership(ann.Membership), normMembership(f.membership(org.ID, ann.User.ID)), "the membership unchanged")
}

func testRevokeSessionsUnknown(t *testing.T, f *fixture) {
	sr := sessionRevoker(t, f)
	org := f.org()
	before := f.eventIDs(org.ID)
	_, err := sr.RevokeSessions(f.ctx, "usr_unknown", f.now, f.ev(org.ID, "", "user.sessions_revoked"))
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, before, f.eventIDs(org.ID), "no event")
}

// testSessionGenerationEverywhere: every read of a user carries its
// session generation, a new user starts at 0 whatever the create was
// given, and a create that reuses a user returns its generation.
func testSessionGenerationEverywhere(t *testing.T, f *fixture) {
	sr := sessionRevoker(t, f)
	a, b := f.org(), f.org()
	ext := "ext-" + token()
	ann := f.add(a.ID, f.email("ann"), func(p *store.CreateMembershipParams) {
		p.User.ExternalID = ext
		p.User.SessionGeneration = 41 // not the store's to take
	})
	assert.Equal(t, int64(0), ann.User.SessionGeneration, "a new user's")
	assert.Equal(t, int64(0), f.user(ann.User.ID).SessionGeneration)
	for range 2 {
		_, err := sr.RevokeSessions(f.ctx, ann.User.ID, f.now, f.ev(a.ID, "", "user.sessions_revoked"))
		require.NoError(t, err)
	}
	const want = 2
	u, err := f.st.GetUserByEmail(f.ctx, ann.User.Email)
	require.NoError(t, err)
	assert.Equal(t, int64(want), u.SessionGeneration, "GetUserByEmail")
	u, err = f.st.GetUserByExternalID(f.ctx, ext)
	require.NoError(t, err)
	assert.Equal(t, int64(want), u.SessionGeneration, "GetUserByExternalID")
	ms := f.members(a.ID, store.ListOptions{})
	require.Len(t, ms, 1)
	assert.Equal(t, int64(want), ms[0].User.SessionGeneration, "ListMembers")
	if mg, ok := f.st.(store.MemberGetter); ok {
		m, err := mg.GetMember(f.ctx, a.ID, ann.User.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(want), m.User.SessionGeneration, "GetMember")
	}
	res := f.add(b.ID, ann.User.Email)
	assert.False(t, res.UserCreated)
	assert.Equal(t, int64(want), res.User.SessionGeneration, "CreateMembership reusing the user")
	if bc, ok := f.st.(store.BatchCreator); ok {
		c := f.org()
		out, err := bc.CreateMemberships(f.ctx, []store.CreateMembershipParams{AddParams(c.ID, ann.User.Email, f.now), AddParams(c.ID, f.email("new"), f.now)})
		require.NoError(t, err)
		require.NoError(t, out[0].Err)
		require.NoError(t, out[1].Err)
		assert.Equal(t, int64(want), out[0].User.SessionGeneration, "CreateMemberships reusing the user")
		assert.Equal(t, int64(0), out[1].User.SessionGeneration, "CreateMemberships creating a user")
	}
}

// recorder is a subscription's changed callback. For each change it also
// records, read from the store inside the callback, what the store then
// holds for it: so a change published before its commit is visible in the
// test.
type recorder struct {
	t  *testing.T
	st store.Store
	ch chan seen
	// lost counts lost calls (an in-process notifier never loses).
	lost atomic.Int32
}

// seen is one changed call.
type seen struct {
	c store.Change
	// For a membership change: its status then ("" when it did not
	// exist, err otherwise). For a user change: its session generation.
	status store.MembershipStatus
	gen    int64
	err    error
}

func (f *fixture) subscribe(t *testing.T, cn store.ChangeNotifier, ctx context.Context) *recorder {
	t.Helper()
	r := &recorder{t: t, st: f.st, ch: make(chan seen, 10000)}
	changed := func(c store.Change) {
		s := seen{c: c}
		// A short bound: the callback must stay fast.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		switch {
		case c.OrganizationID != "" && c.UserID != "":
			m, err := r.st.GetMembership(rctx, c.OrganizationID, c.UserID)
			s.status, s.err = m.Status, err
		case c.UserID != "":
			u, err := r.st.GetUser(rctx, c.UserID)
			s.gen, s.err = u.SessionGeneration, err
		}
		r.ch <- s
	}
	require.NoError(t, cn.Subscribe(ctx, changed, func(error) { r.lost.Add(1) }))
	return r
}

// covers reports whether a subscriber dropping what c names drops want.
func covers(c, want store.Change) bool {
	switch {
	case c == store.Change{}:
		return true
	case c.OrganizationID == "":
		return c.UserID == want.UserID
	}
	return c == want
}

// next returns the next change, failing after notifyWait.
func (r *recorder) next(why string) seen {
	r.t.Helper()
	select {
	case s := <-r.ch:
		return s
	case <-time.After(notifyWait):
		r.t.Fatalf("%s: no change published within %v", why, notifyWait)
		return seen{}
	}
}

// expect returns the next change, which must cover want.
func (r *recorder) expect(why string, want store.Change) seen {
	r.t.Helper()
	s := r.next(why)
	require.True(r.t, covers(s.c, want), "%s: published %+v, want %+v", why, s.c, want)
	return s
}

// expectSet returns the next len(want) changes, which must be want in any
// order.
func (r *recorder) expectSet(why string, want ...store.Change) []seen {
	r.t.Helper()
	var got []seen
	var cs []store.Change
	for range want {
		s := r.next(why)
		got = append(got, s)
		cs = append(cs, s.c)
	}
	require.ElementsMatch(r.t, want, cs, why)
	return got
}

// testChangesPublished: every kind of membership change and a session
// revocation publishes its Change, once committed: the callback already
// reads the new state.
func testChangesPublished(t *testing.T, f *fixture) {
	cn := changeNotifier(t, f)
	r := f.subscribe(t, cn, f.ctx)
	org := f.org()
	later := f.now.Add(time.Hour)

	ann := f.add(org.ID, f.email("ann"))
	s := r.expect("CreateMembership", store.Change{OrganizationID: org.ID, UserID: ann.User.ID})
	require.NoError(t, s.err, "the membership exists when its change is published")
	assert.Equal(t, store.StatusActive, s.status)

	_, err := f.st.UpdateMembership(f.ctx, org.ID, ann.User.ID, store.MembershipUpdate{Roles: []string{"admin"}}, later, f.ev(org.ID, ann.User.ID, store.EventMembershipUpdated))
	require.NoError(t, err)
	r.expect("UpdateMembership", store.Change{OrganizationID: org.ID, UserID: ann.User.ID})

	_, err = f.st.SetMembershipStatus(f.ctx, org.ID, ann.User.ID, store.StatusChange{
		From: store.StatusActive, To: store.StatusInactive, Now: later, Event: f.ev(org.ID, ann.User.ID, store.EventMembershipDeactivated),
	})
	require.NoError(t, err)
	s = r.expect("SetMembershipStatus", store.Change{OrganizationID: org.ID, UserID: ann.User.ID})
	require.NoError(t, s.err)
	assert.Equal(t, store.StatusInactive, s.status, "published after the commit")

	inv := f.invite(org.ID, f.email("bob"))
	key := store.Change{OrganizationID: org.ID, UserID: inv.User.ID}
	r.expect("CreateMembership (invite)", key)
	_, err = f.st.ReissueInvitation(f.ctx, store.ReissueParams{
		InvitationID: inv.Invitation.ID, Now: later, NewVerifierHash: []byte("new verifier"),
		NewExpireTime: later.Add(24 * time.Hour), Event: f.ev(org.ID, inv.User.ID, store.EventInvitationRenewed),
	})
	require.NoError(t, err)
	r.expect("ReissueInvitation", key)
	_, err = f.st.AcceptInvitation(f.ctx, f.acceptParams(inv.Invitation, later))
	require.NoError(t, err)
	s = r.expect("AcceptInvitation", key)
	require.NoError(t, s.err)
	assert.Equal(t, store.StatusActive, s.status)

	cat := f.invite(org.ID, f.email("cat"))
	key = store.Change{OrganizationID: org.ID, UserID: cat.User.ID}
	r.expect("CreateMembership (invite)", key)
	require.NoError(t, f.st.RevokeInvitation(f.ctx, org.ID, cat.User.ID, later, f.ev(org.ID, cat.User.ID, store.EventMembershipRevoked)))
	s = r.expect("RevokeInvitation", key)
	assert.ErrorIs(t, s.err, store.ErrNotFound, "the membership is gone when its change is published")

	if oc, ok := f.st.(store.OrganizationMemberCreator); ok {
		o2 := store.Organization{ID: store.NewID("org"), Name: "Two", CreateTime: f.now, UpdateTime: f.now}
		res, err := oc.CreateOrganizationWithMember(f.ctx, o2, f.ev(o2.ID, "", store.EventOrganizationCreated), AddParams(o2.ID, f.email("dan"), f.now))
		require.NoError(t, err)
		s = r.expect("CreateOrganizationWithMember", store.Change{OrganizationID: o2.ID, UserID: res.User.ID})
		require.NoError(t, s.err)
	}

	if sr, ok := f.st.(store.SessionRevoker); ok {
		gen, err := sr.RevokeSessions(f.ctx, ann.User.ID, later, f.ev(org.ID, "", "user.sessions_revoked"))
		require.NoError(t, err)
		s = r.expect("RevokeSessions", store.Change{UserID: ann.User.ID})
		require.NoError(t, s.err)
		assert.Equal(t, gen, s.gen, "the new generation is committed when its change is published")
	}
	assert.Zero(t, r.lost.Load())
}

// testChangesBatch: a batch publishes one Change per created membership,
// none for an item it refused.
func testChangesBatch(t *testing.T, f *fixture) {
	cn := changeNotifier(t, f)
	bc, ok := f.st.(store.BatchCreator)
	if !ok {
		t.Skip("the store does not implement store.BatchCreator")
	}
	org := f.org()
	ann := f.add(org.ID, f.email("ann"))
	r := f.subscribe(t, cn, f.ctx)
	out, err := bc.CreateMemberships(f.ctx, []store.CreateMembershipParams{
		InviteParams(org.ID, f.email("b1"), f.now),
		AddParams(org.ID, ann.User.Email, f.now), // ErrAlreadyMember
		AddParams(org.ID, f.email("b2"), f.now),
	})
	require.NoError(t, err)
	require.NoError(t, out[0].Err)
	require.ErrorIs(t, out[1].Err, store.ErrAlreadyMember)
	require.NoError(t, out[2].Err)
	for _, s := range r.expectSet("CreateMemberships",
		store.Change{OrganizationID: org.ID, UserID: out[0].User.ID},
		store.Change{OrganizationID: org.ID, UserID: out[2].User.ID}) {
		require.NoError(t, s.err, "%+v exists when published", s.c)
	}
	// Nothing for the refused item: the next change is the marker's.
	marker := f.add(org.ID, f.email("marker"))
	r.expect("marker", store.Change{OrganizationID: org.ID, UserID: marker.User.ID})
}

// testFailedChangesPublishNothing: a change that fails (and so is rolled
// back) publishes nothing. After each failure a marker change is made:
// the next change published must be the marker's.
func testFailedChangesPublishNothing(t *testing.T, f *fixture) {
	cn := changeNotifier(t, f)
	org, other := f.org(), f.org()
	ann := f.add(org.ID, f.email("ann"))
	inv := f.invite(org.ID, f.email("bob"))
	_, err := f.st.AcceptInvitation(f.ctx, f.acceptParams(inv.Invitation, f.now))
	require.NoError(t, err)
	r := f.subscribe(t, cn, f.ctx)
	annKey := store.Change{OrganizationID: org.ID, UserID: ann.User.ID}

	markers := 0
	afterFailure := func(why string) {
		t.Helper()
		markers++
		m := f.add(other.ID, f.email(fmt.Sprintf("marker%d", markers)))
		want := store.Change{OrganizationID: other.ID, UserID: m.User.ID}
		s := r.next(why)
		require.Equal(t, want, s.c, "%s: the failed change published something", why)
	}

	_, err = f.st.CreateMembership(f.ctx, AddParams(org.ID, ann.User.Email, f.now))
	require.ErrorIs(t, err, store.ErrAlreadyMember)
	afterFailure("CreateMembership refused with ErrAlreadyMember")

	_, err = f.st.SetMembershipStatus(f.ctx, org.ID, ann.User.ID, store.StatusChange{
		From: store.StatusInactive, To: store.StatusActive, Now: f.now, Event: f.ev(org.ID, ann.User.ID, store.EventMembershipReactivated),
	})
	require.ErrorIs(t, err, store.ErrWrongStatus)
	afterFailure("SetMembershipStatus refused with ErrWrongStatus")

	_, err = f.st.SetMembershipStatus(f.ctx, org.ID, ann.User.ID, store.StatusChange{
		From: store.StatusActive, To: store.StatusInactive, Now: f.now, KeepRole: "member",
		Event: f.ev(org.ID, ann.User.ID, store.EventMembershipDeactivated),
	})
	require.NoError(t, err, "bob, ACTIVE, holds the role too")
	r.expect("SetMembershipStatus", annKey)

	_, err = f.st.UpdateMembership(f.ctx, org.ID, inv.User.ID, store.MembershipUpdate{Roles: []string{"guest"}, KeepRole: "member"}, f.now, f.ev(org.ID, inv.User.ID, store.EventMembershipUpdated))
	require.ErrorIs(t, err, store.ErrLastRoleHolder)
	afterFailure("UpdateMembership refused with ErrLastRoleHolder")

	_, err = f.st.AcceptInvitation(f.ctx, f.acceptParams(inv.Invitation, f.now))
	require.ErrorIs(t, err, store.ErrInviteUsed)
	afterFailure("AcceptInvitation refused with ErrInviteUsed")

	err = f.st.RevokeInvitation(f.ctx, org.ID, inv.User.ID, f.now, f.ev(org.ID, inv.User.ID, store.EventMembershipRevoked))
	require.ErrorIs(t, err, store.ErrWrongStatus)
	afterFailure("RevokeInvitation refused with ErrWrongStatus")

	_, err = f.st.ReissueInvitation(f.ctx, store.ReissueParams{InvitationID: inv.Invitation.ID, Now: f.now, NewExpireTime: f.now.Add(time.Hour), Event: f.ev(org.ID, inv.User.ID, store.EventInvitationRenewed)})
	require.ErrorIs(t, err, store.ErrInviteUsed)
	afterFailure("ReissueInvitation refused with ErrInviteUsed")

	if oc, ok := f.st.(store.OrganizationMemberCreator); ok {
		o2 := store.Organization{ID: store.NewID("org"), Name: "Two", CreateTime: f.now, UpdateTime: f.now}
		p := AddParams(o2.ID, f.email("dan"), f.now)
		p.User.ExternalID = "ext-" + token()
		f.add(other.ID, f.email("extowner"), func(q *store.CreateMembershipParams) { q.User.ExternalID = p.User.ExternalID })
		r.next("the external id owner's membership")
		_, err := oc.CreateOrganizationWithMember(f.ctx, o2, f.ev(o2.ID, "", store.EventOrganizationCreated), p)
		require.ErrorIs(t, err, store.ErrExternalIDTaken)
		afterFailure("CreateOrganizationWithMember refused with ErrExternalIDTaken")
	}
	if sr, ok := f.st.(store.SessionRevoker); ok {
		_, err := sr.RevokeSessions(f.ctx, "usr_unknown", f.now, f.ev(org.ID, "", "user.sessions_revoked"))
		require.ErrorIs(t, err, store.ErrNotFound)
		afterFailure("RevokeSessions of an unknown user")
	}
	if bc, ok := f.st.(store.BatchCreator); ok {
		out, err := bc.CreateMemberships(f.ctx, []store.CreateMembershipParams{AddParams(org.ID, ann.User.Email, f.now)})
		require.NoError(t, err)
		require.ErrorIs(t, out[0].Err, store.ErrAlreadyMember)
		afterFailure("CreateMemberships of only refused items")
	}
	assert.Zero(t, r.lost.Load())
}

// testChangesOneAtATime: changes made from many goroutines at once reach
// changed one call at a time, each of them.
func testChangesOneAtATime(t *testing.T, f *fixture) {
	cn := changeNotifier(t, f)
	org := f.org()
	var inCall, overlaps atomic.Int32
	var mu sync.Mutex
	got := map[store.Change]int{}
	all := make(chan struct{})
	const writers, each = 8, 10
	require.NoError(t, cn.Subscribe(f.ctx, func(c store.Change) {
		if inCall.Add(1) > 1 {
			overlaps.Add(1)
		}
		time.Sleep(100 * time.Microsecond) // widen the window
		mu.Lock()
		got[c]++
		if len(got) == writers*each {
			close(all)
		}
		mu.Unlock()
		inCall.Add(-1)
	}, func(error) {}))
	var wg sync.WaitGroup
	want := make(chan store.Change, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				res, err := f.st.CreateMembership(f.ctx, AddParams(org.ID, f.email(fmt.Sprintf("w%d-%d", w, i)), f.now))
				if !assert.NoError(t, err) {
					return
				}
				want <- store.Change{OrganizationID: org.ID, UserID: res.User.ID}
			}
		})
	}
	wg.Wait()
	close(want)
	select {
	case <-all:
	case <-time.After(notifyWait):
	}
	mu.Lock()
	defer mu.Unlock()
	for c := range want {
		assert.Equal(t, 1, got[c], "%+v", c)
	}
	assert.Len(t, got, writers*each)
	assert.Zero(t, overlaps.Load(), "changed ran concurrently with itself")
}

// testChangesEndWithContext: once the subscription's context has ended,
// a change committed afterwards is not passed to its changed.
func testChangesEndWithContext(t *testing.T, f *fixture) {
	cn := changeNotifier(t, f)
	org := f.org()
	ctx, cancel := context.WithCancel(f.ctx)
	first := f.subscribe(t, cn, ctx)
	second := f.subscribe(t, cn, f.ctx)
	ann := f.add(org.ID, f.email("ann"))
	key := store.Change{OrganizationID: org.ID, UserID: ann.User.ID}
	first.expect("before the end", key)
	second.expect("before the end", key)

	cancel()
	bob := f.add(org.ID, f.email("bob"))
	marker := f.add(org.ID, f.email("marker"))
	second.expect("after the end", store.Change{OrganizationID: org.ID, UserID: bob.User.ID})
	second.expect("after the end", store.Change{OrganizationID: org.ID, UserID: marker.User.ID})
	select {
	case s := <-first.ch:
		t.Fatalf("changed called after its context ended: %+v", s.c)
	default:
	}

	err := cn.Subscribe(ctx, func(store.Change) {}, func(error) {})
	assert.Error(t, err, "Subscribe with an ended context")
}
