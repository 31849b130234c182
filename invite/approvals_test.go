package invite_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
)

// approvalEnv is an organization with an ACTIVE admin (usr of
// "boss@acme.example") and an ACTIVE member ("mia@acme.example"), on st.
type approvalEnv struct {
	*invitetest.Env
	org         store.Organization
	admin, memb string // user ids
}

func newApprovalEnv(t *testing.T, st store.Store, mutate func(*invite.Config)) approvalEnv {
	t.Helper()
	e := invitetest.NewEnv(t, st, mutate)
	ctx := context.Background()
	org, res, err := e.Svc.CreateOrganization(ctx, invite.CreateOrganizationRequest{ID: "org_acme", Name: "Acme",
		Admin: &invite.InviteRequest{Email: "boss@acme.example", SendInvitationEmail: new(false),
			UserProfile: &invite.ProfileInput{FirstName: "Bo", LastName: "Boss"}}})
	require.NoError(t, err)
	m := e.AddActive(t, org.ID, "mia@acme.example", "member")
	return approvalEnv{Env: e, org: org, admin: res.User.ID, memb: m.User.ID}
}

func (a approvalEnv) setRules(t *testing.T, in invite.ApprovalRulesInput) store.ApprovalRules {
	t.Helper()
	r, err := a.Svc.SetApprovalRules(context.Background(), a.org.ID, in, a.admin)
	require.NoError(t, err)
	return r
}

func (a approvalEnv) invite(t *testing.T, email, by string, roles ...string) (*invite.InviteResult, error) {
	t.Helper()
	return a.Svc.CreateUserAndMembership(context.Background(), a.org.ID, invite.InviteRequest{
		Email: email, Roles: roles, InvitedBy: by, UserProfile: &invite.ProfileInput{FirstName: "Hal", LastName: "Held"},
	})
}

// TestHeldInviteLifecycle: the org's rule holds every invite; a held
// invite has no invitation and no mail; approving it creates the
// invitation then (its expiry counted from the approval) and queues its
// mail, whose link works; every step writes its event. On every store.
func TestHeldInviteLifecycle(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			a := newApprovalEnv(t, sc.Open(t), nil)
			ctx := context.Background()
			rules := a.setRules(t, invite.ApprovalRulesInput{All: true})
			assert.Equal(t, int64(1), rules.Revision)
			assert.Equal(t, store.EventApprovalRulesUpdated, a.LastEvent(t, a.org.ID).Type)

			before := len(a.Queued(t, a.org.ID))
			res, err := a.invite(t, "hal@else.example", a.memb)
			require.NoError(t, err)
			require.NotNil(t, res.Approval, "held")
			assert.Equal(t, store.StatusPendingApproval, res.Membership.Status)
			assert.Empty(t, res.AcceptLink)
			assert.Equal(t, "every invitation to this organization needs approval", res.Approval.HoldReason)
			assert.Len(t, a.Queued(t, a.org.ID), before, "no mail for a held invite")
			_, err = a.St.GetMembershipInvitation(ctx, a.org.ID, res.User.ID)
			require.ErrorIs(t, err, store.ErrNotFound, "no invitation, so no usable token")
			ev := a.LastEvent(t, a.org.ID)
			assert.Equal(t, store.EventMembershipHeld, ev.Type)
			assert.Equal(t, res.Approval.ID, ev.Data["approval_id"])
			assert.Equal(t, "go", ev.Data["surface"])

			// Inviting again is "already invited", writing nothing.
			_, err = a.invite(t, "hal@else.example", a.memb)
			require.ErrorIs(t, err, invite.ErrAlreadyInvited)

			held, err := a.Svc.HeldInvites(ctx, a.org.ID, a.admin, 0)
			require.NoError(t, err)
			require.Len(t, held, 1)
			assert.Equal(t, "hal@else.example", held[0].Email)
			assert.Equal(t, "Hal Held", held[0].Name)
			assert.Equal(t, "mia@acme.example", held[0].InviterName)
			assert.False(t, held[0].Expired)

			a.Clock.Advance(3 * 24 * time.Hour)
			approvedAt := a.Clock.Now().UTC()
			r, m, err := a.Svc.ApproveInvite(ctx, a.org.ID, res.Approval.ID, a.admin, invite.ApproveRequest{})
			require.NoError(t, err)
			assert.Equal(t, store.ApprovalApproved, r.Status)
			assert.Equal(t, store.StatusPendingInvite, m.Status)
			assert.True(t, m.InviteExpireTime.Equal(approvedAt.Add(invite.DefaultInviteTTL)), "the expiry counts from the approval: %v", m.InviteExpireTime)
			ev = a.LastEvent(t, a.org.ID)
			assert.Equal(t, store.EventHoldApproved, ev.Type)
			assert.Equal(t, a.admin, ev.ActorID)
			msgs := a.Queued(t, a.org.ID)
			require.Len(t, msgs, before+1, "the invitation mail, queued with the approval")
			msg := msgs[len(msgs)-1]
			assert.Equal(t, outbox.KindInvitation, msg.Kind)
			assert.Equal(t, "hal@else.example", msg.To)
			assert.Equal(t, "mia@acme.example", msg.Data[outbox.DataInviterName], "the inviter is named, not the approver")
			link := invitetest.OpenLink(t, msg)
			token := link[strings.Index(link, "token=")+len("token="):]
			acc, err := a.Svc.AcceptInvitation(ctx, token, invitetest.Verified("hal@else.example"))
			require.NoError(t, err)
			assert.Equal(t, store.StatusActive, acc.Status)

			_, _, err = a.Svc.ApproveInvite(ctx, a.org.ID, res.Approval.ID, a.admin, invite.ApproveRequest{})
			require.ErrorIs(t, err, invite.ErrAlreadyDecided)
		})
	}
}

