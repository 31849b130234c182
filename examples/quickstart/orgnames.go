package main

import (
	"context"
	"sync"
	"time"

	"github.com/invitekit/invitekit/invite"
)

// orgNames caches organization names for the dashboard. The guard already
// loaded the member (middleware.MemberFromContext), so with this cache a
// dashboard request reads nothing from the store; a renamed organization
// shows its new name within ttl. At most max names are kept (the cache is
// cleared when full: a demo has a handful of organizations).
type orgNames struct {
	svc *invite.Service
	ttl time.Duration
	max int

	mu    sync.RWMutex // a hit only reads: every dashboard request takes it
	names map[string]orgName
}

type orgName struct {
	name    string
	expires time.Time
}

func newOrgNames(svc *invite.Service, ttl time.Duration) *orgNames {
	return &orgNames{svc: svc, ttl: ttl, max: 10_000, names: map[string]orgName{}}
}

// get returns orgID's name, reading the organization on a miss.
func (c *orgNames) get(ctx context.Context, orgID string) (string, error) {
	now := c.svc.Now()
	c.mu.RLock()
	n, ok := c.names[orgID]
	c.mu.RUnlock()
	if ok && now.Before(n.expires) {
		return n.name, nil
	}
	org, err := c.svc.Organization(ctx, orgID)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if len(c.names) >= c.max {
		clear(c.names)
	}
	c.names[orgID] = orgName{name: org.Name, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return org.Name, nil
}
