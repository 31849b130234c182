package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// Directory sync (store.Directory), on the tables of 0004_directory: the
// same tables and semantics as sqlitestore's.

var _ store.Directory = (*Store)(nil)

// Constraints of 0004_directory that map to store errors.
const (
	directoryUserNameKey  = "directory_users_name_key"
	directoryGroupNameKey = "directory_groups_name_key"
)

const (
	dirTokenCols = `id, org_id, name, hash, created_by, create_time, last_used, revoke_time`
	// dirGroupCols reads a group with its members (sorted byte-wise, as
	// every store sorts them, whatever the database's collation).
	dirGroupCols = `g.id, g.org_id, g.display_name, g.external_id, g.create_time, g.update_time,
		coalesce((SELECT array_agg(m.user_id ORDER BY m.user_id COLLATE "C") FROM {s}.directory_group_members m
			WHERE m.org_id = g.org_id AND m.group_id = g.id), '{}')`
)

func scanDirToken(row pgx.Row) (store.DirectoryToken, error) {
	var t store.DirectoryToken
	if err := row.Scan(&t.ID, &t.OrganizationID, &t.Name, &t.Hash, &t.CreatedBy, &t.CreateTime, &t.LastUsedTime, &t.RevokeTime); err != nil {
		return store.DirectoryToken{}, err
	}
	t.CreateTime, t.LastUsedTime, t.RevokeTime = utc(t.CreateTime), utcPtr(t.LastUsedTime), utcPtr(t.RevokeTime)
	return t, nil
}

func scanDirGroup(row pgx.Row) (store.DirectoryGroup, error) {
	var g store.DirectoryGroup
	if err := row.Scan(&g.ID, &g.OrganizationID, &g.DisplayName, &g.ExternalID, &g.CreateTime, &g.UpdateTime, &g.Members); err != nil {
		return store.DirectoryGroup{}, err
	}
	g.CreateTime, g.UpdateTime = utc(g.CreateTime), utc(g.UpdateTime)
	if g.Members == nil {
		g.Members = []string{}
	}
	return g, nil
}

// orgExists reports whether orgID exists, in tx.
func (s *Store) orgExists(ctx context.Context, tx pgx.Tx, orgID string) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, s.sql(`SELECT EXISTS (SELECT 1 FROM {s}.organizations WHERE id = $1)`), orgID).Scan(&ok)
	return ok, err
}

// CreateDirectoryToken implements store.Directory.
func (s *Store) CreateDirectoryToken(ctx context.Context, tok store.DirectoryToken, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if ok, err := s.orgExists(ctx, tx, tok.OrganizationID); err != nil {
			return fmt.Errorf("pgstore: create directory token: %w", err)
		} else if !ok {
			return fmt.Errorf("pgstore: create directory token: %w", store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.directory_tokens (id, org_id, name, hash, created_by, create_time)
			VALUES ($1, $2, $3, $4, $5, $6)`),
			tok.ID, tok.OrganizationID, tok.Name, tok.Hash, tok.CreatedBy, tok.CreateTime); err != nil {
			return fmt.Errorf("pgstore: create directory token: %w", err)
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, tok.OrganizationID, ""))
	})
}

// GetDirectoryToken implements store.Directory.
func (s *Store) GetDirectoryToken(ctx context.Context, id string) (store.DirectoryToken, error) {
	t, err := scanDirToken(s.pool.QueryRow(ctx, s.sql(`SELECT `+dirTokenCols+` FROM {s}.directory_tokens WHERE id = $1`), id))
	if err != nil {
		return store.DirectoryToken{}, notFound(err, "directory token")
	}
	return t, nil
}

// ListDirectoryTokens implements store.Directory.
func (s *Store) ListDirectoryTokens(ctx context.Context, orgID string) ([]store.DirectoryToken, error) {
	rows, err := s.pool.Query(ctx, s.sql(`SELECT `+dirTokenCols+` FROM {s}.directory_tokens WHERE org_id = $1 ORDER BY seq`), orgID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list directory tokens: %w", err)
	}
	defer rows.Close()
	var out []store.DirectoryToken
	for rows.Next() {
		t, err := scanDirToken(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list directory tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list directory tokens: %w", err)
	}
	return out, nil
}

// RevokeDirectoryToken implements store.Directory. The token's row is
// locked, so of two concurrent revocations one gets ErrWrongStatus.
func (s *Store) RevokeDirectoryToken(ctx context.Context, orgID, id string, at time.Time, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var revoked *time.Time
		err := tx.QueryRow(ctx, s.sql(`SELECT revoke_time FROM {s}.directory_tokens WHERE id = $1 AND org_id = $2 FOR UPDATE`), id, orgID).Scan(&revoked)
		if err != nil {
			return notFound(err, "revoke directory token")
		}
		if revoked != nil {
			return fmt.Errorf("pgstore: revoke directory token: %w", store.ErrWrongStatus)
		}
		if _, err := tx.Exec(ctx, s.sql(`UPDATE {s}.directory_tokens SET revoke_time = $2 WHERE id = $1`), id, at); err != nil {
			return fmt.Errorf("pgstore: revoke directory token: %w", err)
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, orgID, ""))
	})
}

// TouchDirectoryToken implements store.Directory: one UPDATE that never
// moves LastUsedTime back.
func (s *Store) TouchDirectoryToken(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {s}.directory_tokens
		SET last_used = greatest(coalesce(last_used, $2::timestamptz), $2::timestamptz) WHERE id = $1`), id, at)
	if err != nil {
		return fmt.Errorf("pgstore: touch directory token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: touch directory token: %w", store.ErrNotFound)
	}
	return nil
}

