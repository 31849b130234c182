package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/invitekit/invitekit/store"
)

var _ store.Directory = (*Store)(nil)

// dirState is the directory sync part of a Store's state; its maps are
// made on first write.
type dirState struct {
	seq       int64
	tokens    map[string]dirToken                // id →
	settings  map[string]store.DirectorySettings // org id →
	userNames map[string]string                  // memberKey(org, user) → userName
	byName    map[string]string                  // memberKey(org, UserNameKey(name)) → user id
	groups    map[string]dirGroup                // memberKey(org, group id) →
}

type dirToken struct {
	t   store.DirectoryToken
	seq int64
}

type dirGroup struct {
	g   store.DirectoryGroup
	seq int64
}

func (d *dirState) init() {
	if d.tokens == nil {
		d.tokens = map[string]dirToken{}
		d.settings = map[string]store.DirectorySettings{}
		d.userNames = map[string]string{}
		d.byName = map[string]string{}
		d.groups = map[string]dirGroup{}
	}
}

func copyToken(t store.DirectoryToken) store.DirectoryToken {
	t.Hash = slices.Clone(t.Hash)
	t.LastUsedTime = copyTime(t.LastUsedTime)
	t.RevokeTime = copyTime(t.RevokeTime)
	return t
}

func copyGroup(g store.DirectoryGroup) store.DirectoryGroup {
	g.Members = slices.Clone(g.Members)
	return g
}

func normMembers(ms []string) []string {
	out := slices.Clone(ms)
	slices.Sort(out)
	return slices.Compact(out)
}

// CreateDirectoryToken implements store.Directory.
func (s *Store) CreateDirectoryToken(ctx context.Context, t store.DirectoryToken, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		if _, ok := st.orgs[t.OrganizationID]; !ok {
			return fmt.Errorf("memstore: create directory token: %w", store.ErrNotFound)
		}
		st.dir.init()
		if _, dup := st.dir.tokens[t.ID]; dup {
			return fmt.Errorf("memstore: create directory token: duplicate id %q", t.ID)
		}
		st.dir.seq++
		st.dir.tokens[t.ID] = dirToken{t: copyToken(t), seq: st.dir.seq}
		st.appendEvent(store.FillEvent(ev, t.OrganizationID, ""))
		return nil
	})
}

// GetDirectoryToken implements store.Directory.
func (s *Store) GetDirectoryToken(ctx context.Context, id string) (store.DirectoryToken, error) {
	return locked(ctx, s, func(st *state) (store.DirectoryToken, error) {
		row, ok := st.dir.tokens[id]
		if !ok {
			return store.DirectoryToken{}, fmt.Errorf("memstore: directory token: %w", store.ErrNotFound)
		}
		return copyToken(row.t), nil
	})
}

// ListDirectoryTokens implements store.Directory.
func (s *Store) ListDirectoryTokens(ctx context.Context, orgID string) ([]store.DirectoryToken, error) {
	return locked(ctx, s, func(st *state) ([]store.DirectoryToken, error) {
		var rows []dirToken
		for _, row := range st.dir.tokens {
			if row.t.OrganizationID == orgID {
				rows = append(rows, row)
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
		out := make([]store.DirectoryToken, len(rows))
		for i, row := range rows {
			out[i] = copyToken(row.t)
		}
		return out, nil
	})
}

// RevokeDirectoryToken implements store.Directory.
func (s *Store) RevokeDirectoryToken(ctx context.Context, orgID, id string, at time.Time, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		row, ok := st.dir.tokens[id]
		if !ok || row.t.OrganizationID != orgID {
			return fmt.Errorf("memstore: revoke directory token: %w", store.ErrNotFound)
		}
		if row.t.RevokeTime != nil {
			return fmt.Errorf("memstore: revoke directory token: %w", store.ErrWrongStatus)
		}
		row.t.RevokeTime = &at
		st.dir.tokens[id] = row
		st.appendEvent(store.FillEvent(ev, orgID, ""))
		return nil
	})
}

