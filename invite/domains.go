package invite

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Email domains. An organization admin claims a domain (ClaimDomain), publishes
// the TXT record DomainRecord names, and verifies it (VerifyDomain). A
// verified domain's policy (SetDomainPolicy) decides what a person with a
// verified email at exactly that domain gets when they sign in without a
// membership: AUTO_JOIN makes them an ACTIVE member with the domain's
// default roles (JoinByDomain, called by authflow's callback), MAY_REQUEST
// offers the organization on their join page (RequestableOrganization),
// NONE nothing. One organization at most has a domain verified.
// RecheckDomains (or RunDomainChecks) re-verifies verified domains on a
// schedule: a domain whose record is gone stops granting at once.

// Errors of email domains.
var (
	ErrDomainsUnsupported  = store.ErrDomainsUnsupported
	ErrDomainClaimed       = store.ErrDomainClaimed
	ErrDomainUnavailable   = store.ErrDomainUnavailable
	ErrDomainRecordMissing = store.ErrDomainRecordMissing
	ErrDomainLookupFailed  = store.ErrDomainLookupFailed
)

// TXTResolver looks up DNS TXT records; *net.Resolver implements it. A
// name without records is an error for which IsNotFound reports true (a
// *net.DNSError with IsNotFound), any other error is temporary.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Defaults of DomainConfig.
const (
	DefaultChallengeLabel = "_invitekit-challenge"
	DefaultRecheckEvery   = 24 * time.Hour
	DefaultDomainGrace    = 72 * time.Hour
	// DomainRecordPrefix starts the TXT record's value; the token follows.
	DomainRecordPrefix = "invitekit-verification="
)

// DomainConfig configures email domains (Config.Domains). Its zero value
// is safe.
type DomainConfig struct {
	// Resolver looks the records up (default net.DefaultResolver).
	Resolver TXTResolver
	// ChallengeLabel is the label the record lives under, before the
	// domain (default "_invitekit-challenge").
	ChallengeLabel string
	// RecheckEvery is how often a verified domain is checked again
	// (default 24 hours).
	RecheckEvery time.Duration
	// Grace is how long a verified domain stays verified while its
	// lookups fail (timeouts, server failures — not a missing record,
	// which unverifies it at once) (default 72 hours).
	Grace time.Duration
}

func (s *Service) domains() (store.DomainStore, error) {
	d, ok := s.st.(store.DomainStore)
	if !ok {
		return nil, ErrDomainsUnsupported
	}
	return d, nil
}

func (s *Service) resolver() TXTResolver {
	if s.cfg.Domains.Resolver != nil {
		return s.cfg.Domains.Resolver
	}
	return net.DefaultResolver
}

// NormalizeDomain lower-cases domain, drops one trailing dot and checks it
// is a host name of two or more LDH labels (internationalized domains in
// their xn-- form). The error is a *FieldError for field.
func NormalizeDomain(field, domain string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			return "", invalid(field, "%s must be ASCII (write an internationalized domain in its xn-- form)", field)
		}
	}
	if err := checkDomain(d); err != nil {
		return "", invalid(field, "%s %s", field, err)
	}
	return d, nil
}

// EmailDomain returns the domain of a normalized email ("" when it has none).
func EmailDomain(email string) string {
	_, d, ok := strings.Cut(email, "@")
	if !ok {
		return ""
	}
	return d
}

// DomainRecord returns the DNS TXT record that proves d: its name
// ("_invitekit-challenge.example.com") and its value
// ("invitekit-verification=<token>").
func (s *Service) DomainRecord(d store.Domain) (name, value string) {
	return cmp.Or(s.cfg.Domains.ChallengeLabel, DefaultChallengeLabel) + "." + d.Domain, DomainRecordPrefix + d.Token
}

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ClaimDomain records orgID's claim of domain (unverified, policy NONE).
// Any organization may claim any domain; only verifying it proves
// control. ErrDomainClaimed when orgID has claimed it already.
func (s *Service) ClaimDomain(ctx context.Context, orgID, actorID, domain string) (store.Domain, error) {
	ds, err := s.domains()
	if err != nil {
		return store.Domain{}, err
	}
	if err := checkIDs("orgID", orgID, "actorID", actorID); err != nil {
		return store.Domain{}, err
	}
	name, err := NormalizeDomain("domain", domain)
	if err != nil {
		return store.Domain{}, err
	}
	var b [20]byte
	rand.Read(b[:])
	now := s.now()
	d := store.Domain{
		OrganizationID: orgID, Domain: name, Token: strings.ToLower(tokenEncoding.EncodeToString(b[:])),
		Policy: store.DomainPolicyNone, CreatedBy: actorID, CreateTime: now, UpdateTime: now,
	}
	ev := s.event(orgID, store.EventDomainClaimed, "", actorID, now, map[string]string{"domain": name})
	if err := ds.CreateDomain(ctx, d, ev); err != nil {
		return store.Domain{}, err
	}
	return d, nil
}

