// Package storetest is the conformance suite every store.Store must pass.
//
// A store package runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
//	}
//
// Run calls newStore once per subtest, and each subtest expects a new, empty
// store (the outbox tests claim messages of every organization). Subtests
// do not run in parallel with each other, but several of them call the
// store from many goroutines at once: run the suite with -race.
//
// The suite compares times with time.Time.Equal semantics after converting
// to UTC (so a store may return times in any location), treats nil and empty
// maps and slices alike, and uses whole-second times only (so a store may
// keep microsecond precision, as PostgreSQL does).
//
// NewOrg, InviteParams and AddParams are exported for tests of code built on
// a Store.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// Run runs the conformance suite against the stores newStore returns, one
// per subtest. If a store implements store.Closer, it is closed when its
// subtest ends, before the cleanup functions newStore registered run.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"Organization/CreateGet", testOrganizationCreateGet},
		{"Organization/WithMember", testOrganizationWithMember},
		{"Organization/Repeated", testOrganizationRepeated},
		{"NotFound", testNotFound},
		{"CreateMembership/NewUser", testCreateNewUser},
		{"CreateMembership/ReusesUserByEmail", testReuseUserByEmail},
		{"CreateMembership/Atomic", testCreateAtomic},
		{"Uniqueness/OneMembershipPerOrgUser", testOneMembershipPerOrgUser},
		{"Uniqueness/ExternalID", testExternalIDUnique},
		{"Scoping", testScoping},
		{"NoAliasing", testNoAliasing},
		{"ListUserMemberships", testListUserMemberships},
		{"ListMembers/EffectiveStatus", testListStatusFilter},
		{"ListMembers/Query", testListQuery},
		{"ListMembers/Pagination", testPagination},
		{"ListMembers/PaginationFiltered", testPaginationFiltered},
		{"ListMembers/DefaultLimit", testDefaultLimit},
		{"UpdateMembership", testUpdateMembership},
		{"SetMembershipStatus", testSetMembershipStatus},
		{"KeepRole", testKeepRole},
		{"AcceptInvitation/Success", testAcceptSuccess},
		{"AcceptInvitation/Expired", testAcceptExpired},
		{"AcceptInvitation/ErrorsWriteNothing", testAcceptErrors},
		{"RevokeInvitation", testRevoke},
		{"ReissueInvitation", testReissue},
		{"LinkIdentity", testLinkIdentity},
		{"RecordLogin", testRecordLogin},
		{"Events/Order", testEventOrder},
		{"Events/DefaultLimit", testEventDefaultLimit},
		{"Outbox/ClaimLease", testOutboxClaimLease},
		{"Outbox/Retry", testOutboxRetry},
		{"Outbox/Sent", testOutboxSent},
		{"Outbox/Dead", testOutboxDead},
		{"Outbox/ListCount", testOutboxListCount},
		{"BatchCreator", testBatch},
		{"Concurrent/Accept", testConcurrentAccept},
		{"Concurrent/InviteSameEmail", testConcurrentInvite},
		{"Concurrent/InviteSameEmailManyOrgs", testConcurrentInviteManyOrgs},
		{"Concurrent/ClaimOutbox", testConcurrentClaim},
		{"Concurrent/KeepRole", testConcurrentKeepRole},
		{"MemberView/RoundTrip", testMemberViewRoundTrip},
		{"MemberView/Batch", testMemberViewBatch},
		{"MemberView/OrganizationWithMember", testMemberViewOrganizationWithMember},
		{"MemberView/ExternalIDUnique", testMemberViewExternalIDUnique},
		{"MemberView/GetByExternalID", testMemberViewGetByExternalID},
		{"MemberView/Update", testMemberViewUpdate},
		{"MemberView/TwoOrganizations", testMemberViewTwoOrganizations},
		{"MemberView/LastLogin", testMemberViewLastLogin},
	}
	tests = append(tests, notifyTests...)    // notify.go
	tests = append(tests, directoryTests...) // directory.go
	tests = append(tests, approvalTests...)  // approvals.go
	tests = append(tests, allEventsTests...) // allevents.go

	tests = append(tests, acceptLoginTests...) // acceptlogin.go
	tests = append(tests, ssoSignInTests...)   // ssosignin.go

	tests = append(tests, resendRevokeTests...) // resendrevoke.go
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			require.NotNil(t, st, "newStore returned nil")
			if c, ok := st.(store.Closer); ok {
				t.Cleanup(func() { _ = c.Close() })
			}
			tc.fn(t, &fixture{t: t, ctx: t.Context(), st: st, now: epoch()})
		})
	}
}

