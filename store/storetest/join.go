package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// RunJoinAndDomains runs the conformance suite of store.JoinRequestStore
// and store.DomainStore against the stores newStore returns (each must
// implement both), one per subtest.
func RunJoinAndDomains(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture, j store.JoinRequestStore, d store.DomainStore)
	}{
		{"Join/CreateGetList", testJoinCreate},
		{"Join/CreateWithOutbox", testJoinCreateWithOutbox},
		{"Join/Approve", testJoinApprove},
		{"Join/ApproveExistingMemberWritesNothing", testJoinApproveMember},
		{"Join/Decline", testJoinDecline},
		{"Join/Scoping", testJoinScoping},
		{"Join/ConcurrentCreate", testJoinConcurrentCreate},
		{"Join/ConcurrentDecide", testJoinConcurrentDecide},
		{"Domains/ClaimList", testDomainClaim},
		{"Domains/OneVerifiedOrganization", testDomainOneOrg},
		{"Domains/ConcurrentVerify", testDomainConcurrentVerify},
		{"Domains/PolicyDueDelete", testDomainPolicyDue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			if c, ok := st.(store.Closer); ok {
				defer c.Close()
			}
			j, ok := st.(store.JoinRequestStore)
			if !ok {
				t.Fatalf("%T does not implement store.JoinRequestStore", st)
			}
			d, ok := st.(store.DomainStore)
			if !ok {
				t.Fatalf("%T does not implement store.DomainStore", st)
			}
			tc.fn(t, &fixture{t: t, ctx: t.Context(), st: st, now: epoch()}, j, d)
		})
	}
}

func (f *fixture) joinRequest(orgID, email string) store.JoinRequest {
	return store.JoinRequest{
		ID: store.NewID("jrq"), OrganizationID: orgID, Email: email, Name: "Ann Example",
		Message: "let me in", Status: store.JoinRequestPending, CreateTime: f.now,
	}
}

func (f *fixture) request(j store.JoinRequestStore, orgID, email string) store.JoinRequest {
	f.t.Helper()
	r := f.joinRequest(orgID, email)
	require.NoError(f.t, j.CreateJoinRequest(f.ctx, r, f.ev(orgID, "", store.EventJoinRequested)))
	return r
}

func (f *fixture) approval(orgID, email string) store.CreateMembershipParams {
	p := AddParams(orgID, email, f.now)
	p.Membership.Roles = []string{"member", "viewer"}
	p.Event.Type = store.EventJoinApproved
	return p
}

func testJoinCreate(t *testing.T, f *fixture, j store.JoinRequestStore, _ store.DomainStore) {
	org := f.org()
	email := f.email("ann")
	before := len(f.events(org.ID))

	require.ErrorIs(t, j.CreateJoinRequest(f.ctx, f.joinRequest("org_missing", email), f.ev("org_missing", "", store.EventJoinRequested)), store.ErrNotFound)
	r := f.request(j, org.ID, email)
	require.ErrorIs(t, j.CreateJoinRequest(f.ctx, f.joinRequest(org.ID, email), f.ev(org.ID, "", store.EventJoinRequested)),
		store.ErrJoinRequestPending, "a second pending request of the same email")
	other := f.request(j, org.ID, f.email("bob"))

	got, err := j.GetJoinRequest(f.ctx, org.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, r.Email, got.Email)
	assert.Equal(t, "Ann Example", got.Name)
	assert.Equal(t, "let me in", got.Message)
	assert.Equal(t, store.JoinRequestPending, got.Status)
	assert.Nil(t, got.DecideTime)
	assert.True(t, got.CreateTime.Equal(f.now))

	latest, err := j.LatestJoinRequest(f.ctx, org.ID, email)
	require.NoError(t, err)
	assert.Equal(t, r.ID, latest.ID)
	_, err = j.LatestJoinRequest(f.ctx, org.ID, f.email("nobody"))
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := j.ListJoinRequests(f.ctx, org.ID, "", 0)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{r.ID, other.ID}, []string{list[0].ID, list[1].ID}, "oldest first")
	list, err = j.ListJoinRequests(f.ctx, org.ID, store.JoinRequestPending, 1)
	require.NoError(t, err)
	require.Len(t, list, 1)
	list, err = j.ListJoinRequests(f.ctx, org.ID, store.JoinRequestDeclined, 0)
	require.NoError(t, err)
	assert.Empty(t, list)

	evs := f.events(org.ID)
	require.Len(t, evs, before+2)
	assert.Equal(t, store.EventJoinRequested, evs[len(evs)-1].Type)
}

