package memstore

import (
	"maps"
	"slices"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Deep copies, so that no caller shares a map, slice or pointer with the
// stored data.

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	return maps.Clone(m)
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func copyUser(u store.User) store.User {
	u.Metadata = copyMap(u.Metadata)
	u.Profile.Metadata = copyMap(u.Profile.Metadata)
	u.Profile.CustomAttributes = copyMap(u.Profile.CustomAttributes)
	u.LastLogin = copyTime(u.LastLogin)
	return u
}

func copyMembership(m store.Membership) store.Membership {
	m.Roles = slices.Clone(m.Roles)
	m.Metadata = copyMap(m.Metadata)
	m.Profile = copyMemberProfile(m.Profile)
	m.UserMetadata = copyMap(m.UserMetadata)
	m.LastLogin = copyTime(m.LastLogin)
	return m
}

func copyMemberProfile(p store.MemberProfile) store.MemberProfile {
	p.Metadata = copyMap(p.Metadata)
	p.CustomAttributes = copyMap(p.CustomAttributes)
	return p
}

func copyInvitation(inv store.Invitation) store.Invitation {
	inv.VerifierHash = slices.Clone(inv.VerifierHash)
	inv.SpendTime = copyTime(inv.SpendTime)
	inv.RevokeTime = copyTime(inv.RevokeTime)
	return inv
}

func copyEvent(ev store.Event) store.Event {
	ev.Data = copyMap(ev.Data)
	return ev
}

func copyOutbox(msg store.OutboxMessage) store.OutboxMessage {
	msg.Data = copyMap(msg.Data)
	msg.Sealed = slices.Clone(msg.Sealed)
	msg.SentTime = copyTime(msg.SentTime)
	return msg
}