// epoch is the time the suite's data starts at.
func epoch() time.Time { return time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) }

// NewOrg creates an organization with a fresh random id, named "Org <id>",
// and fails the test on error.
func NewOrg(t testing.TB, st store.Store, now time.Time) store.Organization {
	t.Helper()
	id := store.NewID("org")
	org := store.Organization{
		ID: id, Name: "Org " + id, Locale: "en",
		Metadata:   map[string]string{"plan": "test"},
		CreateTime: now, UpdateTime: now,
	}
	ev := store.Event{
		ID: store.NewID("evt"), OrganizationID: id, Type: store.EventOrganizationCreated,
		ActorID: "usr_storetest", CreateTime: now,
	}
	require.NoError(t, st.CreateOrganization(t.Context(), org, ev))
	return org
}

// InviteParams returns the parameters of an invitation of email into orgID
// as the invite service writes them: a new user (fresh ids), a
// PENDING_INVITE membership expiring 15 days after now, an invitation, a
// queued invitation mail and an EventMembershipInvited event.
func InviteParams(orgID, email string, now time.Time) store.CreateMembershipParams {
	p := AddParams(orgID, email, now)
	exp := now.Add(15 * 24 * time.Hour)
	p.Membership.Status = store.StatusPendingInvite
	p.Membership.InviteExpireTime = exp
	invID := store.NewID("inv")
	hash := sha256.Sum256([]byte("verifier of " + invID))
	p.Invitation = &store.Invitation{
		ID: invID, OrganizationID: orgID, Email: email, VerifierHash: hash[:],
		InvitedBy: "usr_storetest", CreateTime: now, ExpireTime: exp,
	}
	msgID := store.NewID("msg")
	p.Outbox = &store.OutboxMessage{
		ID: msgID, OrganizationID: orgID, Kind: store.MailInvitation, To: email,
		MessageID: "<" + msgID + "@invitekit>",
		Data:      map[string]string{"org_id": orgID, "email": email, "expire_time": exp.Format(time.RFC3339)},
		Sealed:    []byte("sealed accept link of " + msgID),
		Status:    store.OutboxQueued, NextAttemptTime: now, CreateTime: now,
	}
	p.Event.Type = store.EventMembershipInvited
	return p
}

// AddParams returns the parameters of a direct add of email into orgID: a
// new user (fresh ids), an ACTIVE membership with role "member" whose view
// of the person (Membership.Profile, UserMetadata) is what the user was
// created with (no external id, no last login), no invitation, no mail and
// an EventMembershipAdded event.
func AddParams(orgID, email string, now time.Time) store.CreateMembershipParams {
	local, _, _ := strings.Cut(email, "@")
	return store.CreateMembershipParams{
		User: store.User{
			ID: store.NewID("usr"), Email: email,
			Profile: store.UserProfile{
				ID: store.NewID("prof"), FirstName: "First", LastName: "Last", Name: local,
				Locale: "en", Metadata: map[string]string{"p": "1"}, CustomAttributes: map[string]string{"c": "2"},
			},
			Metadata:   map[string]string{"source": "storetest"},
			CreateTime: now, UpdateTime: now,
		},
		Membership: store.Membership{
			OrganizationID: orgID, Status: store.StatusActive, Roles: []string{"member"},
			Metadata:                map[string]string{"team": "a"},
			PrimaryIdentityProvider: "IDENTITY_PROVIDER_UNSPECIFIED", InvitedBy: "usr_storetest",
			JoinTime: now, UpdateTime: now,
			Profile: store.MemberProfile{
				FirstName: "First", LastName: "Last", Name: local,
				Locale: "en", Metadata: map[string]string{"p": "1"}, CustomAttributes: map[string]string{"c": "2"},
			},
			UserMetadata: map[string]string{"source": "storetest"},
		},
		Event: store.Event{
			ID: store.NewID("evt"), OrganizationID: orgID, Type: store.EventMembershipAdded,
			ActorID: "usr_storetest", Data: map[string]string{"email": email}, CreateTime: now,
		},
	}
}

// fixture is one subtest's store and helpers.
type fixture struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	now time.Time
}

