package memstore

import (
	"context"
	"fmt"

	"github.com/invitekit/invitekit/store"
)

var _ store.SSOConnectionStore = (*Store)(nil)

// ssoState is the SSO part of a Store's state; its maps are made on first
// write.
type ssoState struct {
	conns map[string]store.SSOConnection // org id →
	trust map[string][]string            // org id → trusted connection ids, sorted
}

func (x *ssoState) init() {
	if x.conns == nil {
		x.conns = map[string]store.SSOConnection{}
		x.trust = map[string][]string{}
	}
}

// PutSSOConnection implements store.SSOConnectionStore.
func (s *Store) PutSSOConnection(ctx context.Context, c store.SSOConnection, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		if _, ok := st.orgs[c.OrganizationID]; !ok {
			return fmt.Errorf("memstore: put sso connection: %w", store.ErrNotFound)
		}
		st.sso.init()
		st.sso.conns[c.OrganizationID] = c.Clone()
		st.appendEvent(store.FillEvent(ev, c.OrganizationID, ""))
		st.changed(c.OrganizationID, "")
		return nil
	})
}

// GetSSOConnection implements store.SSOConnectionStore.
func (s *Store) GetSSOConnection(ctx context.Context, orgID string) (store.SSOConnection, error) {
	return locked(ctx, s, func(st *state) (store.SSOConnection, error) {
		c, ok := st.sso.conns[orgID]
		if !ok {
			return store.SSOConnection{}, fmt.Errorf("memstore: get sso connection: %w", store.ErrNotFound)
		}
		return c.Clone(), nil
	})
}

// DeleteSSOConnection implements store.SSOConnectionStore.
func (s *Store) DeleteSSOConnection(ctx context.Context, orgID string, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		_, ok := st.sso.conns[orgID]
		if !ok {
			return fmt.Errorf("memstore: delete sso connection: %w", store.ErrNotFound)
		}
		delete(st.sso.conns, orgID)
		st.appendEvent(store.FillEvent(ev, orgID, ""))
		st.changed(orgID, "")
		return nil
	})
}

// SetSSOTrust implements store.SSOConnectionStore.
func (s *Store) SetSSOTrust(ctx context.Context, orgID string, ids []string, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		if _, ok := st.orgs[orgID]; !ok {
			return fmt.Errorf("memstore: set sso trust: %w", store.ErrNotFound)
		}
		st.sso.init()
		st.sso.trust[orgID] = store.NormalizeIDs(ids)
		st.appendEvent(store.FillEvent(ev, orgID, ""))
		st.changed(orgID, "")
		return nil
	})
}

// ListSSOTrust implements store.SSOConnectionStore.
func (s *Store) ListSSOTrust(ctx context.Context, orgID string) ([]string, error) {
	return locked(ctx, s, func(st *state) ([]string, error) {
		return append([]string{}, st.sso.trust[orgID]...), nil
	})
}