// TouchDirectoryToken implements store.Directory.
func (s *Store) TouchDirectoryToken(ctx context.Context, id string, at time.Time) error {
	return update(ctx, s, func(st *state) error {
		row, ok := st.dir.tokens[id]
		if !ok {
			return fmt.Errorf("memstore: touch directory token: %w", store.ErrNotFound)
		}
		if row.t.LastUsedTime == nil || row.t.LastUsedTime.Before(at) {
			row.t.LastUsedTime = &at
			st.dir.tokens[id] = row
		}
		return nil
	})
}

// GetDirectorySettings implements store.Directory.
func (s *Store) GetDirectorySettings(ctx context.Context, orgID string) (store.DirectorySettings, error) {
	return locked(ctx, s, func(st *state) (store.DirectorySettings, error) {
		ds, ok := st.dir.settings[orgID]
		if !ok {
			return store.DirectorySettings{OrganizationID: orgID}, nil
		}
		ds.GroupRoles = copyMap(ds.GroupRoles)
		return ds, nil
	})
}

// PutDirectorySettings implements store.Directory.
func (s *Store) PutDirectorySettings(ctx context.Context, ds store.DirectorySettings, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		if _, ok := st.orgs[ds.OrganizationID]; !ok {
			return fmt.Errorf("memstore: put directory settings: %w", store.ErrNotFound)
		}
		st.dir.init()
		ds.GroupRoles = copyMap(ds.GroupRoles)
		st.dir.settings[ds.OrganizationID] = ds
		st.appendEvent(store.FillEvent(ev, ds.OrganizationID, ""))
		return nil
	})
}

// SetDirectoryUserName implements store.Directory.
func (s *Store) SetDirectoryUserName(ctx context.Context, orgID, userID, userName string) error {
	return update(ctx, s, func(st *state) error {
		st.dir.init()
		nk := memberKey(orgID, store.UserNameKey(userName))
		if other, ok := st.dir.byName[nk]; ok && other != userID {
			return fmt.Errorf("memstore: set directory user name: %w", store.ErrUserNameTaken)
		}
		k := memberKey(orgID, userID)
		if old, ok := st.dir.userNames[k]; ok {
			delete(st.dir.byName, memberKey(orgID, store.UserNameKey(old)))
		}
		st.dir.userNames[k] = userName
		st.dir.byName[nk] = userID
		return nil
	})
}

// DirectoryUserName implements store.Directory.
func (s *Store) DirectoryUserName(ctx context.Context, orgID, userID string) (string, error) {
	return locked(ctx, s, func(st *state) (string, error) {
		n, ok := st.dir.userNames[memberKey(orgID, userID)]
		if !ok {
			return "", fmt.Errorf("memstore: directory user name: %w", store.ErrNotFound)
		}
		return n, nil
	})
}

// DirectoryUserByName implements store.Directory.
func (s *Store) DirectoryUserByName(ctx context.Context, orgID, userName string) (string, error) {
	return locked(ctx, s, func(st *state) (string, error) {
		id, ok := st.dir.byName[memberKey(orgID, store.UserNameKey(userName))]
		if !ok {
			return "", fmt.Errorf("memstore: directory user by name: %w", store.ErrNotFound)
		}
		return id, nil
	})
}

// RemoveMembership implements store.Directory.
func (s *Store) RemoveMembership(ctx context.Context, orgID, userID, keepRole string, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		k := memberKey(orgID, userID)
		m, ok := st.memberships[k]
		if !ok {
			return fmt.Errorf("memstore: remove membership: %w", store.ErrNotFound)
		}
		if m.LosesRole(keepRole, store.StatusInactive, nil) && !st.otherActiveHolder(orgID, userID, keepRole) {
			return fmt.Errorf("memstore: remove membership: role %q: %w", keepRole, store.ErrLastRoleHolder)
		}
		delete(st.memberships, k)
		if m.ExternalID != "" {
			delete(st.memberExternal, memberKey(orgID, m.ExternalID))
		}
		for id, row := range st.invitations {
			if row.inv.OrganizationID == orgID && row.inv.UserID == userID {
				delete(st.invitations, id)
			}
		}
		if n, ok := st.dir.userNames[k]; ok {
			delete(st.dir.userNames, k)
			delete(st.dir.byName, memberKey(orgID, store.UserNameKey(n)))
		}
		for gk, row := range st.dir.groups {
			if row.g.OrganizationID == orgID && slices.Contains(row.g.Members, userID) {
				row.g.Members = slices.DeleteFunc(slices.Clone(row.g.Members), func(u string) bool { return u == userID })
				st.dir.groups[gk] = row
			}
		}
		st.appendEvent(store.FillEvent(ev, orgID, userID))
		st.changed(orgID, userID)
		return nil
	})
}

