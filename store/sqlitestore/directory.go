package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Directory sync (store.Directory), on the tables of 0004_directory.

var _ store.Directory = (*Store)(nil)

// The writer statements of directory sync (prepared by Open: writeQueries).
const (
	qDir0 = `INSERT INTO directory_tokens (id, seq, org_id, name, hash, created_by, create_time)
			VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM directory_tokens), ?, ?, ?, ?, ?)`
	qDir1 = `SELECT revoke_time FROM directory_tokens WHERE id = ? AND org_id = ?`
	qDir2 = `UPDATE directory_tokens SET revoke_time = ? WHERE id = ?`
	qDir3 = `UPDATE directory_tokens SET last_used = max(coalesce(last_used, 0), ?) WHERE id = ?`
	qDir4 = `INSERT INTO directory_settings (org_id, provision_status, delete_action, group_roles, update_time)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id) DO UPDATE SET provision_status = excluded.provision_status,
			delete_action = excluded.delete_action, group_roles = excluded.group_roles, update_time = excluded.update_time`
	qDir5 = `SELECT user_id FROM directory_users WHERE org_id = ? AND user_name_key = ?`
	qDir6 = `INSERT INTO directory_users (org_id, user_id, user_name, user_name_key) VALUES (?, ?, ?, ?)
			ON CONFLICT (org_id, user_id) DO UPDATE SET user_name = excluded.user_name, user_name_key = excluded.user_name_key`
	qDir7  = `DELETE FROM invitations WHERE org_id = ? AND user_id = ?`
	qDir8  = `DELETE FROM memberships WHERE org_id = ? AND user_id = ?`
	qDir9  = `DELETE FROM directory_users WHERE org_id = ? AND user_id = ?`
	qDir10 = `DELETE FROM directory_group_members WHERE org_id = ? AND user_id = ?`
	qDir11 = `DELETE FROM directory_group_members WHERE org_id = ? AND group_id = ?`
	qDir12 = `INSERT INTO directory_group_members (org_id, group_id, user_id) VALUES (?, ?, ?)`
	qDir13 = `INSERT INTO directory_groups (org_id, id, seq, display_name, external_id, create_time, update_time)
			VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM directory_groups), ?, ?, ?, ?)`
	qDir14 = `UPDATE directory_groups SET display_name = ?, external_id = ?, update_time = ? WHERE org_id = ? AND id = ?`
	qDir15 = `DELETE FROM directory_groups WHERE org_id = ? AND id = ?`
)

var directoryWriteQueries = []string{qDir0, qDir1, qDir2, qDir3, qDir4, qDir5, qDir6, qDir7, qDir8, qDir9, qDir10, qDir11, qDir12, qDir13, qDir14, qDir15}

const (
	tokenColumns   = `id, org_id, name, hash, created_by, create_time, last_used, revoke_time`
	qGetDirToken   = `SELECT ` + tokenColumns + ` FROM directory_tokens WHERE id = ?`
	qListDirTokens = `SELECT ` + tokenColumns + ` FROM directory_tokens WHERE org_id = ? ORDER BY seq`
	groupColumns   = `id, org_id, display_name, external_id, create_time, update_time`
)

func scanToken(t *store.DirectoryToken) func(scanner) error {
	return func(sc scanner) error {
		var ct int64
		var used, revoked sql.NullInt64
		if err := sc.Scan(&t.ID, &t.OrganizationID, &t.Name, &t.Hash, &t.CreatedBy, &ct, &used, &revoked); err != nil {
			return err
		}
		t.CreateTime, t.LastUsedTime, t.RevokeTime = timeOf(ct), timePtrOf(used), timePtrOf(revoked)
		return nil
	}
}

func dirNotFound(what string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s: %w", what, store.ErrNotFound)
	}
	return err
}

// CreateDirectoryToken implements store.Directory.
func (s *Store) CreateDirectoryToken(ctx context.Context, tok store.DirectoryToken, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		if ok, err := t.orgExists(tok.OrganizationID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("sqlitestore: create directory token: %w", store.ErrNotFound)
		}
		if _, err := t.exec(qDir0,
			tok.ID, tok.OrganizationID, tok.Name, tok.Hash, tok.CreatedBy, tsOf(tok.CreateTime)); err != nil {
			return err
		}
		return t.appendEvent(store.FillEvent(ev, tok.OrganizationID, ""))
	})
}

// GetDirectoryToken implements store.Directory.
func (s *Store) GetDirectoryToken(ctx context.Context, id string) (store.DirectoryToken, error) {
	var tok store.DirectoryToken
	err := s.readRow(ctx, scanToken(&tok), qGetDirToken, id)
	return tok, dirNotFound("directory token", err)
}

