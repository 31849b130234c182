package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// CreateOrganization implements store.Organizations.
func (s *Store) CreateOrganization(ctx context.Context, org store.Organization, ev store.Event) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return s.createOrganization(ctx, tx, org, ev) })
}

// CreateOrganizationWithMember implements store.OrganizationMemberCreator.
func (s *Store) CreateOrganizationWithMember(ctx context.Context, org store.Organization, ev store.Event, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	return s.createMembershipAfter(ctx, p, func(tx pgx.Tx) error { return s.createOrganization(ctx, tx, org, ev) })
}

func (s *Store) createOrganization(ctx context.Context, tx pgx.Tx, org store.Organization, ev store.Event) error {
	ev = store.FillEvent(ev, org.ID, "")
	tag, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.organizations (id, name, locale, metadata, create_time, update_time, event_lock)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`),
		org.ID, org.Name, org.Locale, jsonMap(org.Metadata), org.CreateTime, org.UpdateTime, s.eventLock(org.ID))
	if err != nil {
		return fmt.Errorf("pgstore: create organization: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: organization %q: %w", org.ID, store.ErrOrganizationExists)
	}
	if err := s.appendEvent(ctx, tx, ev); err != nil {
		return fmt.Errorf("pgstore: create organization: %w", err)
	}
	return nil
}

// GetOrganization implements store.Organizations.
func (s *Store) GetOrganization(ctx context.Context, orgID string) (store.Organization, error) {
	org, err := scanOrganization(s.pool.QueryRow(ctx, s.sql(qGetOrganization), orgID))
	if err != nil {
		return store.Organization{}, notFound(err, "organization %q", orgID)
	}
	return org, nil
}

const qGetOrganization = `SELECT id, name, locale, metadata, create_time, update_time FROM {s}.organizations WHERE id = $1`

func scanOrganization(row pgx.Row) (store.Organization, error) {
	var (
		org  store.Organization
		meta []byte
	)
	if err := row.Scan(&org.ID, &org.Name, &org.Locale, &meta, &org.CreateTime, &org.UpdateTime); err != nil {
		return store.Organization{}, err
	}
	var err error
	if org.Metadata, err = decodeMap(meta); err != nil {
		return store.Organization{}, err
	}
	org.CreateTime, org.UpdateTime = utc(org.CreateTime), utc(org.UpdateTime)
	return org, nil
}

// notFound wraps err as "pgstore: <what>: ...": pgx.ErrNoRows becomes
// store.ErrNotFound.
func notFound(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgstore: %s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("pgstore: %s: %w", what, err)
}