func (st *state) groupNameTaken(orgID, name, exceptID string) bool {
	for _, row := range st.dir.groups {
		if row.g.OrganizationID == orgID && row.g.DisplayName == name && row.g.ID != exceptID {
			return true
		}
	}
	return false
}

// CreateDirectoryGroup implements store.Directory.
func (s *Store) CreateDirectoryGroup(ctx context.Context, g store.DirectoryGroup, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		if _, ok := st.orgs[g.OrganizationID]; !ok {
			return fmt.Errorf("memstore: create directory group: %w", store.ErrNotFound)
		}
		st.dir.init()
		if st.groupNameTaken(g.OrganizationID, g.DisplayName, "") {
			return fmt.Errorf("memstore: create directory group: %w", store.ErrGroupExists)
		}
		k := memberKey(g.OrganizationID, g.ID)
		if _, dup := st.dir.groups[k]; dup {
			return fmt.Errorf("memstore: create directory group: duplicate id %q", g.ID)
		}
		g.Members = normMembers(g.Members)
		st.dir.seq++
		st.dir.groups[k] = dirGroup{g: g, seq: st.dir.seq}
		st.appendEvent(store.FillEvent(ev, g.OrganizationID, ""))
		return nil
	})
}

// GetDirectoryGroup implements store.Directory.
func (s *Store) GetDirectoryGroup(ctx context.Context, orgID, id string) (store.DirectoryGroup, error) {
	return locked(ctx, s, func(st *state) (store.DirectoryGroup, error) {
		row, ok := st.dir.groups[memberKey(orgID, id)]
		if !ok {
			return store.DirectoryGroup{}, fmt.Errorf("memstore: directory group: %w", store.ErrNotFound)
		}
		return copyGroup(row.g), nil
	})
}

// ListDirectoryGroups implements store.Directory.
func (s *Store) ListDirectoryGroups(ctx context.Context, orgID string) ([]store.DirectoryGroup, error) {
	return locked(ctx, s, func(st *state) ([]store.DirectoryGroup, error) {
		var rows []dirGroup
		for _, row := range st.dir.groups {
			if row.g.OrganizationID == orgID {
				rows = append(rows, row)
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].seq < rows[j].seq })
		out := make([]store.DirectoryGroup, len(rows))
		for i, row := range rows {
			out[i] = copyGroup(row.g)
		}
		return out, nil
	})
}

// ReplaceDirectoryGroup implements store.Directory.
func (s *Store) ReplaceDirectoryGroup(ctx context.Context, g store.DirectoryGroup, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		k := memberKey(g.OrganizationID, g.ID)
		row, ok := st.dir.groups[k]
		if !ok {
			return fmt.Errorf("memstore: replace directory group: %w", store.ErrNotFound)
		}
		if st.groupNameTaken(g.OrganizationID, g.DisplayName, g.ID) {
			return fmt.Errorf("memstore: replace directory group: %w", store.ErrGroupExists)
		}
		row.g.DisplayName = g.DisplayName
		row.g.ExternalID = g.ExternalID
		row.g.Members = normMembers(g.Members)
		row.g.UpdateTime = g.UpdateTime
		st.dir.groups[k] = row
		st.appendEvent(store.FillEvent(ev, g.OrganizationID, ""))
		return nil
	})
}

// DeleteDirectoryGroup implements store.Directory.
func (s *Store) DeleteDirectoryGroup(ctx context.Context, orgID, id string, ev store.Event) error {
	return update(ctx, s, func(st *state) error {
		k := memberKey(orgID, id)
		if _, ok := st.dir.groups[k]; !ok {
			return fmt.Errorf("memstore: delete directory group: %w", store.ErrNotFound)
		}
		delete(st.dir.groups, k)
		st.appendEvent(store.FillEvent(ev, orgID, ""))
		return nil
	})
}