// TestApprovalRuleKinds: each rule holds what it says and nothing else.
func TestApprovalRuleKinds(t *testing.T) {
	cases := []struct {
		name   string
		rules  invite.ApprovalRulesInput
		email  string
		by     string // "admin" or "member"
		roles  []string
		held   bool
		reason string
	}{
		{"none", invite.ApprovalRulesInput{}, "x@else.example", "member", nil, false, ""},
		{"role requested", invite.ApprovalRulesInput{Roles: []string{"admin"}}, "x@acme.example", "admin", []string{"admin"}, true, `the role "admin"`},
		{"role not requested", invite.ApprovalRulesInput{Roles: []string{"admin"}}, "x@acme.example", "admin", []string{"member"}, false, ""},
		{"inviter role", invite.ApprovalRulesInput{InviterRoles: []string{"member"}}, "x@acme.example", "member", nil, true, `members with the role "member"`},
		{"inviter without role", invite.ApprovalRulesInput{InviterRoles: []string{"member"}}, "x@acme.example", "admin", nil, false, ""},
		{"outside domains", invite.ApprovalRulesInput{OutsideDomains: true, Domains: []string{"ACME.example"}}, "x@else.example", "admin", nil, true, "outside the organization's domains"},
		{"inside domains", invite.ApprovalRulesInput{OutsideDomains: true, Domains: []string{"ACME.example"}}, "x@acme.example", "admin", nil, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newApprovalEnv(t, memstore.New(), nil)
			a.setRules(t, tc.rules)
			by := map[string]string{"admin": a.admin, "member": a.memb}[tc.by]
			res, err := a.invite(t, tc.email, by, tc.roles...)
			require.NoError(t, err)
			if !tc.held {
				assert.Nil(t, res.Approval)
				assert.Equal(t, store.StatusPendingInvite, res.Membership.Status)
				return
			}
			require.NotNil(t, res.Approval)
			assert.Contains(t, res.Approval.HoldReason, tc.reason)
		})
	}
}

// TestApprovalRulesInputRefused: bad rules are a FieldError with the full
// path, and change nothing.
func TestApprovalRulesInputRefused(t *testing.T) {
	a := newApprovalEnv(t, memstore.New(), nil)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		in    invite.ApprovalRulesInput
		field string
	}{
		"unknown role":      {invite.ApprovalRulesInput{Roles: []string{"member", "owner"}}, "roles[1]"},
		"unknown inviter":   {invite.ApprovalRulesInput{InviterRoles: []string{"root"}}, "inviterRoles[0]"},
		"bad domain":        {invite.ApprovalRulesInput{Domains: []string{"acme.example", "not a domain"}}, "domains[1]"},
		"control character": {invite.ApprovalRulesInput{Domains: []string{"acme\x01.example"}}, "domains[0]"},
	} {
		_, err := a.Svc.SetApprovalRules(ctx, a.org.ID, tc.in, a.admin)
		invitetest.AssertFieldError(t, err, store.CodeInvalidArgument, tc.field)
		_ = name
	}
	r, err := a.Svc.ApprovalRules(ctx, a.org.ID)
	require.NoError(t, err)
	assert.Zero(t, r.Revision, "nothing was set")
}