// GetDirectorySettings implements store.Directory.
func (s *Store) GetDirectorySettings(ctx context.Context, orgID string) (store.DirectorySettings, error) {
	ds := store.DirectorySettings{OrganizationID: orgID}
	var status string
	var roles []byte
	err := s.pool.QueryRow(ctx, s.sql(`SELECT provision_status, delete_action, group_roles, update_time
		FROM {s}.directory_settings WHERE org_id = $1`), orgID).Scan(&status, &ds.DeleteAction, &roles, &ds.UpdateTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return ds, nil
	}
	if err != nil {
		return store.DirectorySettings{}, fmt.Errorf("pgstore: directory settings: %w", err)
	}
	ds.ProvisionStatus, ds.UpdateTime = store.MembershipStatus(status), utc(ds.UpdateTime)
	if ds.GroupRoles, err = decodeMap(roles); err != nil {
		return store.DirectorySettings{}, err
	}
	return ds, nil
}

// PutDirectorySettings implements store.Directory.
func (s *Store) PutDirectorySettings(ctx context.Context, ds store.DirectorySettings, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if ok, err := s.orgExists(ctx, tx, ds.OrganizationID); err != nil {
			return fmt.Errorf("pgstore: put directory settings: %w", err)
		} else if !ok {
			return fmt.Errorf("pgstore: put directory settings: %w", store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.directory_settings (org_id, provision_status, delete_action, group_roles, update_time)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id) DO UPDATE SET provision_status = excluded.provision_status,
			delete_action = excluded.delete_action, group_roles = excluded.group_roles, update_time = excluded.update_time`),
			ds.OrganizationID, string(ds.ProvisionStatus), ds.DeleteAction, jsonMap(ds.GroupRoles), ds.UpdateTime); err != nil {
			return fmt.Errorf("pgstore: put directory settings: %w", err)
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, ds.OrganizationID, ""))
	})
}

// SetDirectoryUserName implements store.Directory. directory_users_name_key
// refuses a userName another member has, also one being written
// concurrently.
func (s *Store) SetDirectoryUserName(ctx context.Context, orgID, userID, userName string) error {
	_, err := s.pool.Exec(ctx, s.sql(`INSERT INTO {s}.directory_users (org_id, user_id, user_name, user_name_key) VALUES ($1, $2, $3, $4)
		ON CONFLICT (org_id, user_id) DO UPDATE SET user_name = excluded.user_name, user_name_key = excluded.user_name_key`),
		orgID, userID, userName, store.UserNameKey(userName))
	if isConstraint(err, codeUniqueViolation, directoryUserNameKey) {
		return fmt.Errorf("pgstore: set directory user name: %w", store.ErrUserNameTaken)
	}
	if err != nil {
		return fmt.Errorf("pgstore: set directory user name: %w", err)
	}
	return nil
}

// DirectoryUserName implements store.Directory.
func (s *Store) DirectoryUserName(ctx context.Context, orgID, userID string) (string, error) {
	var n string
	err := s.pool.QueryRow(ctx, s.sql(`SELECT user_name FROM {s}.directory_users WHERE org_id = $1 AND user_id = $2`), orgID, userID).Scan(&n)
	if err != nil {
		return "", notFound(err, "directory user name")
	}
	return n, nil
}

// DirectoryUserByName implements store.Directory.
func (s *Store) DirectoryUserByName(ctx context.Context, orgID, userName string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, s.sql(`SELECT user_id FROM {s}.directory_users WHERE org_id = $1 AND user_name_key = $2`),
		orgID, store.UserNameKey(userName)).Scan(&id)
	if err != nil {
		return "", notFound(err, "directory user by name")
	}
	return id, nil
}

// RemoveMembership implements store.Directory. With a role to keep,
// keepRole locks the organization's row first, as every guarded change
// does. The removal is published (store.ChangeNotifier) at commit.
func (s *Store) RemoveMembership(ctx context.Context, orgID, userID, keepRole string, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := s.keepRole(ctx, tx, orgID, userID, keepRole, "", store.StatusInactive, nil); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.memberships WHERE org_id = $1 AND user_id = $2`), orgID, userID)
		if err != nil {
			return fmt.Errorf("pgstore: remove membership: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("pgstore: remove membership: %w", store.ErrNotFound)
		}
		for _, q := range []string{
			`DELETE FROM {s}.invitations WHERE org_id = $1 AND user_id = $2`,
			`DELETE FROM {s}.directory_users WHERE org_id = $1 AND user_id = $2`,
			`DELETE FROM {s}.directory_group_members WHERE org_id = $1 AND user_id = $2`,
		} {
			if _, err := tx.Exec(ctx, s.sql(q), orgID, userID); err != nil {
				return fmt.Errorf("pgstore: remove membership: %w", err)
			}
		}
		return s.appendEventNotify(ctx, tx, store.FillEvent(ev, orgID, userID), store.Change{OrganizationID: orgID, UserID: userID})
	})
}

