package scim_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/scim"
)

// TestRateLimit: Config.RateLimit bounds each organization's requests
// (all its tokens together): beyond it 429 with Retry-After and an RFC
// 7644 error; another organization and unauthenticated requests are not
// counted against it; the budget refills with time.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, invitetest.OpenMem(t), "org_a")
	e.Org(t, "org_b")
	h, err := scim.New(scim.Config{Service: e.Svc, RateLimit: scim.RateLimit{Events: 2, Per: time.Minute, Burst: 2}})
	require.NoError(t, err)
	e.srv.Config.Handler = h
	ctx := context.Background()
	second, _, err := e.Svc.CreateDirectoryToken(ctx, "org_a", "entra", "usr_admin")
	require.NoError(t, err)
	other, _, err := e.Svc.CreateDirectoryToken(ctx, "org_b", "okta", "usr_admin")
	require.NoError(t, err)

	for range 3 {
		assert.Equal(t, 401, e.do(t, "scim_wrong", "GET", "/Users", "").status, "unauthenticated: not counted")
	}
	assert.Equal(t, 200, e.call(t, "GET", "/Users", "").status)
	assert.Equal(t, 200, e.do(t, second, "GET", "/ServiceProviderConfig", "").status)
	r := e.call(t, "GET", "/Users", "")
	require.Equal(t, 429, r.status, "the organization's third request, with either token")
	assert.Equal(t, "30", r.header.Get("Retry-After"), "one request every 30 s")
	assert.Equal(t, []any{scim.SchemaError}, r.body["schemas"])
	assert.Equal(t, "429", r.body["status"])
	assert.Equal(t, 429, e.do(t, second, "GET", "/Users", "").status)
	assert.Equal(t, 200, e.do(t, other, "GET", "/Users", "").status, "another organization has its own budget")

	e.Clock.Advance(30 * time.Second)
	assert.Equal(t, 200, e.call(t, "GET", "/Users", "").status, "refilled")
	assert.Equal(t, 429, e.call(t, "GET", "/Users", "").status)

	off, err := scim.New(scim.Config{Service: e.Svc, RateLimit: scim.RateLimit{Off: true}})
	require.NoError(t, err)
	e.srv.Config.Handler = off
	for range 5 {
		require.Equal(t, 200, e.call(t, "GET", "/Users", "").status, "Off")
	}
	_, err = scim.New(scim.Config{Service: e.Svc, RateLimit: scim.RateLimit{Events: -1}})
	require.Error(t, err)
}