// invited is what f.invite wrote.
type invited struct {
	User       store.User
	Membership store.Membership
	Invitation store.Invitation
	Outbox     store.OutboxMessage
	Params     store.CreateMembershipParams
}

func (f *fixture) org() store.Organization { f.t.Helper(); return NewOrg(f.t, f.st, f.now) }

// email returns a fresh address starting with name.
func (f *fixture) email(name string) string { return name + "." + token() + "@example.com" }

// token returns 8 random lowercase letters.
func token() string {
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b)
}

func (f *fixture) create(p store.CreateMembershipParams) store.CreateMembershipResult {
	f.t.Helper()
	res, err := f.st.CreateMembership(f.ctx, p)
	require.NoError(f.t, err)
	return res
}

// invite creates a pending membership from InviteParams, after edit.
func (f *fixture) invite(orgID, email string, edit ...func(*store.CreateMembershipParams)) invited {
	f.t.Helper()
	p := InviteParams(orgID, email, f.now)
	for _, e := range edit {
		e(&p)
	}
	res := f.create(p)
	inv := *p.Invitation
	inv.UserID = res.User.ID
	return invited{User: res.User, Membership: res.Membership, Invitation: inv, Outbox: *p.Outbox, Params: p}
}

// add creates an ACTIVE membership from AddParams, after edit.
func (f *fixture) add(orgID, email string, edit ...func(*store.CreateMembershipParams)) store.CreateMembershipResult {
	f.t.Helper()
	p := AddParams(orgID, email, f.now)
	for _, e := range edit {
		e(&p)
	}
	return f.create(p)
}

// ev returns a new event.
func (f *fixture) ev(orgID, userID, typ string) store.Event {
	return store.Event{
		ID: store.NewID("evt"), OrganizationID: orgID, Type: typ, UserID: userID,
		ActorID: "usr_admin", Data: map[string]string{"k": "v"}, CreateTime: f.now,
	}
}

// events returns all of orgID's events (up to 1000).
func (f *fixture) events(orgID string) []store.Event {
	f.t.Helper()
	evs, err := f.st.ListEvents(f.ctx, orgID, 0, 1000)
	require.NoError(f.t, err)
	return evs
}

// eventIDs returns the ids of orgID's events.
func (f *fixture) eventIDs(orgID string) []string {
	f.t.Helper()
	var ids []string
	for _, ev := range f.events(orgID) {
		ids = append(ids, ev.ID)
	}
	return ids
}

// lastEvent returns orgID's newest event.
func (f *fixture) lastEvent(orgID string) store.Event {
	f.t.Helper()
	evs := f.events(orgID)
	require.NotEmpty(f.t, evs, "no events in %s", orgID)
	return evs[len(evs)-1]
}

// members returns all of orgID's members with opts, following cursors.
func (f *fixture) members(orgID string, opts store.ListOptions) []store.Member {
	f.t.Helper()
	var all []store.Member
	for range 1000 {
		page, err := f.st.ListMembers(f.ctx, orgID, opts)
		require.NoError(f.t, err)
		all = append(all, page.Members...)
		if page.Next == "" {
			return all
		}
		opts.After = page.Next
	}
	f.t.Fatal("ListMembers never returned an empty Next")
	return nil
}

// memberIDs returns the user ids of orgID's members with opts.
func (f *fixture) memberIDs(orgID string, opts store.ListOptions) []string {
	f.t.Helper()
	var ids []string
	for _, m := range f.members(orgID, opts) {
		ids = append(ids, m.User.ID)
	}
	return ids
}

func (f *fixture) membership(orgID, userID string) store.Membership {
	f.t.Helper()
	m, err := f.st.GetMembership(f.ctx, orgID, userID)
	require.NoError(f.t, err)
	return m
}

func (f *fixture) invitation(id string) store.Invitation {
	f.t.Helper()
	inv, err := f.st.GetInvitation(f.ctx, id)
	require.NoError(f.t, err)
	return inv
}

func (f *fixture) user(id string) store.User {
	f.t.Helper()
	u, err := f.st.GetUser(f.ctx, id)
	require.NoError(f.t, err)
	return u
}

func (f *fixture) count(status store.OutboxStatus) int {
	f.t.Helper()
	n, err := f.st.CountOutbox(f.ctx, status)
	require.NoError(f.t, err)
	return n
}

