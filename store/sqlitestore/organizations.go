package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/invitekit/invitekit/store"
)

const (
	orgColumns = `id, name, locale, metadata, create_time, update_time`

	qInsertOrg = `INSERT INTO organizations (` + orgColumns + `) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`
	qGetOrg    = `SELECT ` + orgColumns + ` FROM organizations WHERE id = ?`
	qOrgExists = `SELECT 1 FROM organizations WHERE id = ?`
)

func scanOrg(o *store.Organization) func(scanner) error {
	return func(sc scanner) error {
		var md sql.NullString
		var ct, ut int64
		if err := sc.Scan(&o.ID, &o.Name, &o.Locale, &md, &ct, &ut); err != nil {
			return err
		}
		var err error
		o.Metadata, err = mapOf(md)
		o.CreateTime, o.UpdateTime = timeOf(ct), timeOf(ut)
		return err
	}
}

// CreateOrganization implements store.Organizations.
func (s *Store) CreateOrganization(ctx context.Context, org store.Organization, ev store.Event) error {
	md, err := jsonMap(org.Metadata)
	if err != nil {
		return err
	}
	return s.write(ctx, func(t *wtx) error { return t.createOrganization(org, md, ev) })
}

// CreateOrganizationWithMember implements store.OrganizationMemberCreator.
func (s *Store) CreateOrganizationWithMember(ctx context.Context, org store.Organization, ev store.Event, p store.CreateMembershipParams) (store.CreateMembershipResult, error) {
	md, err := jsonMap(org.Metadata)
	if err != nil {
		return store.CreateMembershipResult{}, err
	}
	var res store.BatchResult
	err = s.writeOne(ctx, func(t *wtx, create createFunc) error {
		if err := t.createOrganization(org, md, ev); err != nil {
			return err
		}
		var err error
		res, err = create(p) // a refusal rolls the organization back too
		return err
	})
	if err != nil {
		return store.CreateMembershipResult{}, err
	}
	return res.CreateMembershipResult, nil
}

// createOrganization inserts org (metadata md, encoded) and appends ev.
func (t *wtx) createOrganization(org store.Organization, md any, ev store.Event) error {
	n, err := t.execN(qInsertOrg, org.ID, org.Name, org.Locale, md, tsOf(org.CreateTime), tsOf(org.UpdateTime))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlitestore: organization %q: %w", org.ID, store.ErrOrganizationExists)
	}
	return t.appendEvent(store.FillEvent(ev, org.ID, ""))
}

// GetOrganization implements store.Organizations.
func (s *Store) GetOrganization(ctx context.Context, orgID string) (store.Organization, error) {
	var o store.Organization
	err := s.readRow(ctx, scanOrg(&o), qGetOrg, orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Organization{}, fmt.Errorf("sqlitestore: organization %q: %w", orgID, store.ErrNotFound)
	}
	if err != nil {
		return store.Organization{}, err
	}
	return o, nil
}

// orgExists reports whether the organization exists, inside t.
func (t *wtx) orgExists(orgID string) (bool, error) {
	return t.exists(qOrgExists, orgID)
}
