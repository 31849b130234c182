package invite_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/internal/dnstest"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// domainEnv is a Service whose domain lookups go to a real DNS server on
// loopback.
func domainEnv(t *testing.T, st store.Store) (*env, *dnstest.Server) {
	dns := dnstest.Start(t)
	e := newEnv(t, st, func(c *invite.Config) {
		c.Domains.Resolver = dns.Resolver()
	})
	return e, dns
}

func eventTypesOf(evs []store.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func TestDomainVerification(t *testing.T) {
	for _, sc := range invitetestStoresWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			e, dns := domainEnv(t, sc.Open(t))
			acme, other := e.Org(t, "org_acme"), e.Org(t, "org_other")

			d, err := e.Svc.ClaimDomain(ctx, acme.ID, "usr_admin", " Acme-Corp.TEST. ")
			require.NoError(t, err)
			assert.Equal(t, "acme-corp.test", d.Domain, "normalized")
			assert.False(t, d.Verified())
			name, value := e.Svc.DomainRecord(d)
			assert.Equal(t, "_invitekit-challenge.acme-corp.test", name)
			assert.Equal(t, "invitekit-verification="+d.Token, value)
			assert.GreaterOrEqual(t, len(d.Token), 32)

			_, err = e.Svc.ClaimDomain(ctx, acme.ID, "usr_admin", "acme-corp.test")
			require.ErrorIs(t, err, invite.ErrDomainClaimed)
			_, err = e.Svc.ClaimDomain(ctx, acme.ID, "usr_admin", "bücher.test")
			assertFieldError(t, err, "invalid_argument", "domain")
			_, err = e.Svc.ClaimDomain(ctx, acme.ID, "usr_admin", "localhost")
			assertFieldError(t, err, "invalid_argument", "domain")

			// No record, then a record with another token: not verified.
			_, err = e.Svc.VerifyDomain(ctx, acme.ID, "usr_admin", "acme-corp.test")
			require.ErrorIs(t, err, invite.ErrDomainRecordMissing)
			dns.Set(name, "v=spf1 -all", "invitekit-verification=someoneelse")
			_, err = e.Svc.VerifyDomain(ctx, acme.ID, "usr_admin", "acme-corp.test")
			require.ErrorIs(t, err, invite.ErrDomainRecordMissing)
			dns.Fail(name)
			_, err = e.Svc.VerifyDomain(ctx, acme.ID, "usr_admin", "acme-corp.test")
			require.ErrorIs(t, err, invite.ErrDomainLookupFailed)

			// The record among others: verified.
			dns.Set(name, "v=spf1 -all", value)
			d, err = e.Svc.VerifyDomain(ctx, acme.ID, "usr_admin", "acme-corp.test")
			require.NoError(t, err)
			assert.True(t, d.Verified())
			assert.Equal(t, store.EventDomainVerified, e.LastEvent(t, acme.ID).Type)
			org, vd, err := e.Svc.OrganizationForVerifiedDomain(ctx, "ann@acme-corp.test")
			require.NoError(t, err)
			assert.Equal(t, acme.ID, org.ID)
			assert.Equal(t, "acme-corp.test", vd.Domain)

			// Another organization claims it: without its own record it
			// learns nothing (the same refusal as any missing record);
			// with it (it controls the DNS) it is told the domain is
			// unavailable, and nothing changes.
			od, err := e.Svc.ClaimDomain(ctx, other.ID, "usr_other", "acme-corp.test")
			require.NoError(t, err)
			assert.NotEqual(t, d.Token, od.Token)
			_, err = e.Svc.VerifyDomain(ctx, other.ID, "usr_other", "acme-corp.test")
			require.ErrorIs(t, err, invite.ErrDomainRecordMissing)
			_, ovalue := e.Svc.DomainRecord(od)
			dns.Set(name, value, ovalue)
			_, err = e.Svc.VerifyDomain(ctx, other.ID, "usr_other", "acme-corp.test")
			require.ErrorIs(t, err, invite.ErrDomainUnavailable)
			org, _, err = e.Svc.OrganizationForVerifiedDomain(ctx, "acme-corp.test")
			require.NoError(t, err)
			assert.Equal(t, acme.ID, org.ID, "still the first organization's")

			// Lists are per organization.
			ds, err := e.Svc.Domains(ctx, other.ID)
			require.NoError(t, err)
			require.Len(t, ds, 1)
			assert.False(t, ds[0].Verified())
			_, err = e.Svc.SetDomainPolicy(ctx, other.ID, "usr_other", "nope.test", store.DomainPolicyAutoJoin, nil)
			require.ErrorIs(t, err, invite.ErrNotFound)
		})
	}
}