// outbox returns orgID's messages with status.
func (f *fixture) outbox(orgID string, status store.OutboxStatus) []store.OutboxMessage {
	f.t.Helper()
	msgs, err := f.st.ListOutbox(f.ctx, orgID, status, 1000)
	require.NoError(f.t, err)
	return msgs
}

func outboxIDs(msgs []store.OutboxMessage) []string {
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids
}

// acceptParams accepts inv at `at` with a fresh identity.
func (f *fixture) acceptParams(inv store.Invitation, at time.Time) store.AcceptParams {
	ev := f.ev(inv.OrganizationID, inv.UserID, store.EventMembershipAccepted)
	ev.CreateTime = at
	return store.AcceptParams{
		InvitationID: inv.ID, Now: at,
		Identity: store.Identity{
			Issuer: "https://idp.storetest.example", Subject: "sub-" + token(),
			Email: inv.Email, CreateTime: at,
		},
		EmailVerified: true, IdentityProvider: "OIDC", Event: ev,
	}
}

// snapshot is what "nothing was written" compares.
type snapshot struct {
	Events  map[string][]string // org → event ids
	Members map[string][]string // org → "user status roles"
	Queued  int
	Sent    int
	Dead    int
}

func (f *fixture) snapshot(orgIDs ...string) snapshot {
	f.t.Helper()
	s := snapshot{
		Events: map[string][]string{}, Members: map[string][]string{},
		Queued: f.count(store.OutboxQueued), Sent: f.count(store.OutboxSent), Dead: f.count(store.OutboxDead),
	}
	for _, org := range orgIDs {
		s.Events[org] = f.eventIDs(org)
		for _, m := range f.members(org, store.ListOptions{}) {
			s.Members[org] = append(s.Members[org], fmt.Sprint(m.User.ID, " ", m.Membership.Status, " ", m.Membership.Roles))
		}
	}
	return s
}

// Normalization for comparisons: UTC times, nil for empty maps and slices.

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func normTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := normTime(*t)
	return &n
}

func normMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func normOrg(o store.Organization) store.Organization {
	o.Metadata = normMap(o.Metadata)
	o.CreateTime, o.UpdateTime = normTime(o.CreateTime), normTime(o.UpdateTime)
	return o
}

func normUser(u store.User) store.User {
	u.Metadata = normMap(u.Metadata)
	u.Profile.Metadata = normMap(u.Profile.Metadata)
	u.Profile.CustomAttributes = normMap(u.Profile.CustomAttributes)
	u.CreateTime, u.UpdateTime = normTime(u.CreateTime), normTime(u.UpdateTime)
	u.LastLogin = normTimePtr(u.LastLogin)
	return u
}

func normMembership(m store.Membership) store.Membership {
	if len(m.Roles) == 0 {
		m.Roles = nil
	}
	m.Metadata = normMap(m.Metadata)
	m.Profile.Metadata = normMap(m.Profile.Metadata)
	m.Profile.CustomAttributes = normMap(m.Profile.CustomAttributes)
	m.UserMetadata = normMap(m.UserMetadata)
	m.InviteExpireTime = normTime(m.InviteExpireTime)
	m.JoinTime, m.UpdateTime = normTime(m.JoinTime), normTime(m.UpdateTime)
	m.LastLogin = normTimePtr(m.LastLogin)
	return m
}

func normInvitation(i store.Invitation) store.Invitation {
	if len(i.VerifierHash) == 0 {
		i.VerifierHash = nil
	}
	i.CreateTime, i.ExpireTime = normTime(i.CreateTime), normTime(i.ExpireTime)
	i.SpendTime, i.RevokeTime = normTimePtr(i.SpendTime), normTimePtr(i.RevokeTime)
	return i
}

func normIdentity(i store.Identity) store.Identity {
	i.CreateTime = normTime(i.CreateTime)
	return i
}

func normEvent(e store.Event) store.Event {
	e.Data = normMap(e.Data)
	e.CreateTime = normTime(e.CreateTime)
	return e
}

func normOutbox(m store.OutboxMessage) store.OutboxMessage {
	m.Data = normMap(m.Data)
	if len(m.Sealed) == 0 {
		m.Sealed = nil
	}
	m.NextAttemptTime, m.LeaseUntil = normTime(m.NextAttemptTime), normTime(m.LeaseUntil)
	m.CreateTime = normTime(m.CreateTime)
	m.SentTime = normTimePtr(m.SentTime)
	return m
}
