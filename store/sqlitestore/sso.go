package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/invitekit/invitekit/store"
)

// Enterprise SSO (store.SSOConnectionStore), on the tables of 0008_sso.

var _ store.SSOConnectionStore = (*Store)(nil)

// The writer statements of SSO (prepared by Open: writeQueries).
const (
	qSSO0 = `INSERT INTO sso_connections (org_id, id, name, issuer, client_id, sealed_secret, scopes,
			email_claim, name_claim, enforce, created_by, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org_id) DO UPDATE SET
			id = excluded.id, name = excluded.name, issuer = excluded.issuer, client_id = excluded.client_id,
			sealed_secret = excluded.sealed_secret, scopes = excluded.scopes, email_claim = excluded.email_claim,
			name_claim = excluded.name_claim, enforce = excluded.enforce, created_by = excluded.created_by,
			create_time = excluded.create_time, update_time = excluded.update_time`
	qSSO2 = `DELETE FROM sso_connections WHERE org_id = ?`
	qSSO4 = `DELETE FROM sso_trust WHERE org_id = ?`
	qSSO5 = `INSERT INTO sso_trust (org_id, connection_id) VALUES (?, ?)`
)

var ssoWriteQueries = []string{qSSO0, qSSO2, qSSO4, qSSO5}

const (
	qGetSSO = `SELECT org_id, id, name, issuer, client_id, sealed_secret, scopes, email_claim, name_claim,
			enforce, created_by, create_time, update_time FROM sso_connections WHERE org_id = ?`
	qListSSOTrust = `SELECT connection_id FROM sso_trust WHERE org_id = ? ORDER BY connection_id`
)

// PutSSOConnection implements store.SSOConnectionStore.
func (s *Store) PutSSOConnection(ctx context.Context, c store.SSOConnection, ev store.Event) error {
	scopes, err := jsonList(c.Scopes)
	if err != nil {
		return err
	}
	return s.write(ctx, func(t *wtx) error {
		if ok, err := t.orgExists(c.OrganizationID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("sqlitestore: put sso connection: %w", store.ErrNotFound)
		}
		if _, err := t.exec(qSSO0, c.OrganizationID, c.ID, c.Name, c.Issuer, c.ClientID, bytesOf(c.SealedSecret),
			textArg(scopes), c.EmailClaim, c.NameClaim, c.Enforce, c.CreatedBy, tsOf(c.CreateTime), tsOf(c.UpdateTime)); err != nil {
			return err
		}
		t.changed(c.OrganizationID, "")
		return t.appendEvent(store.FillEvent(ev, c.OrganizationID, ""))
	})
}

// GetSSOConnection implements store.SSOConnectionStore.
func (s *Store) GetSSOConnection(ctx context.Context, orgID string) (store.SSOConnection, error) {
	var c store.SSOConnection
	var scopes sql.NullString
	var ct, ut int64
	err := s.readRow(ctx, func(sc scanner) error {
		return sc.Scan(&c.OrganizationID, &c.ID, &c.Name, &c.Issuer, &c.ClientID, &c.SealedSecret, &scopes,
			&c.EmailClaim, &c.NameClaim, &c.Enforce, &c.CreatedBy, &ct, &ut)
	}, qGetSSO, orgID)
	if err != nil {
		return store.SSOConnection{}, dirNotFound("get sso connection", err)
	}
	if c.Scopes, err = listOf(scopes); err != nil {
		return store.SSOConnection{}, err
	}
	c.CreateTime, c.UpdateTime = timeOf(ct), timeOf(ut)
	return c, nil
}

// DeleteSSOConnection implements store.SSOConnectionStore.
func (s *Store) DeleteSSOConnection(ctx context.Context, orgID string, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		n, err := t.execN(qSSO2, orgID)
		if err != nil {
			return err
		}
		if n == 0 {
			return dirNotFound("delete sso connection", sql.ErrNoRows)
		}
		t.changed(orgID, "")
		return t.appendEvent(store.FillEvent(ev, orgID, ""))
	})
}

// SetSSOTrust implements store.SSOConnectionStore.
func (s *Store) SetSSOTrust(ctx context.Context, orgID string, ids []string, ev store.Event) error {
	ids = store.NormalizeIDs(ids)
	return s.write(ctx, func(t *wtx) error {
		if ok, err := t.orgExists(orgID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("sqlitestore: set sso trust: %w", store.ErrNotFound)
		}
		if _, err := t.exec(qSSO4, orgID); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := t.exec(qSSO5, orgID, id); err != nil {
				return err
			}
		}
		t.changed(orgID, "")
		return t.appendEvent(store.FillEvent(ev, orgID, ""))
	})
}

// ListSSOTrust implements store.SSOConnectionStore.
func (s *Store) ListSSOTrust(ctx context.Context, orgID string) ([]string, error) {
	rows, err := s.readRows(ctx, qListSSOTrust, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
