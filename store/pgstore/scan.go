package pgstore

import (
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// Column lists and their scanners. A scanner reads exactly its list, in order.

const userCols = `id, email, external_id, profile_id, first_name, last_name, name, locale, email_verified,
	phone_number, profile_metadata, custom_attributes, metadata, create_time, update_time, last_login,
	session_generation`

const membershipCols = `seq, org_id, user_id, status, roles, metadata, primary_idp, invited_by,
	invite_expire_time, join_time, update_time, external_id, first_name, last_name, name, locale,
	phone_number, profile_metadata, custom_attributes, user_metadata, last_login`

const invitationCols = `id, org_id, user_id, email, verifier_hash, invited_by, create_time, expire_time,
	spend_time, revoke_time`

const identityCols = `issuer, subject, user_id, email, create_time`

const outboxCols = `id, org_id, kind, to_addr, message_id, data, sealed, status, attempts,
	next_attempt_time, lease_until, last_error, create_time, sent_time`

const eventCols = `id, seq, org_id, type, user_id, actor_id, data, create_time`

// utc returns a time read from the database in UTC (the zero time stays zero).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := utc(*t)
	return &v
}

// userDest holds scan targets for userCols.
type userDest struct {
	u                         store.User
	profMeta, custAttrs, meta []byte
}

func (d *userDest) targets() []any {
	u := &d.u
	return []any{&u.ID, &u.Email, &u.ExternalID, &u.Profile.ID, &u.Profile.FirstName, &u.Profile.LastName,
		&u.Profile.Name, &u.Profile.Locale, &u.Profile.EmailVerified, &u.Profile.PhoneNumber,
		&d.profMeta, &d.custAttrs, &d.meta, &u.CreateTime, &u.UpdateTime, &u.LastLogin, &u.SessionGeneration}
}

func (d *userDest) user() (store.User, error) {
	u := d.u
	var err error
	if u.Profile.Metadata, err = decodeMap(d.profMeta); err != nil {
		return store.User{}, err
	}
	if u.Profile.CustomAttributes, err = decodeMap(d.custAttrs); err != nil {
		return store.User{}, err
	}
	if u.Metadata, err = decodeMap(d.meta); err != nil {
		return store.User{}, err
	}
	u.CreateTime, u.UpdateTime, u.LastLogin = utc(u.CreateTime), utc(u.UpdateTime), utcPtr(u.LastLogin)
	return u, nil
}

func scanUser(row pgx.Row) (store.User, error) {
	var d userDest
	if err := row.Scan(d.targets()...); err != nil {
		return store.User{}, err
	}
	return d.user()
}

// membershipDest holds scan targets for membershipCols.
type membershipDest struct {
	m                                       store.Membership
	status                                  string
	roles, meta, profMeta, custAttrs, uMeta []byte
}

func (d *membershipDest) targets() []any {
	m := &d.m
	return []any{&m.Seq, &m.OrganizationID, &m.UserID, &d.status, &d.roles, &d.meta,
		&m.PrimaryIdentityProvider, &m.InvitedBy, &m.InviteExpireTime, &m.JoinTime, &m.UpdateTime,
		&m.ExternalID, &m.Profile.FirstName, &m.Profile.LastName, &m.Profile.Name, &m.Profile.Locale,
		&m.Profile.PhoneNumber, &d.profMeta, &d.custAttrs, &d.uMeta, &m.LastLogin}
}

func (d *membershipDest) membership() (store.Membership, error) {
	m := d.m
	m.Status = store.MembershipStatus(d.status)
	var err error
	if m.Roles, err = decodeList(d.roles); err != nil {
		return store.Membership{}, err
	}
	if m.Metadata, err = decodeMap(d.meta); err != nil {
		return store.Membership{}, err
	}
	if m.Profile.Metadata, err = decodeMap(d.profMeta); err != nil {
		return store.Membership{}, err
	}
	if m.Profile.CustomAttributes, err = decodeMap(d.custAttrs); err != nil {
		return store.Membership{}, err
	}
	if m.UserMetadata, err = decodeMap(d.uMeta); err != nil {
		return store.Membership{}, err
	}
	m.InviteExpireTime, m.JoinTime, m.UpdateTime = utc(m.InviteExpireTime), utc(m.JoinTime), utc(m.UpdateTime)
	m.LastLogin = utcPtr(m.LastLogin)
	return m, nil
}

func scanMembership(row pgx.Row) (store.Membership, error) {
	var d membershipDest
	if err := row.Scan(d.targets()...); err != nil {
		return store.Membership{}, err
	}
	return d.membership()
}

// invitationDest holds scan targets for invitationCols.
type invitationDest struct{ inv store.Invitation }

func (d *invitationDest) targets() []any {
	inv := &d.inv
	return []any{&inv.ID, &inv.OrganizationID, &inv.UserID, &inv.Email, &inv.VerifierHash, &inv.InvitedBy,
		&inv.CreateTime, &inv.ExpireTime, &inv.SpendTime, &inv.RevokeTime}
}

func (d *invitationDest) invitation() store.Invitation {
	inv := d.inv
	inv.CreateTime, inv.ExpireTime = utc(inv.CreateTime), utc(inv.ExpireTime)
	inv.SpendTime, inv.RevokeTime = utcPtr(inv.SpendTime), utcPtr(inv.RevokeTime)
	return inv
}

func scanInvitation(row pgx.Row) (store.Invitation, error) {
	var d invitationDest
	if err := row.Scan(d.targets()...); err != nil {
		return store.Invitation{}, err
	}
	return d.invitation(), nil
}

func scanIdentity(row pgx.Row) (store.Identity, error) {
	var id store.Identity
	if err := row.Scan(&id.Issuer, &id.Subject, &id.UserID, &id.Email, &id.CreateTime); err != nil {
		return store.Identity{}, err
	}
	id.CreateTime = utc(id.CreateTime)
	return id, nil
}

func scanOutbox(row pgx.Row) (store.OutboxMessage, error) {
	var (
		m      store.OutboxMessage
		data   []byte
		status string
	)
	err := row.Scan(&m.ID, &m.OrganizationID, &m.Kind, &m.To, &m.MessageID, &data, &m.Sealed, &status,
		&m.Attempts, &m.NextAttemptTime, &m.LeaseUntil, &m.LastError, &m.CreateTime, &m.SentTime)
	if err != nil {
		return store.OutboxMessage{}, err
	}
	m.Status = store.OutboxStatus(status)
	if m.Data, err = decodeMap(data); err != nil {
		return store.OutboxMessage{}, err
	}
	m.NextAttemptTime, m.LeaseUntil, m.CreateTime = utc(m.NextAttemptTime), utc(m.LeaseUntil), utc(m.CreateTime)
	m.SentTime = utcPtr(m.SentTime)
	return m, nil
}

func scanEvent(row pgx.Row) (store.Event, error) {
	var (
		ev   store.Event
		data []byte
	)
	if err := row.Scan(&ev.ID, &ev.Seq, &ev.OrganizationID, &ev.Type, &ev.UserID, &ev.ActorID, &data, &ev.CreateTime); err != nil {
		return store.Event{}, err
	}
	var err error
	if ev.Data, err = decodeMap(data); err != nil {
		return store.Event{}, err
	}
	ev.CreateTime = utc(ev.CreateTime)
	return ev, nil
}