// ListDirectoryTokens implements store.Directory.
func (s *Store) ListDirectoryTokens(ctx context.Context, orgID string) ([]store.DirectoryToken, error) {
	rows, err := s.readRows(ctx, qListDirTokens, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.DirectoryToken
	for rows.Next() {
		var tok store.DirectoryToken
		if err := scanToken(&tok)(rows); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		out = append(out, tok)
	}
	return out, rows.Err()
}

// RevokeDirectoryToken implements store.Directory.
func (s *Store) RevokeDirectoryToken(ctx context.Context, orgID, id string, at time.Time, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		var revoked sql.NullInt64
		err := t.row(func(sc scanner) error { return sc.Scan(&revoked) }, qDir1, id, orgID)
		if err != nil {
			return dirNotFound("revoke directory token", err)
		}
		if revoked.Valid {
			return fmt.Errorf("sqlitestore: revoke directory token: %w", store.ErrWrongStatus)
		}
		if _, err := t.exec(qDir2, tsOf(at), id); err != nil {
			return err
		}
		return t.appendEvent(store.FillEvent(ev, orgID, ""))
	})
}

// TouchDirectoryToken implements store.Directory.
func (s *Store) TouchDirectoryToken(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(t *wtx) error {
		n, err := t.execN(qDir3, tsOf(at), id)
		if err == nil && n == 0 {
			err = fmt.Errorf("sqlitestore: touch directory token: %w", store.ErrNotFound)
		}
		return err
	})
}

// GetDirectorySettings implements store.Directory.
func (s *Store) GetDirectorySettings(ctx context.Context, orgID string) (store.DirectorySettings, error) {
	ds := store.DirectorySettings{OrganizationID: orgID}
	var roles sql.NullString
	var ut int64
	err := s.readRow(ctx, func(sc scanner) error {
		return sc.Scan(&ds.ProvisionStatus, &ds.DeleteAction, &roles, &ut)
	}, `SELECT provision_status, delete_action, group_roles, update_time FROM directory_settings WHERE org_id = ?`, orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return ds, nil
	} else if err != nil {
		return store.DirectorySettings{}, err
	}
	ds.UpdateTime = timeOf(ut)
	if ds.GroupRoles, err = mapOf(roles); err != nil {
		return store.DirectorySettings{}, err
	}
	return ds, nil
}

// PutDirectorySettings implements store.Directory.
func (s *Store) PutDirectorySettings(ctx context.Context, ds store.DirectorySettings, ev store.Event) error {
	roles, err := jsonMap(ds.GroupRoles)
	if err != nil {
		return err
	}
	return s.write(ctx, func(t *wtx) error {
		if ok, err := t.orgExists(ds.OrganizationID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("sqlitestore: put directory settings: %w", store.ErrNotFound)
		}
		if _, err := t.exec(qDir4,
			ds.OrganizationID, string(ds.ProvisionStatus), ds.DeleteAction, textArg(roles), tsOf(ds.UpdateTime)); err != nil {
			return err
		}
		return t.appendEvent(store.FillEvent(ev, ds.OrganizationID, ""))
	})
}

// SetDirectoryUserName implements store.Directory.
func (s *Store) SetDirectoryUserName(ctx context.Context, orgID, userID, userName string) error {
	key := store.UserNameKey(userName)
	return s.write(ctx, func(t *wtx) error {
		var other string
		err := t.row(func(sc scanner) error { return sc.Scan(&other) }, qDir5, orgID, key)
		switch {
		case err == nil && other != userID:
			return fmt.Errorf("sqlitestore: set directory user name: %w", store.ErrUserNameTaken)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = t.exec(qDir6,
			orgID, userID, userName, key)
		return err
	})
}

// DirectoryUserName implements store.Directory.
func (s *Store) DirectoryUserName(ctx context.Context, orgID, userID string) (string, error) {
	var n string
	err := s.readRow(ctx, func(sc scanner) error { return sc.Scan(&n) }, `SELECT user_name FROM directory_users WHERE org_id = ? AND user_id = ?`, orgID, userID)
	return n, dirNotFound("directory user name", err)
}

// DirectoryUserByName implements store.Directory.
func (s *Store) DirectoryUserByName(ctx context.Context, orgID, userName string) (string, error) {
	var id string
	err := s.readRow(ctx, func(sc scanner) error { return sc.Scan(&id) }, qDir5, orgID, store.UserNameKey(userName))
	return id, dirNotFound("directory user by name", err)
}

// RemoveMembership implements store.Directory.
func (s *Store) RemoveMembership(ctx context.Context, orgID, userID, keepRole string, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		m, err := t.membership(orgID, userID)
		if err != nil {
			return err
		}
		if err := t.keepRole(m, keepRole, store.StatusInactive, nil); err != nil {
			return err
		}
		for _, q := range []string{
			qDir7,
			qDir8,
			qDir9,
			qDir10,
		} {
			if _, err := t.exec(q, orgID, userID); err != nil {
				return err
			}
		}
		t.changed(orgID, userID)
		return t.appendEvent(store.FillEvent(ev, orgID, userID))
	})
}