// TestInvitePolicyContext: the hook sees the whole context, and its
// answers allow with other roles, deny with a reason, or hold. The old
// BeforeInvite hook still refuses.
func TestInvitePolicyContext(t *testing.T) {
	var got []invite.PolicyInput
	var mu sync.Mutex
	a := newApprovalEnv(t, memstore.New(), func(c *invite.Config) {
		c.InvitePolicy = func(ctx context.Context, in invite.PolicyInput) (invite.PolicyDecision, error) {
			mu.Lock()
			got = append(got, in)
			mu.Unlock()
			switch in.Request.Metadata["plan"] {
			case "free":
				return invite.Deny("the free plan has no seats left"), nil
			case "trial":
				return invite.Hold("trial accounts need a sales check"), nil
			case "demote":
				return invite.AllowWithRoles("billing"), nil
			case "bogus":
				return invite.AllowWithRoles("root"), nil
			case "broken":
				return invite.PolicyDecision{}, errors.New("crm down")
			}
			return invite.Allow(), nil
		}
		c.BeforeInvite = func(ctx context.Context, in invite.PolicyInput) error {
			if strings.HasPrefix(in.Request.Email, "banned") {
				return &invite.PolicyError{Reason: "banned by the old hook"}
			}
			return nil
		}
	})
	ctx := invite.WithSurface(context.Background(), invite.SurfaceAPI)
	inv := func(email, plan string) (*invite.InviteResult, error) {
		return a.Svc.CreateUserAndMembership(ctx, a.org.ID, invite.InviteRequest{
			Email: email, Roles: []string{"member"}, Metadata: map[string]string{"plan": plan}, InvitedBy: a.admin,
		})
	}
	a.setRules(t, invite.ApprovalRulesInput{Roles: []string{"billing"}})

	res, err := inv("ok@else.example", "pro")
	require.NoError(t, err)
	assert.Nil(t, res.Approval)
	require.NotEmpty(t, got)
	in := got[len(got)-1]
	assert.Equal(t, a.org.ID, in.Organization.ID)
	assert.Equal(t, "Acme", in.Organization.Name)
	assert.Equal(t, a.admin, in.Inviter)
	assert.Equal(t, []string{"admin"}, in.InviterRoles)
	assert.Equal(t, "ok@else.example", in.Request.Email)
	assert.Equal(t, []string{"member"}, in.Request.Roles)
	assert.Equal(t, map[string]string{"plan": "pro"}, in.Request.Metadata)
	assert.Equal(t, invite.SurfaceAPI, in.Surface)
	assert.Equal(t, []string{"billing"}, in.Rules.Roles)
	assert.Empty(t, in.RuleHold)
	assert.False(t, in.Direct)

	_, err = inv("free@else.example", "free")
	var pe *invite.PolicyError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "the free plan has no seats left", pe.Reason)

	res, err = inv("trial@else.example", "trial")
	require.NoError(t, err)
	require.NotNil(t, res.Approval)
	assert.Equal(t, "trial accounts need a sales check", res.Approval.HoldReason)
	assert.Equal(t, "api", res.Approval.Surface)

	// AllowWithRoles gives billing, which the org's rule holds: the
	// strictest answer wins.
	res, err = inv("demote@else.example", "demote")
	require.NoError(t, err)
	assert.Equal(t, []string{"billing"}, res.Membership.Roles)
	require.NotNil(t, res.Approval, "the rule still holds what the hook allowed")

	for _, plan := range []string{"bogus", "broken"} {
		_, err = inv(plan+"@else.example", plan)
		require.ErrorAs(t, err, &pe, plan)
		assert.Equal(t, "the invitation was refused by policy", pe.Reason, "%s: the hook's own error is not shown", plan)
	}
	_, err = inv("banned@else.example", "pro")
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "banned by the old hook", pe.Reason, "BeforeInvite keeps working")
}