// Domains returns orgID's domain claims, by name.
func (s *Service) Domains(ctx context.Context, orgID string) ([]store.Domain, error) {
	ds, err := s.domains()
	if err != nil {
		return nil, err
	}
	if _, err := s.Organization(ctx, orgID); err != nil {
		return nil, err
	}
	return ds.ListDomains(ctx, orgID)
}

// Domain returns orgID's claim of domain, or ErrNotFound.
func (s *Service) Domain(ctx context.Context, orgID, domain string) (store.Domain, error) {
	ds, err := s.domains()
	if err != nil {
		return store.Domain{}, err
	}
	name, err := NormalizeDomain("domain", domain)
	if err != nil {
		return store.Domain{}, err
	}
	if err := checkIDs("orgID", orgID); err != nil {
		return store.Domain{}, err
	}
	return ds.GetDomain(ctx, orgID, name)
}

// lookup reports whether the domain's record is published: found, not
// found (the name has no such record), or a temporary failure (err).
func (s *Service) lookup(ctx context.Context, d store.Domain) (bool, error) {
	name, want := s.DomainRecord(d)
	txts, err := s.resolver().LookupTXT(ctx, name)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return false, nil
		}
		return false, fmt.Errorf("%w: %w", ErrDomainLookupFailed, err)
	}
	for _, t := range txts {
		if strings.TrimSpace(t) == want {
			return true, nil
		}
	}
	return false, nil
}

// VerifyDomain looks orgID's claim of domain up in DNS and, when the
// record is there, marks it verified. ErrDomainRecordMissing when it is
// not, ErrDomainLookupFailed when DNS did not answer, and
// ErrDomainUnavailable when the record is there but another organization
// has the domain verified — the caller controls the domain's DNS then, so
// telling them costs nothing; without the record nobody learns whether
// another organization has it. Verifying a verified domain checks it again.
func (s *Service) VerifyDomain(ctx context.Context, orgID, actorID, domain string) (store.Domain, error) {
	ds, err := s.domains()
	if err != nil {
		return store.Domain{}, err
	}
	if err := checkIDs("actorID", actorID); err != nil {
		return store.Domain{}, err
	}
	d, err := s.Domain(ctx, orgID, domain)
	if err != nil {
		return store.Domain{}, err
	}
	found, err := s.lookup(ctx, d)
	if err != nil {
		return store.Domain{}, err
	}
	if !found {
		if d.Verified() {
			return s.unverify(ctx, ds, d, "record_missing")
		}
		return store.Domain{}, ErrDomainRecordMissing
	}
	now := s.now()
	c := store.DomainCheck{Found: true, At: now}
	if !d.Verified() {
		ev := s.event(orgID, store.EventDomainVerified, "", actorID, now, map[string]string{"domain": d.Domain})
		c.Event = &ev
	}
	return ds.RecordDomainCheck(ctx, orgID, d.Domain, c)
}

// unverify marks a verified domain unverified, with an event saying why.
func (s *Service) unverify(ctx context.Context, ds store.DomainStore, d store.Domain, reason string) (store.Domain, error) {
	now := s.now()
	ev := s.event(d.OrganizationID, store.EventDomainUnverified, "", "", now, map[string]string{"domain": d.Domain, "reason": reason})
	d, err := ds.RecordDomainCheck(ctx, d.OrganizationID, d.Domain, store.DomainCheck{Found: false, At: now, Event: &ev})
	if err != nil {
		return store.Domain{}, err
	}
	s.log.InfoContext(ctx, "invite: domain no longer verified", "org_id", d.OrganizationID, "domain", d.Domain, "reason", reason)
	return d, nil
}

// SetDomainPolicy sets what orgID's domain grants (store.DomainPolicy…)
// and, for AUTO_JOIN, the roles (default Config.DefaultRoles). The policy
// may be set before the domain is verified; it grants only while it is.
func (s *Service) SetDomainPolicy(ctx context.Context, orgID, actorID, domain string, policy store.DomainPolicy, roles []string) (store.Domain, error) {
	ds, err := s.domains()
	if err != nil {
		return store.Domain{}, err
	}
	if !policy.Valid() {
		return store.Domain{}, invalid("policy", "policy must be NONE, AUTO_JOIN or MAY_REQUEST")
	}
	if err := checkIDs("actorID", actorID); err != nil {
		return store.Domain{}, err
	}
	roles, err = s.checkRoleList("defaultRoles", roles)
	if err != nil {
		return store.Domain{}, err
	}
	d, err := s.Domain(ctx, orgID, domain)
	if err != nil {
		return store.Domain{}, err
	}
	now := s.now()
	ev := s.event(orgID, store.EventDomainPolicyUpdated, "", actorID, now,
		map[string]string{"domain": d.Domain, "policy": string(policy), "roles": strings.Join(roles, ",")})
	return ds.SetDomainPolicy(ctx, orgID, d.Domain, policy, roles, now, ev)
}