func (t *wtx) writeGroupMembers(g store.DirectoryGroup) error {
	if _, err := t.exec(qDir11, g.OrganizationID, g.ID); err != nil {
		return err
	}
	ms := slices.Compact(slices.Sorted(slices.Values(g.Members)))
	for _, u := range ms {
		if _, err := t.exec(qDir12, g.OrganizationID, g.ID, u); err != nil {
			return err
		}
	}
	return nil
}

func groupErr(op string, err error) error {
	if isConstraint(err) {
		return fmt.Errorf("sqlitestore: %s: %w", op, store.ErrGroupExists)
	}
	return err
}

// CreateDirectoryGroup implements store.Directory.
func (s *Store) CreateDirectoryGroup(ctx context.Context, g store.DirectoryGroup, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		if ok, err := t.orgExists(g.OrganizationID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("sqlitestore: create directory group: %w", store.ErrNotFound)
		}
		if _, err := t.exec(qDir13,
			g.OrganizationID, g.ID, g.DisplayName, g.ExternalID, tsOf(g.CreateTime), tsOf(g.UpdateTime)); err != nil {
			return groupErr("create directory group", err)
		}
		if err := t.writeGroupMembers(g); err != nil {
			return err
		}
		return t.appendEvent(store.FillEvent(ev, g.OrganizationID, ""))
	})
}

func (s *Store) readGroups(ctx context.Context, orgID, id string) ([]store.DirectoryGroup, error) {
	q := `SELECT ` + groupColumns + ` FROM directory_groups WHERE org_id = ? ORDER BY seq`
	args := []any{orgID}
	if id != "" {
		q = `SELECT ` + groupColumns + ` FROM directory_groups WHERE org_id = ? AND id = ?`
		args = append(args, id)
	}
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []store.DirectoryGroup
	idx := map[string]int{}
	for rows.Next() {
		var g store.DirectoryGroup
		var ct, ut int64
		if err := rows.Scan(&g.ID, &g.OrganizationID, &g.DisplayName, &g.ExternalID, &ct, &ut); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		g.CreateTime, g.UpdateTime = timeOf(ct), timeOf(ut)
		g.Members = []string{}
		idx[g.ID] = len(out)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	mq := `SELECT group_id, user_id FROM directory_group_members WHERE org_id = ? ORDER BY group_id, user_id`
	if id != "" {
		mq = `SELECT group_id, user_id FROM directory_group_members WHERE org_id = ? AND group_id = ? ORDER BY user_id`
	}
	mrows, err := s.readRows(ctx, mq, args...)
	if err != nil {
		return nil, err
	}
	defer mrows.Close()
	for mrows.Next() {
		var gid, uid string
		if err := mrows.Scan(&gid, &uid); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		if i, ok := idx[gid]; ok {
			out[i].Members = append(out[i].Members, uid)
		}
	}
	return out, mrows.Err()
}

// GetDirectoryGroup implements store.Directory.
func (s *Store) GetDirectoryGroup(ctx context.Context, orgID, id string) (store.DirectoryGroup, error) {
	gs, err := s.readGroups(ctx, orgID, id)
	if err != nil {
		return store.DirectoryGroup{}, err
	}
	if len(gs) == 0 {
		return store.DirectoryGroup{}, fmt.Errorf("sqlitestore: directory group: %w", store.ErrNotFound)
	}
	return gs[0], nil
}

// ListDirectoryGroups implements store.Directory.
func (s *Store) ListDirectoryGroups(ctx context.Context, orgID string) ([]store.DirectoryGroup, error) {
	return s.readGroups(ctx, orgID, "")
}

// ReplaceDirectoryGroup implements store.Directory.
func (s *Store) ReplaceDirectoryGroup(ctx context.Context, g store.DirectoryGroup, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		n, err := t.execN(qDir14,
			g.DisplayName, g.ExternalID, tsOf(g.UpdateTime), g.OrganizationID, g.ID)
		if err != nil {
			return groupErr("replace directory group", err)
		}
		if n == 0 {
			return fmt.Errorf("sqlitestore: replace directory group: %w", store.ErrNotFound)
		}
		if err := t.writeGroupMembers(g); err != nil {
			return err
		}
		return t.appendEvent(store.FillEvent(ev, g.OrganizationID, ""))
	})
}

// DeleteDirectoryGroup implements store.Directory.
func (s *Store) DeleteDirectoryGroup(ctx context.Context, orgID, id string, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		n, err := t.execN(qDir15, orgID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("sqlitestore: delete directory group: %w", store.ErrNotFound)
		}
		if _, err := t.exec(qDir11, orgID, id); err != nil {
			return err
		}
		return t.appendEvent(store.FillEvent(ev, orgID, ""))
	})
}
