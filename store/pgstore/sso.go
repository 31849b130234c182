package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// Enterprise SSO (store.SSOConnectionStore), on the tables of 0008_sso:
// the same tables and semantics as sqlitestore's.

var _ store.SSOConnectionStore = (*Store)(nil)

// PutSSOConnection implements store.SSOConnectionStore.
func (s *Store) PutSSOConnection(ctx context.Context, c store.SSOConnection, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if ok, err := s.orgExists(ctx, tx, c.OrganizationID); err != nil {
			return fmt.Errorf("pgstore: put sso connection: %w", err)
		} else if !ok {
			return fmt.Errorf("pgstore: put sso connection: %w", store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.sso_connections (org_id, id, name, issuer, client_id,
			sealed_secret, scopes, email_claim, name_claim, enforce, created_by, create_time, update_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (org_id) DO UPDATE SET
			id = excluded.id, name = excluded.name, issuer = excluded.issuer, client_id = excluded.client_id,
			sealed_secret = excluded.sealed_secret, scopes = excluded.scopes, email_claim = excluded.email_claim,
			name_claim = excluded.name_claim, enforce = excluded.enforce, created_by = excluded.created_by,
			create_time = excluded.create_time, update_time = excluded.update_time`),
			c.OrganizationID, c.ID, c.Name, c.Issuer, c.ClientID, c.SealedSecret, c.Scopes,
			c.EmailClaim, c.NameClaim, c.Enforce, c.CreatedBy, ts(c.CreateTime), ts(c.UpdateTime)); err != nil {
			return fmt.Errorf("pgstore: put sso connection: %w", err)
		}
		return s.appendEventNotify(ctx, tx, store.FillEvent(ev, c.OrganizationID, ""), store.Change{OrganizationID: c.OrganizationID})
	})
}

// GetSSOConnection implements store.SSOConnectionStore.
func (s *Store) GetSSOConnection(ctx context.Context, orgID string) (store.SSOConnection, error) {
	var c store.SSOConnection
	err := s.pool.QueryRow(ctx, s.sql(`SELECT org_id, id, name, issuer, client_id, sealed_secret, scopes,
		email_claim, name_claim, enforce, created_by, create_time, update_time FROM {s}.sso_connections WHERE org_id = $1`), orgID).
		Scan(&c.OrganizationID, &c.ID, &c.Name, &c.Issuer, &c.ClientID, &c.SealedSecret, &c.Scopes,
			&c.EmailClaim, &c.NameClaim, &c.Enforce, &c.CreatedBy, &c.CreateTime, &c.UpdateTime)
	if err != nil {
		return store.SSOConnection{}, notFound(err, "sso connection")
	}
	c.CreateTime, c.UpdateTime = utc(c.CreateTime), utc(c.UpdateTime)
	return c, nil
}

// DeleteSSOConnection implements store.SSOConnectionStore.
func (s *Store) DeleteSSOConnection(ctx context.Context, orgID string, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.sso_connections WHERE org_id = $1`), orgID)
		if err != nil {
			return fmt.Errorf("pgstore: delete sso connection: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound(pgx.ErrNoRows, "delete sso connection")
		}
		return s.appendEventNotify(ctx, tx, store.FillEvent(ev, orgID, ""), store.Change{OrganizationID: orgID})
	})
}

// SetSSOTrust implements store.SSOConnectionStore.
func (s *Store) SetSSOTrust(ctx context.Context, orgID string, ids []string, ev store.Event) error {
	ids = store.NormalizeIDs(ids)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if ok, err := s.orgExists(ctx, tx, orgID); err != nil {
			return fmt.Errorf("pgstore: set sso trust: %w", err)
		} else if !ok {
			return fmt.Errorf("pgstore: set sso trust: %w", store.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, s.sql(`DELETE FROM {s}.sso_trust WHERE org_id = $1`), orgID); err != nil {
			return fmt.Errorf("pgstore: set sso trust: %w", err)
		}
		if _, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.sso_trust (org_id, connection_id) SELECT $1, unnest($2::text[])`), orgID, ids); err != nil {
			return fmt.Errorf("pgstore: set sso trust: %w", err)
		}
		return s.appendEventNotify(ctx, tx, store.FillEvent(ev, orgID, ""), store.Change{OrganizationID: orgID})
	})
}

// ListSSOTrust implements store.SSOConnectionStore.
func (s *Store) ListSSOTrust(ctx context.Context, orgID string) ([]string, error) {
	var ids []string
	err := s.pool.QueryRow(ctx, s.sql(`SELECT coalesce(array_agg(connection_id ORDER BY connection_id COLLATE "C"), '{}')
		FROM {s}.sso_trust WHERE org_id = $1`), orgID).Scan(&ids)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list sso trust: %w", err)
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}