// checkRoleList checks role names against Config.Roles, dropping
// duplicates; none means Config.DefaultRoles.
func (s *Service) checkRoleList(field string, roles []string) ([]string, error) {
	if len(roles) == 0 {
		return slices.Clone(s.cfg.DefaultRoles), nil
	}
	for i, r := range roles {
		if !s.roleSet[r] {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%s is not a role of this app (%s)", quoteShort(r), strings.Join(s.roles, ", "))
		}
	}
	return dedupe(roles), nil
}

// RemoveDomain deletes orgID's claim of domain: it stops granting at once.
func (s *Service) RemoveDomain(ctx context.Context, orgID, actorID, domain string) error {
	ds, err := s.domains()
	if err != nil {
		return err
	}
	if err := checkIDs("actorID", actorID); err != nil {
		return err
	}
	d, err := s.Domain(ctx, orgID, domain)
	if err != nil {
		return err
	}
	ev := s.event(orgID, store.EventDomainRemoved, "", actorID, s.now(), map[string]string{"domain": d.Domain})
	return ds.DeleteDomain(ctx, orgID, d.Domain, ev)
}

// OrganizationForVerifiedDomain returns the organization that has domain
// (or the domain of an email: "ann@example.com") verified, with its claim,
// or ErrNotFound. It is app-scoped: the sign-in path uses it to find the
// organization a person's email belongs to (its policy, its own SSO
// connection); never show its answer to another organization.
func (s *Service) OrganizationForVerifiedDomain(ctx context.Context, domain string) (store.Organization, store.Domain, error) {
	ds, err := s.domains()
	if err != nil {
		return store.Organization{}, store.Domain{}, err
	}
	if at := strings.LastIndexByte(domain, '@'); at >= 0 {
		domain = domain[at+1:]
	}
	name, err := NormalizeDomain("domain", domain)
	if err != nil {
		return store.Organization{}, store.Domain{}, ErrNotFound
	}
	d, err := ds.VerifiedDomain(ctx, name)
	if err != nil {
		return store.Organization{}, store.Domain{}, err
	}
	org, err := s.st.GetOrganization(ctx, d.OrganizationID)
	if err != nil {
		return store.Organization{}, store.Domain{}, err
	}
	return org, d, nil
}

// RecheckDomains re-verifies up to limit verified domains (0 means 100)
// not checked for Config.Domains.RecheckEvery, oldest first: a found
// record keeps the domain, a missing one unverifies it at once (event
// domain.unverified, reason record_missing), a failed lookup keeps it
// until Config.Domains.Grace has passed since the record was last found
// (reason lookup_failed). It returns how many it checked and how many
// stopped granting. Call it on a schedule (RunDomainChecks does).
func (s *Service) RecheckDomains(ctx context.Context, limit int) (checked, lost int, err error) {
	ds, err := s.domains()
	if err != nil {
		return 0, 0, err
	}
	if limit <= 0 {
		limit = 100
	}
	every := cmp.Or(s.cfg.Domains.RecheckEvery, DefaultRecheckEvery)
	grace := cmp.Or(s.cfg.Domains.Grace, DefaultDomainGrace)
	due, err := ds.DomainsDue(ctx, s.now().Add(-every), limit)
	if err != nil {
		return 0, 0, err
	}
	for _, d := range due {
		if err := ctx.Err(); err != nil {
			return checked, lost, err
		}
		checked++
		found, lerr := s.lookup(ctx, d)
		switch {
		case lerr != nil && s.now().Sub(d.CheckTime) <= grace:
			s.log.WarnContext(ctx, "invite: domain re-verification lookup failed", "org_id", d.OrganizationID, "domain", d.Domain, "err", lerr)
			continue
		case lerr != nil:
			_, err = s.unverify(ctx, ds, d, "lookup_failed")
			lost++
		case found:
			_, err = ds.RecordDomainCheck(ctx, d.OrganizationID, d.Domain, store.DomainCheck{Found: true, At: s.now()})
		default:
			_, err = s.unverify(ctx, ds, d, "record_missing")
			lost++
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) { // removed meanwhile: nothing to do
			return checked, lost, err
		}
	}
	return checked, lost, nil
}

// RunDomainChecks calls RecheckDomains every interval (default
// Config.Domains.RecheckEvery / 24, at least a minute) until ctx ends,
// logging failures. Run it in one goroutine per process; several
// processes doing it is harmless (a domain is checked twice).
func (s *Service) RunDomainChecks(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = max(time.Minute, cmp.Or(s.cfg.Domains.RecheckEvery, DefaultRecheckEvery)/24)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := s.RecheckDomains(ctx, 1000); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.ErrorContext(ctx, "invite: domain re-verification", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