// TestPolicyDecisionCannotRace: a rules change that commits after the
// decision read the rules but before the write makes the write stale: the
// invite is decided again, under the new rules, and held.
func TestPolicyDecisionCannotRace(t *testing.T) {
	invitetest.ForEachStore(t, func(t *testing.T, st store.Store) {
		var calls atomic.Int32
		var a approvalEnv
		a = newApprovalEnv(t, st, func(c *invite.Config) {
			c.InvitePolicy = func(ctx context.Context, in invite.PolicyInput) (invite.PolicyDecision, error) {
				if in.Request.Email != "racer@else.example" {
					return invite.Allow(), nil
				}
				if calls.Add(1) == 1 {
					// Another admin requires approval while this
					// invite is being decided.
					_, err := a.Svc.SetApprovalRules(context.Background(), a.org.ID, invite.ApprovalRulesInput{All: true}, a.admin)
					require.NoError(t, err)
				}
				return invite.Allow(), nil
			}
		})
		res, err := a.invite(t, "racer@else.example", a.memb)
		require.NoError(t, err)
		assert.Equal(t, int32(2), calls.Load(), "decided again")
		require.NotNil(t, res.Approval, "held under the rules that were in force at the write")
		assert.Equal(t, store.StatusPendingApproval, res.Membership.Status)
	})
}

// TestRejectNotifiesInviter: a rejection removes the held membership,
// keeps the reason, writes the event and queues the notice to the inviter.
func TestRejectNotifiesInviter(t *testing.T) {
	invitetest.ForEachStore(t, func(t *testing.T, st store.Store) {
		a := newApprovalEnv(t, st, nil)
		ctx := context.Background()
		a.setRules(t, invite.ApprovalRulesInput{InviterRoles: []string{"member"}})
		res, err := a.invite(t, "rex@else.example", a.memb)
		require.NoError(t, err)
		require.NotNil(t, res.Approval)

		_, err = a.Svc.RejectInvite(ctx, a.org.ID, res.Approval.ID, a.admin, invite.RejectRequest{Reason: "  "})
		invitetest.AssertFieldError(t, err, store.CodeInvalidArgument, "reason")
		_, err = a.Svc.RejectInvite(ctx, a.org.ID, res.Approval.ID, a.admin, invite.RejectRequest{Reason: "bad\x00reason"})
		invitetest.AssertFieldError(t, err, store.CodeInvalidArgument, "reason")

		r, err := a.Svc.RejectInvite(ctx, a.org.ID, res.Approval.ID, a.admin, invite.RejectRequest{Reason: "We do not work with Else Inc."})
		require.NoError(t, err)
		assert.Equal(t, store.ApprovalRejected, r.Status)
		assert.Equal(t, "We do not work with Else Inc.", r.Reason)
		_, err = a.St.GetMembership(ctx, a.org.ID, res.User.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		ev := a.LastEvent(t, a.org.ID)
		assert.Equal(t, store.EventHoldRejected, ev.Type)
		assert.Equal(t, "We do not work with Else Inc.", ev.Data["reason"])
		msgs := a.Queued(t, a.org.ID)
		require.NotEmpty(t, msgs)
		msg := msgs[len(msgs)-1]
		assert.Equal(t, outbox.KindInviteRejected, msg.Kind)
		assert.Equal(t, "mia@acme.example", msg.To, "the inviter is told")
		assert.Equal(t, "rex@else.example", msg.Data[outbox.DataInvitee])
		assert.Equal(t, "We do not work with Else Inc.", msg.Data[outbox.DataReason])

		_, err = a.Svc.RejectInvite(ctx, a.org.ID, res.Approval.ID, a.admin, invite.RejectRequest{Reason: "again"})
		require.ErrorIs(t, err, invite.ErrAlreadyDecided)
		// The person can be invited again (and is held again).
		res2, err := a.invite(t, "rex@else.example", a.memb)
		require.NoError(t, err)
		require.NotNil(t, res2.Approval)
	})
}

// TestTwoApproversAtOnce: of two approvers deciding at once (approve and
// reject), exactly one wins and the other gets ErrAlreadyDecided. On
// every store (PostgreSQL: two connections of the pool).
func TestTwoApproversAtOnce(t *testing.T) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			a := newApprovalEnv(t, sc.Open(t), nil)
			ctx := context.Background()
			second := a.AddActive(t, a.org.ID, "second@acme.example", "admin").User.ID
			a.setRules(t, invite.ApprovalRulesInput{All: true})
			for i := range 5 {
				res, err := a.invite(t, "race"+string(rune('a'+i))+"@else.example", a.memb)
				require.NoError(t, err)
				var wg sync.WaitGroup
				errs := make([]error, 2)
				start := make(chan struct{})
				wg.Go(func() {
					<-start
					_, _, errs[0] = a.Svc.ApproveInvite(ctx, a.org.ID, res.Approval.ID, a.admin, invite.ApproveRequest{})
				})
				wg.Go(func() {
					<-start
					_, errs[1] = a.Svc.RejectInvite(ctx, a.org.ID, res.Approval.ID, second, invite.RejectRequest{Reason: "no"})
				})
				close(start)
				wg.Wait()
				wins := 0
				for _, err := range errs {
					if err == nil {
						wins++
					} else {
						require.ErrorIs(t, err, invite.ErrAlreadyDecided)
					}
				}
				require.Equal(t, 1, wins, "round %d: %v", i, errs)
			}
		})
	}
}

