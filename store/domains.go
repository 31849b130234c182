package store

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Email domains: an organization claims an email domain (example.com) and
// proves it controls it with a DNS TXT record; once verified, the domain
// can let people with a verified email at it join the organization
// automatically on sign-in, or ask to join it. DomainStore is the optional
// capability that keeps the claims; a store without it still works
// everywhere else, and invite.Service's domain methods then return
// ErrDomainsUnsupported.

// Errors of email domains.
var (
	// ErrDomainsUnsupported: the store does not implement DomainStore.
	ErrDomainsUnsupported = errors.New("invitekit: the store does not support email domains")
	// ErrDomainClaimed: the organization has already claimed this domain.
	ErrDomainClaimed = errors.New("invitekit: this organization has already claimed this domain")
	// ErrDomainUnavailable: another organization has verified this domain.
	// A domain is verified by one organization at most. Callers show an
	// organization-scoped caller nothing more than a generic refusal.
	ErrDomainUnavailable = errors.New("invitekit: this domain cannot be verified for this organization")
	// ErrDomainRecordMissing: the verification found no TXT record with
	// the domain's token at the challenge name (the Service's; stores never
	// return it).
	ErrDomainRecordMissing = errors.New("invitekit: the domain's verification record was not found")
	// ErrDomainLookupFailed: the DNS lookup failed (timeout, server
	// failure), so nothing could be decided; try again later (the
	// Service's).
	ErrDomainLookupFailed = errors.New("invitekit: the domain's DNS lookup failed; try again later")
)

// DomainPolicy is what a verified domain grants a person who signs in with
// a verified email at it.
type DomainPolicy string

// Domain policies.
const (
	DomainPolicyNone     DomainPolicy = "NONE"        // nothing (the default)
	DomainPolicyAutoJoin DomainPolicy = "AUTO_JOIN"   // join as ACTIVE with Domain.DefaultRoles on sign-in
	DomainPolicyRequest  DomainPolicy = "MAY_REQUEST" // the organization is offered on the person's join page
)

// Valid reports whether p is one of the three policies.
func (p DomainPolicy) Valid() bool {
	switch p {
	case DomainPolicyNone, DomainPolicyAutoJoin, DomainPolicyRequest:
		return true
	}
	return false
}

// Event types of email domains (each change writes exactly one).
const (
	EventDomainClaimed  = "domain.claimed"  // an organization claimed a domain (not verified yet)
	EventDomainVerified = "domain.verified" // its TXT record was found: the domain is the organization's
	// EventDomainUnverified: a re-verification no longer found the record
	// (or could not check it for longer than the grace period); the
	// domain stops granting. Data "reason" says which.
	EventDomainUnverified    = "domain.unverified"
	EventDomainPolicyUpdated = "domain.policy_updated"
	EventDomainRemoved       = "domain.removed"
	// EventMembershipDomainJoined: a person joined as ACTIVE through a
	// verified domain's AUTO_JOIN policy (Data "domain").
	EventMembershipDomainJoined = "membership.domain_joined"
)

// Webhook event types of email domains (see WebhookMappings; an auto-join
// is membership.created and membership.activated).
const (
	WebhookDomainVerified   = "domain.verified"
	WebhookDomainUnverified = "domain.unverified"
)

// Domain is one organization's claim of an email domain.
type Domain struct {
	OrganizationID string
	// Domain is the lower-case ASCII (IDNA) domain name, without a
	// trailing dot: "example.com". Only emails at exactly this domain
	// match (not at its subdomains).
	Domain string
	// Token is the verification token the TXT record must carry. It is
	// not a secret (it is published in DNS), but it is unguessable, so a
	// record made for one organization never verifies another.
	Token  string
	Policy DomainPolicy
	// DefaultRoles are the roles an AUTO_JOIN member gets.
	DefaultRoles []string
	// VerifiedTime is when the domain was verified; nil while it is not
	// (not yet, or no longer). Only a verified domain grants anything.
	VerifiedTime *time.Time
	// CheckTime is the last time the record was found (zero before the
	// first verification). Re-verification picks the domains checked
	// longest ago.
	CheckTime  time.Time
	CreatedBy  string
	CreateTime time.Time
	UpdateTime time.Time
}

// Verified reports whether the domain is verified.
func (d Domain) Verified() bool { return d.VerifiedTime != nil }

// CopyDomain returns d sharing no slice or pointer with it.
func CopyDomain(d Domain) Domain {
	d.DefaultRoles = slices.Clone(d.DefaultRoles)
	if d.VerifiedTime != nil {
		t := *d.VerifiedTime
		d.VerifiedTime = &t
	}
	return d
}

// DomainCheck is the outcome of one verification of a domain, written by
// DomainStore.RecordDomainCheck.
type DomainCheck struct {
	// Found: the record was found at At. An unverified domain becomes
	// verified (ErrDomainUnavailable when another organization has it
	// verified); a verified one stays verified with CheckTime = At.
	// Not found: a verified domain becomes unverified (nothing changes for
	// an unverified one).
	Found bool
	At    time.Time
	// Event, when not nil, is appended in the same transaction (the
	// store fills its OrganizationID).
	Event *Event
}

// DomainStore is the optional capability email domains need. Every method
// is scoped by organization, except VerifiedDomain and DomainsDue, which
// the sign-in path and the re-verification schedule use across
// organizations (they never reach an organization-scoped caller).
type DomainStore interface {
	// CreateDomain inserts d (unverified) and appends ev: ErrNotFound for
	// an unknown organization, ErrDomainClaimed when d.OrganizationID has
	// claimed d.Domain already. Other organizations' claims do not
	// matter: any number may claim a domain, one may verify it.
	CreateDomain(ctx context.Context, d Domain, ev Event) error
	// GetDomain returns orgID's claim of domain, or ErrNotFound.
	GetDomain(ctx context.Context, orgID, domain string) (Domain, error)
	// ListDomains returns orgID's claims, by domain name.
	ListDomains(ctx context.Context, orgID string) ([]Domain, error)
	// RecordDomainCheck applies c to orgID's claim of domain and returns
	// it as written: ErrNotFound, or ErrDomainUnavailable (nothing
	// written) when c.Found and another organization has the domain
	// verified. Of two organizations verifying one domain at once,
	// exactly one succeeds.
	RecordDomainCheck(ctx context.Context, orgID, domain string, c DomainCheck) (Domain, error)
	// SetDomainPolicy sets the policy and default roles of orgID's claim
	// of domain, and appends ev (ErrNotFound).
	SetDomainPolicy(ctx context.Context, orgID, domain string, p DomainPolicy, roles []string, at time.Time, ev Event) (Domain, error)
	// DeleteDomain deletes orgID's claim of domain and appends ev
	// (ErrNotFound).
	DeleteDomain(ctx context.Context, orgID, domain string, ev Event) error
	// VerifiedDomain returns the verified claim of domain (of whichever
	// organization verified it), or ErrNotFound.
	VerifiedDomain(ctx context.Context, domain string) (Domain, error)
	// DomainsDue returns up to limit claims (any organization) that are
	// verified and whose CheckTime is before before, oldest check first.
	DomainsDue(ctx context.Context, before time.Time, limit int) ([]Domain, error)
}