func TestDomainRecheck(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e, dns := domainEnv(t, st)
		acme := e.Org(t, "org_acme")
		d, err := e.Svc.ClaimDomain(ctx, acme.ID, "usr_admin", "acme-corp.test")
		require.NoError(t, err)
		name, value := e.Svc.DomainRecord(d)
		dns.Set(name, value)
		_, err = e.Svc.VerifyDomain(ctx, acme.ID, "usr_admin", d.Domain)
		require.NoError(t, err)

		// Not due yet: nothing checked.
		n, lost, err := e.Svc.RecheckDomains(ctx, 0)
		require.NoError(t, err)
		assert.Equal(t, [2]int{0, 0}, [2]int{n, lost})

		// Due, record there: kept, checked now.
		e.Clock.Advance(25 * time.Hour)
		before := dns.Queries()
		n, lost, err = e.Svc.RecheckDomains(ctx, 0)
		require.NoError(t, err)
		assert.Equal(t, [2]int{1, 0}, [2]int{n, lost})
		assert.Greater(t, dns.Queries(), before, "asked the DNS server")
		got, err := e.Svc.Domain(ctx, acme.ID, d.Domain)
		require.NoError(t, err)
		assert.True(t, got.Verified())
		assert.True(t, got.CheckTime.Equal(e.Clock.Now().UTC().Truncate(time.Microsecond)), "%v", got.CheckTime)

		// Lookups fail: kept within the grace period, then dropped.
		dns.Fail(name)
		e.Clock.Advance(25 * time.Hour)
		n, lost, err = e.Svc.RecheckDomains(ctx, 0)
		require.NoError(t, err)
		assert.Equal(t, [2]int{1, 0}, [2]int{n, lost})
		e.Clock.Advance(48 * time.Hour)
		n, lost, err = e.Svc.RecheckDomains(ctx, 0)
		require.NoError(t, err)
		assert.Equal(t, [2]int{1, 1}, [2]int{n, lost}, "72 hours without an answer")
		_, _, err = e.Svc.OrganizationForVerifiedDomain(ctx, d.Domain)
		require.ErrorIs(t, err, invite.ErrNotFound)
		last := e.LastEvent(t, acme.ID)
		assert.Equal(t, store.EventDomainUnverified, last.Type)
		assert.Equal(t, "lookup_failed", last.Data["reason"])

		// Verified again; then the record disappears: dropped at the
		// next check, and sign-in stops granting.
		dns.Set(name, value)
		_, err = e.Svc.VerifyDomain(ctx, acme.ID, "usr_admin", d.Domain)
		require.NoError(t, err)
		_, err = e.Svc.SetDomainPolicy(ctx, acme.ID, "usr_admin", d.Domain, store.DomainPolicyAutoJoin, nil)
		require.NoError(t, err)
		dns.Delete(name)
		e.Clock.Advance(25 * time.Hour)
		n, lost, err = e.Svc.RecheckDomains(ctx, 0)
		require.NoError(t, err)
		assert.Equal(t, [2]int{1, 1}, [2]int{n, lost})
		assert.Equal(t, "record_missing", e.LastEvent(t, acme.ID).Data["reason"])
		id := verified("ann@acme-corp.test")
		id.TrustEmail = true
		_, err = e.Svc.JoinByDomain(ctx, id)
		require.ErrorIs(t, err, invite.ErrNoMembership, "an unverified domain grants nothing")
	})
}