// writeGroupMembers replaces the members of g with g.Members (distinct).
func (s *Store) writeGroupMembers(ctx context.Context, tx pgx.Tx, g store.DirectoryGroup) error {
	if _, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.directory_group_members WHERE org_id = $1 AND group_id = $2`), g.OrganizationID, g.ID); err != nil {
		return err
	}
	ms := slices.Compact(slices.Sorted(slices.Values(g.Members)))
	if len(ms) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.directory_group_members (org_id, group_id, user_id)
		SELECT $1, $2, u FROM unnest($3::text[]) AS u`), g.OrganizationID, g.ID, ms)
	return err
}

func groupErr(op string, err error) error {
	if isConstraint(err, codeUniqueViolation, directoryGroupNameKey) {
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrGroupExists)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// CreateDirectoryGroup implements store.Directory.
func (s *Store) CreateDirectoryGroup(ctx context.Context, g store.DirectoryGroup, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if ok, err := s.orgExists(ctx, tx, g.OrganizationID); err != nil {
			return fmt.Errorf("pgstore: create directory group: %w", err)
		} else if !ok {
			return fmt.Errorf("pgstore: create directory group: %w", store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.directory_groups (org_id, id, display_name, external_id, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $6)`),
			g.OrganizationID, g.ID, g.DisplayName, g.ExternalID, g.CreateTime, g.UpdateTime); err != nil {
			return groupErr("create directory group", err)
		}
		if err := s.writeGroupMembers(ctx, tx, g); err != nil {
			return fmt.Errorf("pgstore: create directory group: %w", err)
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, g.OrganizationID, ""))
	})
}

// GetDirectoryGroup implements store.Directory.
func (s *Store) GetDirectoryGroup(ctx context.Context, orgID, id string) (store.DirectoryGroup, error) {
	g, err := scanDirGroup(s.pool.QueryRow(ctx, s.sql(`SELECT `+dirGroupCols+` FROM {s}.directory_groups g
		WHERE g.org_id = $1 AND g.id = $2`), orgID, id))
	if err != nil {
		return store.DirectoryGroup{}, notFound(err, "directory group")
	}
	return g, nil
}

// ListDirectoryGroups implements store.Directory.
func (s *Store) ListDirectoryGroups(ctx context.Context, orgID string) ([]store.DirectoryGroup, error) {
	rows, err := s.pool.Query(ctx, s.sql(`SELECT `+dirGroupCols+` FROM {s}.directory_groups g
		WHERE g.org_id = $1 ORDER BY g.seq`), orgID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list directory groups: %w", err)
	}
	defer rows.Close()
	out := []store.DirectoryGroup{}
	for rows.Next() {
		g, err := scanDirGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list directory groups: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list directory groups: %w", err)
	}
	return out, nil
}

// ReplaceDirectoryGroup implements store.Directory.
func (s *Store) ReplaceDirectoryGroup(ctx context.Context, g store.DirectoryGroup, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.sql(`UPDATE {s}.directory_groups SET display_name = $3, external_id = $4, update_time = $5
			WHERE org_id = $1 AND id = $2`), g.OrganizationID, g.ID, g.DisplayName, g.ExternalID, g.UpdateTime)
		if err != nil {
			return groupErr("replace directory group", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("pgstore: replace directory group: %w", store.ErrNotFound)
		}
		if err := s.writeGroupMembers(ctx, tx, g); err != nil {
			return fmt.Errorf("pgstore: replace directory group: %w", err)
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, g.OrganizationID, ""))
	})
}

// DeleteDirectoryGroup implements store.Directory.
func (s *Store) DeleteDirectoryGroup(ctx context.Context, orgID, id string, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.directory_groups WHERE org_id = $1 AND id = $2`), orgID, id)
		if err != nil {
			return fmt.Errorf("pgstore: delete directory group: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("pgstore: delete directory group: %w", store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.directory_group_members WHERE org_id = $1 AND group_id = $2`), orgID, id); err != nil {
			return fmt.Errorf("pgstore: delete directory group: %w", err)
		}
		return s.appendEvent(ctx, tx, store.FillEvent(ev, orgID, ""))
	})
}
