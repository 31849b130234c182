package store

import (
	"context"
	"time"
)

// SSOSignIner is an optional capability of a Store (found by type
// assertion): a sign-in through an organization's own SSO connection
// written in one transaction, so that the identity link, the membership's
// change and the login record commit together or not at all.
// invite.Service.SignIn uses it for a connection's identity when the store
// has it, and otherwise calls LinkIdentity and RecordLogin (the membership
// then keeps its PrimaryIdentityProvider and Profile).
type SSOSignIner interface {
	// SSOSignIn checks that p.UserID's membership in p.OrganizationID is
	// ACTIVE (ErrNotFound when there is none, ErrWrongStatus otherwise)
	// and then, in one transaction:
	//
	//   - links p.Identity, when not nil, to p.UserID as LinkIdentity does
	//     (ErrIdentityTaken when another user has it) and appends
	//     p.LinkEvent when the link is new;
	//   - sets the membership's PrimaryIdentityProvider to
	//     p.IdentityProvider (when not empty) and its Profile.Name to
	//     p.ProfileName when that is not empty and the membership's
	//     Profile.Name is (what the organization wrote is never
	//     overwritten); when either changed, the membership's UpdateTime
	//     becomes p.Now and p.Updated is appended with Data
	//     "primary_identity_provider" (the new value) and/or "profile"
	//     ("updated") added to it;
	//   - does what RecordLogin(ctx, p.UserID, p.Now, p.Login) does, and
	//     appends p.Login last.
	//
	// Only this membership changes: no other organization's membership
	// (beyond RecordLogin's LastLogin) and never the User's profile. Events
	// without an OrganizationID or UserID get p's. It returns the
	// membership as written; on error nothing is written.
	SSOSignIn(ctx context.Context, p SSOSignInParams) (Membership, error)
}

// SSOSignInParams is an SSOSignIn request.
type SSOSignInParams struct {
	OrganizationID, UserID string
	Now                    time.Time
	// Identity, when not nil, is linked (its UserID is set to UserID).
	Identity  *Identity
	LinkEvent Event
	// IdentityProvider, when not empty, becomes the membership's
	// PrimaryIdentityProvider (the connection's name).
	IdentityProvider string
	// ProfileName, when not empty, becomes the membership's Profile.Name
	// if the organization has none yet.
	ProfileName string
	// Updated is appended only when the membership changed.
	Updated Event
	// Login is the EventUserLoggedIn event.
	Login Event
}

// SSOSignInChange applies p to m as SSOSignIn does: it returns the
// changed membership and Updated with its Data filled in, and changed
// false (m and the event untouched) when nothing changes. The stores
// share it, so that they agree on what a sign-in changes.
func SSOSignInChange(m Membership, p SSOSignInParams) (Membership, Event, bool) {
	ev := p.Updated
	data := map[string]string{}
	if p.IdentityProvider != "" && m.PrimaryIdentityProvider != p.IdentityProvider {
		m.PrimaryIdentityProvider = p.IdentityProvider
		data["primary_identity_provider"] = p.IdentityProvider
	}
	if p.ProfileName != "" && m.Profile.Name == "" {
		m.Profile.Name = p.ProfileName
		data["profile"] = "updated"
	}
	if len(data) == 0 {
		return m, ev, false
	}
	for k, v := range ev.Data {
		if _, ok := data[k]; !ok {
			data[k] = v
		}
	}
	ev.Data = data
	m.UpdateTime = p.Now
	return m, FillEvent(ev, p.OrganizationID, p.UserID), true
}
