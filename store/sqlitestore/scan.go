package sqlitestore

import (
	"database/sql"

	"github.com/invitekit/invitekit/store"
)

// rowBuf holds the raw column values of a user or membership row between
// Scan and decoding, so joined queries can scan both at once.
type rowBuf struct {
	s1, s2, s3, s4, s5 sql.NullString
	status             string
	t1, t2, t3         int64
	nt                 sql.NullInt64
}

// membershipDest returns the Scan targets for membershipColumns.
func (b *rowBuf) membershipDest(m *store.Membership) []any {
	p := &m.Profile
	return []any{&m.Seq, &m.OrganizationID, &m.UserID, &b.status, &b.s1, &b.s2, &m.PrimaryIdentityProvider,
		&m.InvitedBy, &b.t1, &b.t2, &b.t3, &m.ExternalID, &p.FirstName, &p.LastName, &p.Name, &p.Locale,
		&p.PhoneNumber, &b.s3, &b.s4, &b.s5, &b.nt}
}

func (b *rowBuf) finishMembership(m *store.Membership) error {
	m.Status = store.MembershipStatus(b.status)
	var err error
	if m.Roles, err = listOf(b.s1); err != nil {
		return err
	}
	if m.Metadata, err = mapOf(b.s2); err != nil {
		return err
	}
	if m.Profile.Metadata, err = mapOf(b.s3); err != nil {
		return err
	}
	if m.Profile.CustomAttributes, err = mapOf(b.s4); err != nil {
		return err
	}
	if m.UserMetadata, err = mapOf(b.s5); err != nil {
		return err
	}
	m.InviteExpireTime, m.JoinTime, m.UpdateTime = timeOf(b.t1), timeOf(b.t2), timeOf(b.t3)
	m.LastLogin = timePtrOf(b.nt)
	return nil
}

// userDest returns the Scan targets for userColumns.
func (b *rowBuf) userDest(u *store.User) []any {
	p := &u.Profile
	return []any{&u.ID, &u.Email, &u.ExternalID, &p.ID, &p.FirstName, &p.LastName, &p.Name, &p.Locale,
		&p.EmailVerified, &p.PhoneNumber, &b.s1, &b.s2, &b.s3, &b.t1, &b.t2, &b.nt, &u.SessionGeneration}
}

func (b *rowBuf) finishUser(u *store.User) error {
	var err error
	if u.Profile.Metadata, err = mapOf(b.s1); err != nil {
		return err
	}
	if u.Profile.CustomAttributes, err = mapOf(b.s2); err != nil {
		return err
	}
	if u.Metadata, err = mapOf(b.s3); err != nil {
		return err
	}
	u.CreateTime, u.UpdateTime, u.LastLogin = timeOf(b.t1), timeOf(b.t2), timePtrOf(b.nt)
	return nil
}

func scanUser(u *store.User) func(scanner) error {
	return func(sc scanner) error {
		var b rowBuf
		if err := sc.Scan(b.userDest(u)...); err != nil {
			return err
		}
		return b.finishUser(u)
	}
}

func scanMembership(m *store.Membership) func(scanner) error {
	return func(sc scanner) error {
		var b rowBuf
		if err := sc.Scan(b.membershipDest(m)...); err != nil {
			return err
		}
		return b.finishMembership(m)
	}
}