// TestRunDomainChecks: the loop checks due domains and stops with its
// context.
func TestRunDomainChecks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e, dns := domainEnv(t, openMem(t))
	e.Org(t, "org_acme")
	d, err := e.Svc.ClaimDomain(ctx, "org_acme", "usr_admin", "acme-corp.test")
	require.NoError(t, err)
	name, value := e.Svc.DomainRecord(d)
	dns.Set(name, value)
	_, err = e.Svc.VerifyDomain(ctx, "org_acme", "usr_admin", d.Domain)
	require.NoError(t, err)
	dns.Delete(name)
	e.Clock.Advance(25 * time.Hour)

	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = e.Svc.RunDomainChecks(ctx, time.Hour) })
	require.Eventually(t, func() bool {
		got, err := e.Svc.Domain(ctx, "org_acme", d.Domain)
		return err == nil && !got.Verified()
	}, 10*time.Second, 10*time.Millisecond, "the first round runs at once")
	cancel()
	wg.Wait()
	require.ErrorIs(t, runErr, context.Canceled)
}

func TestJoinByDomain(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e, dns := domainEnv(t, st)
		acme := e.Org(t, "org_acme")
		d, err := e.Svc.ClaimDomain(ctx, acme.ID, "usr_admin", "acme-corp.test")
		require.NoError(t, err)
		_, err = e.Svc.SetDomainPolicy(ctx, acme.ID, "usr_admin", d.Domain, store.DomainPolicyAutoJoin, []string{"billing", "billing"})
		require.NoError(t, err)

		id := verified("ann@acme-corp.test")
		id.TrustEmail = true
		_, err = e.Svc.JoinByDomain(ctx, id)
		require.ErrorIs(t, err, invite.ErrNoMembership, "not verified yet")

		name, value := e.Svc.DomainRecord(d)
		dns.Set(name, value)
		_, err = e.Svc.VerifyDomain(ctx, acme.ID, "usr_admin", d.Domain)
		require.NoError(t, err)

		for _, tc := range []struct {
			name string
			id   invite.AcceptIdentity
		}{
			{"email not verified", func() invite.AcceptIdentity { i := id; i.EmailVerified = false; return i }()},
			{"issuer not trusted with emails", func() invite.AcceptIdentity { i := id; i.TrustEmail = false; return i }()},
			{"a subdomain", func() invite.AcceptIdentity { i := verified("bob@eu.acme-corp.test"); i.TrustEmail = true; return i }()},
			{"another domain", func() invite.AcceptIdentity {
				i := verified("bob@acme-corp.test.evil.test")
				i.TrustEmail = true
				return i
			}()},
		} {
			_, err := e.Svc.JoinByDomain(ctx, tc.id)
			require.ErrorIs(t, err, invite.ErrNoMembership, tc.name)
		}

		m, err := e.Svc.JoinByDomain(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, store.StatusActive, m.Status)
		assert.Equal(t, []string{"billing"}, m.Roles)
		last := e.LastEvent(t, acme.ID)
		assert.Equal(t, store.EventMembershipDomainJoined, last.Type)
		assert.Equal(t, "acme-corp.test", last.Data["domain"])
		u, ms, err := e.Svc.SignIn(ctx, id)
		require.NoError(t, err, "signs in as a member now")
		assert.Equal(t, m.UserID, u.ID)
		require.Len(t, ms, 1)
		assert.True(t, u.Profile.EmailVerified)

		_, err = e.Svc.JoinByDomain(ctx, id)
		require.ErrorIs(t, err, invite.ErrNoMembership, "a member already")

		// A deactivated member does not come back through the domain.
		_, err = e.Svc.DeactivateMembership(ctx, acme.ID, m.UserID, "usr_actor")
		require.NoError(t, err)
		_, err = e.Svc.JoinByDomain(ctx, id)
		require.ErrorIs(t, err, invite.ErrNoMembership)

		// MAY_REQUEST: no auto-join, the organization is offered instead.
		_, err = e.Svc.SetDomainPolicy(ctx, acme.ID, "usr_admin", d.Domain, store.DomainPolicyRequest, nil)
		require.NoError(t, err)
		bob := verified("bob@acme-corp.test")
		bob.TrustEmail = true
		_, err = e.Svc.JoinByDomain(ctx, bob)
		require.ErrorIs(t, err, invite.ErrNoMembership)
		org, err := e.Svc.RequestableOrganization(ctx, "bob@acme-corp.test")
		require.NoError(t, err)
		assert.Equal(t, acme.ID, org.ID)
		_, err = e.Svc.RequestableOrganization(ctx, "bob@other.test")
		require.ErrorIs(t, err, invite.ErrNotFound)
	})
}