// TestApproverRole: only ACTIVE members with Config.ApproverRole see and
// decide held invites; another organization's approver cannot.
func TestApproverRole(t *testing.T) {
	a := newApprovalEnv(t, memstore.New(), func(c *invite.Config) { c.ApproverRole = "billing" })
	ctx := context.Background()
	approver := a.AddActive(t, a.org.ID, "bill@acme.example", "billing").User.ID
	other := a.Org(t, "org_other")
	otherApprover := a.AddActive(t, other.ID, "ob@other.example", "billing").User.ID
	a.setRules(t, invite.ApprovalRulesInput{All: true})
	res, err := a.invite(t, "q@else.example", a.admin)
	require.NoError(t, err)

	for name, actor := range map[string]string{"admin without the role": a.admin, "member": a.memb, "other org": otherApprover, "stranger": "usr_nobody"} {
		_, err := a.Svc.HeldInvites(ctx, a.org.ID, actor, 0)
		require.ErrorIs(t, err, invite.ErrNotApprover, name)
		_, _, err = a.Svc.ApproveInvite(ctx, a.org.ID, res.Approval.ID, actor, invite.ApproveRequest{})
		require.ErrorIs(t, err, invite.ErrNotApprover, name)
		_, err = a.Svc.RejectInvite(ctx, a.org.ID, res.Approval.ID, actor, invite.RejectRequest{Reason: "x"})
		require.ErrorIs(t, err, invite.ErrNotApprover, name)
	}
	// Another organization's approver, in their own organization, does
	// not find it.
	_, _, err = a.Svc.ApproveInvite(ctx, other.ID, res.Approval.ID, otherApprover, invite.ApproveRequest{})
	require.ErrorIs(t, err, invite.ErrNotFound)
	held, err := a.Svc.HeldInvites(ctx, other.ID, otherApprover, 0)
	require.NoError(t, err)
	assert.Empty(t, held)

	_, m, err := a.Svc.ApproveInvite(ctx, a.org.ID, res.Approval.ID, approver, invite.ApproveRequest{Roles: []string{"member", "billing"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"member", "billing"}, m.Roles, "the approver may change the roles")

	_, err = invite.New(memstore.New(), invite.Config{SecretKey: invitetest.TestKey, AcceptURL: invitetest.AcceptURL, ApproverRole: "owner"})
	require.Error(t, err, "an approver role that is not a role")
}

// TestHeldInviteExpiry: after Config.HoldTTL a held invite can no longer
// be approved, and ExpireHeldInvites removes it (an event each).
func TestHeldInviteExpiry(t *testing.T) {
	invitetest.ForEachStore(t, func(t *testing.T, st store.Store) {
		a := newApprovalEnv(t, st, func(c *invite.Config) { c.HoldTTL = 48 * time.Hour })
		ctx := context.Background()
		a.setRules(t, invite.ApprovalRulesInput{All: true})
		res, err := a.invite(t, "late@else.example", a.memb)
		require.NoError(t, err)
		assert.True(t, res.Approval.ExpireTime.Equal(a.Clock.Now().UTC().Add(48*time.Hour)))
		n, err := a.Svc.ExpireHeldInvites(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "not due yet")

		a.Clock.Advance(48 * time.Hour)
		held, err := a.Svc.HeldInvites(ctx, a.org.ID, a.admin, 0)
		require.NoError(t, err)
		require.Len(t, held, 1)
		assert.True(t, held[0].Expired)
		_, _, err = a.Svc.ApproveInvite(ctx, a.org.ID, res.Approval.ID, a.admin, invite.ApproveRequest{})
		require.ErrorIs(t, err, invite.ErrApprovalExpired)

		n, err = a.Svc.ExpireHeldInvites(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		_, err = a.St.GetMembership(ctx, a.org.ID, res.User.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		assert.Equal(t, store.EventHoldExpired, a.LastEvent(t, a.org.ID).Type)
		held, err = a.Svc.HeldInvites(ctx, a.org.ID, a.admin, 0)
		require.NoError(t, err)
		assert.Empty(t, held)
	})
}

// TestHoldWithoutApprovalStore: a store without store.ApprovalStore never
// holds; a hook's hold answer is ErrApprovalsUnsupported.
func TestHoldWithoutApprovalStore(t *testing.T) {
	type plain struct{ store.Store }
	e := invitetest.NewEnv(t, plain{memstore.New()}, func(c *invite.Config) {
		c.InvitePolicy = func(ctx context.Context, in invite.PolicyInput) (invite.PolicyDecision, error) {
			return invite.Hold("check"), nil
		}
	})
	org := e.Org(t, "org_plain")
	_, err := e.Svc.CreateUserAndMembership(context.Background(), org.ID, invite.InviteRequest{Email: "p@else.example"})
	require.ErrorIs(t, err, invite.ErrApprovalsUnsupported)
	_, err = e.Svc.SetApprovalRules(context.Background(), org.ID, invite.ApprovalRulesInput{All: true}, "")
	require.ErrorIs(t, err, invite.ErrApprovalsUnsupported)
}

// TestBulkRespectsApprovalRules: held rows are reported as held (and
// counted), the others created; a re-upload writes nothing and reports
// the held rows unchanged.
func TestBulkRespectsApprovalRules(t *testing.T) {
	invitetest.ForEachStore(t, func(t *testing.T, st store.Store) {
		a := newApprovalEnv(t, st, nil)
		ctx := context.Background()
		a.setRules(t, invite.ApprovalRulesInput{Roles: []string{"admin"}, OutsideDomains: true, Domains: []string{"acme.example"}})
		csv := "email,roles\nin1@acme.example,member\nboss2@acme.example,admin\nout@else.example,member\nin2@acme.example,member\n"
		run := func() *invite.BulkReport {
			rep, err := a.Svc.BulkInvite(ctx, a.org.ID, strings.NewReader(csv), invite.BulkOptions{ActorID: a.admin})
			require.NoError(t, err)
			t.Cleanup(func() { rep.Close() })
			return rep
		}
		rep := run()
		rows := invitetest.Results(t, rep)
		invitetest.CheckSummary(t, rep)
		want := []invite.BulkRowStatus{invite.BulkCreated, invite.BulkHeld, invite.BulkHeld, invite.BulkCreated}
		for i, r := range rows {
			assert.Equal(t, want[i], r.Status, "row %d", i+1)
		}
		assert.Equal(t, store.StatusPendingApproval, rows[1].MembershipStatus)
		assert.Contains(t, rows[1].Reason, `the role "admin"`)
		assert.Contains(t, rows[2].Reason, "outside the organization's domains")
		assert.Equal(t, 2, rep.Summary.Held)
		assert.Equal(t, 2, rep.Summary.Created)
		held, err := a.Svc.HeldInvites(ctx, a.org.ID, a.admin, 0)
		require.NoError(t, err)
		require.Len(t, held, 2)
		assert.Equal(t, "bulk", held[0].Surface)

		events := len(a.Events(t, a.org.ID))
		mails := len(a.Queued(t, a.org.ID))
		again := invitetest.Results(t, run())
		for i, r := range again {
			assert.Equal(t, invite.BulkAlreadyMember, r.Status, "row %d on re-upload", i+1)
		}
		assert.Equal(t, store.StatusPendingApproval, again[1].MembershipStatus)
		assert.Contains(t, again[1].Reason, "held for approval")
		assert.Len(t, a.Events(t, a.org.ID), events, "a re-upload writes nothing")
		assert.Len(t, a.Queued(t, a.org.ID), mails)
		held, err = a.Svc.HeldInvites(ctx, a.org.ID, a.admin, 0)
		require.NoError(t, err)
		assert.Len(t, held, 2)
	})
}