func testJoinApprove(t *testing.T, f *fixture, j store.JoinRequestStore, _ store.DomainStore) {
	org := f.org()
	email := f.email("ann")
	r := f.request(j, org.ID, email)
	p := f.approval(org.ID, email)
	p.Outbox = f.reminder(org.ID, email, store.MailAdded)
	at := f.now.Add(time.Hour)

	res, got, err := j.ApproveJoinRequest(f.ctx, org.ID, r.ID, store.JoinDecision{By: "usr_admin", At: at}, p)
	require.NoError(t, err)
	assert.True(t, res.UserCreated)
	assert.Equal(t, store.StatusActive, res.Membership.Status)
	assert.Equal(t, store.JoinRequestApproved, got.Status)
	assert.Equal(t, res.User.ID, got.UserID)
	assert.Equal(t, []string{"member", "viewer"}, got.Roles)
	assert.Equal(t, "usr_admin", got.DecidedBy)
	require.NotNil(t, got.DecideTime)
	assert.True(t, got.DecideTime.Equal(at))

	stored, err := j.GetJoinRequest(f.ctx, org.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, got.Status, stored.Status)
	assert.Equal(t, got.Roles, stored.Roles)
	assert.Equal(t, store.StatusActive, f.memberStatus(org.ID, res.User.ID))
	assert.Equal(t, store.EventJoinApproved, f.lastEvent(org.ID).Type)
	assert.Len(t, f.outbox(org.ID, store.OutboxQueued), 1, "the approval's mail is queued")

	_, _, err = j.ApproveJoinRequest(f.ctx, org.ID, r.ID, store.JoinDecision{By: "usr_admin", At: at}, f.approval(org.ID, f.email("x")))
	require.ErrorIs(t, err, store.ErrWrongStatus)
	_, err = j.DeclineJoinRequest(f.ctx, org.ID, r.ID, store.JoinDecision{By: "usr_admin", At: at, Event: f.ev(org.ID, "", store.EventJoinDeclined)})
	require.ErrorIs(t, err, store.ErrWrongStatus)
	_, _, err = j.ApproveJoinRequest(f.ctx, org.ID, "jrq_missing", store.JoinDecision{At: at}, f.approval(org.ID, f.email("y")))
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testJoinApproveMember(t *testing.T, f *fixture, j store.JoinRequestStore, _ store.DomainStore) {
	org := f.org()
	email := f.email("ann")
	r := f.request(j, org.ID, email)
	f.add(org.ID, email) // the person got a membership meanwhile
	snap := f.snapshot(org.ID)

	_, _, err := j.ApproveJoinRequest(f.ctx, org.ID, r.ID, store.JoinDecision{By: "usr_admin", At: f.now}, f.approval(org.ID, email))
	require.ErrorIs(t, err, store.ErrAlreadyMember)
	assert.Equal(t, snap, f.snapshot(org.ID), "nothing written")
	got, err := j.GetJoinRequest(f.ctx, org.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, store.JoinRequestPending, got.Status, "the request stays pending")
}

func testJoinDecline(t *testing.T, f *fixture, j store.JoinRequestStore, _ store.DomainStore) {
	org := f.org()
	email := f.email("ann")
	r := f.request(j, org.ID, email)
	at := f.now.Add(time.Minute)
	got, err := j.DeclineJoinRequest(f.ctx, org.ID, r.ID, store.JoinDecision{
		By: "usr_admin", Reason: "we do not know you", At: at,
		Outbox: f.reminder(org.ID, email, store.MailAdded), Event: f.ev(org.ID, "", store.EventJoinDeclined),
	})
	require.NoError(t, err)
	assert.Equal(t, store.JoinRequestDeclined, got.Status)
	assert.Equal(t, "we do not know you", got.Reason)
	require.NotNil(t, got.DecideTime)
	assert.True(t, got.DecideTime.Equal(at))
	assert.Equal(t, store.EventJoinDeclined, f.lastEvent(org.ID).Type)
	assert.Len(t, f.outbox(org.ID, store.OutboxQueued), 1)

	stored, err := j.GetJoinRequest(f.ctx, org.ID, r.ID)
	require.NoError(t, err)
	assert.Equal(t, "we do not know you", stored.Reason)
	assert.Equal(t, "usr_admin", stored.DecidedBy)

	// A new request after a decline is the store's to take (the Service
	// enforces the cool-down); the newest is the latest.
	f.now = f.now.Add(time.Hour)
	again := f.request(j, org.ID, email)
	latest, err := j.LatestJoinRequest(f.ctx, org.ID, email)
	require.NoError(t, err)
	assert.Equal(t, again.ID, latest.ID)
}

func testJoinScoping(t *testing.T, f *fixture, j store.JoinRequestStore, _ store.DomainStore) {
	org, other := f.org(), f.org()
	email := f.email("ann")
	r := f.request(j, org.ID, email)
	snap := f.snapshot(org.ID, other.ID)

	_, err := j.GetJoinRequest(f.ctx, other.ID, r.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = j.LatestJoinRequest(f.ctx, other.ID, email)
	require.ErrorIs(t, err, store.ErrNotFound)
	list, err := j.ListJoinRequests(f.ctx, other.ID, "", 0)
	require.NoError(t, err)
	assert.Empty(t, list)
	_, _, err = j.ApproveJoinRequest(f.ctx, other.ID, r.ID, store.JoinDecision{At: f.now}, f.approval(other.ID, email))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = j.DeclineJoinRequest(f.ctx, other.ID, r.ID, store.JoinDecision{At: f.now, Event: f.ev(other.ID, "", store.EventJoinDeclined)})
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Equal(t, snap, f.snapshot(org.ID, other.ID), "nothing written")

	// The same email may ask another organization at the same time.
	f.request(j, other.ID, email)
}

func testJoinConcurrentCreate(t *testing.T, f *fixture, j store.JoinRequestStore, _ store.DomainStore) {
	org := f.org()
	email := f.email("race")
	errs := parallel(20, func(int) error {
		return j.CreateJoinRequest(f.ctx, f.joinRequest(org.ID, email), f.ev(org.ID, "", store.EventJoinRequested))
	})
	require.Len(t, winners(t, errs, store.ErrJoinRequestPending), 1, "exactly one pending request")
	list, err := j.ListJoinRequests(f.ctx, org.ID, "", 0)
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func testJoinConcurrentDecide(t *testing.T, f *fixture, j store.JoinRequestStore, _ store.DomainStore) {
	org := f.org()
	email := f.email("race")
	r := f.request(j, org.ID, email)
	before := len(f.events(org.ID))
	errs := parallel(20, func(i int) error {
		d := store.JoinDecision{By: "usr_admin", At: f.now, Event: f.ev(org.ID, "", store.EventJoinDeclined)}
		if i%2 == 0 {
			_, _, err := j.ApproveJoinRequest(f.ctx, org.ID, r.ID, d, f.approval(org.ID, email))
			return err
		}
		_, err := j.DeclineJoinRequest(f.ctx, org.ID, r.ID, d)
		return err
	})
	require.Len(t, winners(t, errs, store.ErrWrongStatus), 1, "exactly one decision wins")
	assert.Len(t, f.events(org.ID), before+1, "one decision event")
}

func (f *fixture) domain(orgID, name string) store.Domain {
	return store.Domain{
		OrganizationID: orgID, Domain: name, Token: "tok" + token(), Policy: store.DomainPolicyNone,
		CreatedBy: "usr_admin", CreateTime: f.now, UpdateTime: f.now,
	}
}

func (f *fixture) claimDomain(d store.DomainStore, orgID, name string) store.Domain {
	f.t.Helper()
	dm := f.domain(orgID, name)
	require.NoError(f.t, d.CreateDomain(f.ctx, dm, f.ev(orgID, "", store.EventDomainClaimed)))
	return dm
}

func domainName() string { return "d" + token() + ".example.com" }

func testDomainClaim(t *testing.T, f *fixture, _ store.JoinRequestStore, d store.DomainStore) {
	org, other := f.org(), f.org()
	a, b := "b"+domainName(), "a"+domainName()
	require.ErrorIs(t, d.CreateDomain(f.ctx, f.domain("org_missing", a), f.ev("org_missing", "", store.EventDomainClaimed)), store.ErrNotFound)
	claimed := f.claimDomain(d, org.ID, a)
	f.claimDomain(d, org.ID, b)
	require.ErrorIs(t, d.CreateDomain(f.ctx, f.domain(org.ID, a), f.ev(org.ID, "", store.EventDomainClaimed)), store.ErrDomainClaimed)
	f.claimDomain(d, other.ID, a) // another organization may claim it too

	got, err := d.GetDomain(f.ctx, org.ID, a)
	require.NoError(t, err)
	assert.Equal(t, claimed.Token, got.Token)
	assert.Equal(t, store.DomainPolicyNone, got.Policy)
	assert.False(t, got.Verified())
	assert.Equal(t, "usr_admin", got.CreatedBy)
	assert.True(t, got.CreateTime.Equal(f.now))

	list, err := d.ListDomains(f.ctx, org.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []string{b, a}, []string{list[0].Domain, list[1].Domain}, "by name")
	list, err = d.ListDomains(f.ctx, other.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.NotEqual(t, claimed.Token, list[0].Token, "each claim has its own token")

	_, err = d.GetDomain(f.ctx, other.ID, b)
	require.ErrorIs(t, err, store.ErrNotFound, "another organization's claim")
	_, err = d.VerifiedDomain(f.ctx, a)
	require.ErrorIs(t, err, store.ErrNotFound, "nothing verified yet")
	assert.Equal(t, store.EventDomainClaimed, f.lastEvent(org.ID).Type)
}

func testDomainOneOrg(t *testing.T, f *fixture, _ store.JoinRequestStore, d store.DomainStore) {
	org, other := f.org(), f.org()
	name := domainName()
	f.claimDomain(d, org.ID, name)
	f.claimDomain(d, other.ID, name)
	at := f.now.Add(time.Minute)
	ev := f.ev(org.ID, "", store.EventDomainVerified)

	got, err := d.RecordDomainCheck(f.ctx, org.ID, name, store.DomainCheck{Found: true, At: at, Event: &ev})
	require.NoError(t, err)
	require.True(t, got.Verified())
	assert.True(t, got.VerifiedTime.Equal(at))
	assert.True(t, got.CheckTime.Equal(at))
	assert.Equal(t, store.EventDomainVerified, f.lastEvent(org.ID).Type)

	snap := f.snapshot(org.ID, other.ID)
	oev := f.ev(other.ID, "", store.EventDomainVerified)
	_, err = d.RecordDomainCheck(f.ctx, other.ID, name, store.DomainCheck{Found: true, At: at, Event: &oev})
	require.ErrorIs(t, err, store.ErrDomainUnavailable)
	assert.Equal(t, snap, f.snapshot(org.ID, other.ID), "nothing written")

	v, err := d.VerifiedDomain(f.ctx, name)
	require.NoError(t, err)
	assert.Equal(t, org.ID, v.OrganizationID)

	// A later check that finds it keeps VerifiedTime and moves CheckTime.
	later := at.Add(time.Hour)
	got, err = d.RecordDomainCheck(f.ctx, org.ID, name, store.DomainCheck{Found: true, At: later})
	require.NoError(t, err)
	assert.True(t, got.VerifiedTime.Equal(at))
	assert.True(t, got.CheckTime.Equal(later))

	// The record disappears: the domain stops granting, and the other
	// organization may verify it.
	lost := f.ev(org.ID, "", store.EventDomainUnverified)
	got, err = d.RecordDomainCheck(f.ctx, org.ID, name, store.DomainCheck{Found: false, At: later, Event: &lost})
	require.NoError(t, err)
	assert.False(t, got.Verified())
	_, err = d.VerifiedDomain(f.ctx, name)
	require.ErrorIs(t, err, store.ErrNotFound)
	got, err = d.RecordDomainCheck(f.ctx, other.ID, name, store.DomainCheck{Found: true, At: later})
	require.NoError(t, err)
	assert.True(t, got.Verified())
	v, err = d.VerifiedDomain(f.ctx, name)
	require.NoError(t, err)
	assert.Equal(t, other.ID, v.OrganizationID)

	_, err = d.RecordDomainCheck(f.ctx, org.ID, domainName(), store.DomainCheck{Found: true, At: later})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDomainConcurrentVerify(t *testing.T, f *fixture, _ store.JoinRequestStore, d store.DomainStore) {
	name := domainName()
	orgs := make([]store.Organization, 12)
	for i := range orgs {
		orgs[i] = f.org()
		f.claimDomain(d, orgs[i].ID, name)
	}
	errs := parallel(len(orgs), func(i int) error {
		ev := f.ev(orgs[i].ID, "", store.EventDomainVerified)
		_, err := d.RecordDomainCheck(f.ctx, orgs[i].ID, name, store.DomainCheck{Found: true, At: f.now, Event: &ev})
		return err
	})
	ok := winners(t, errs, store.ErrDomainUnavailable)
	require.Len(t, ok, 1, "exactly one organization verifies the domain")
	v, err := d.VerifiedDomain(f.ctx, name)
	require.NoError(t, err)
	assert.Equal(t, orgs[ok[0]].ID, v.OrganizationID)
	for i, o := range orgs {
		got, err := d.GetDomain(f.ctx, o.ID, name)
		require.NoError(t, err)
		assert.Equal(t, i == ok[0], got.Verified(), "organization %d", i)
	}
}

func testDomainPolicyDue(t *testing.T, f *fixture, _ store.JoinRequestStore, d store.DomainStore) {
	org := f.org()
	a, b, c := domainName(), domainName(), domainName()
	for _, n := range []string{a, b, c} {
		f.claimDomain(d, org.ID, n)
	}
	at := f.now.Add(time.Hour)
	got, err := d.SetDomainPolicy(f.ctx, org.ID, a, store.DomainPolicyAutoJoin, []string{"member"}, at, f.ev(org.ID, "", store.EventDomainPolicyUpdated))
	require.NoError(t, err)
	assert.Equal(t, store.DomainPolicyAutoJoin, got.Policy)
	assert.Equal(t, []string{"member"}, got.DefaultRoles)
	assert.True(t, got.UpdateTime.Equal(at))
	stored, err := d.GetDomain(f.ctx, org.ID, a)
	require.NoError(t, err)
	assert.Equal(t, got.Policy, stored.Policy)
	assert.Equal(t, got.DefaultRoles, stored.DefaultRoles)
	_, err = d.SetDomainPolicy(f.ctx, org.ID, domainName(), store.DomainPolicyRequest, nil, at, f.ev(org.ID, "", store.EventDomainPolicyUpdated))
	require.ErrorIs(t, err, store.ErrNotFound)

	// b checked first, then a; c never verified.
	_, err = d.RecordDomainCheck(f.ctx, org.ID, b, store.DomainCheck{Found: true, At: f.now.Add(time.Minute)})
	require.NoError(t, err)
	_, err = d.RecordDomainCheck(f.ctx, org.ID, a, store.DomainCheck{Found: true, At: f.now.Add(2 * time.Minute)})
	require.NoError(t, err)
	due, err := d.DomainsDue(f.ctx, f.now.Add(time.Hour), 10)
	require.NoError(t, err)
	var names []string
	for _, x := range due {
		names = append(names, x.Domain)
	}
	assert.Equal(t, []string{b, a}, names, "verified ones, oldest check first")
	due, err = d.DomainsDue(f.ctx, f.now.Add(90*time.Second), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	due, err = d.DomainsDue(f.ctx, f.now.Add(time.Hour), 1)
	require.NoError(t, err)
	require.Len(t, due, 1)

	require.NoError(t, d.DeleteDomain(f.ctx, org.ID, a, f.ev(org.ID, "", store.EventDomainRemoved)))
	require.ErrorIs(t, d.DeleteDomain(f.ctx, org.ID, a, f.ev(org.ID, "", store.EventDomainRemoved)), store.ErrNotFound)
	_, err = d.VerifiedDomain(f.ctx, a)
	require.ErrorIs(t, err, store.ErrNotFound, "a removed domain grants nothing")
	assert.Equal(t, store.EventDomainRemoved, f.lastEvent(org.ID).Type)
}
