package scim_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/internal/invitetest"
)

// TestMethods: a method a collection or a resource does not serve is 405
// with the Allow header of what it does serve, and changes nothing.
func TestMethods(t *testing.T) {
	e := newEnv(t, invitetest.OpenMem(t), "org_a")
	r := e.call(t, "POST", "/Users", `{"userName":"ann@example.com"}`)
	require.Equal(t, 201, r.status, r.raw)
	uid := r.body["id"].(string)
	r = e.call(t, "POST", "/Groups", `{"displayName":"Eng"}`)
	require.Equal(t, 201, r.status, r.raw)
	gid := r.body["id"].(string)
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/Users", "GET, POST"},
		{"PATCH", "/Users", "GET, POST"},
		{"DELETE", "/Groups", "GET, POST"},
		{"POST", "/Users/" + uid, "GET, PUT, PATCH, DELETE"},
		{"POST", "/Groups/" + gid, "GET, PUT, PATCH, DELETE"},
		{"OPTIONS", "/Groups/" + gid, "GET, PUT, PATCH, DELETE"},
	} {
		r := e.call(t, tc.method, tc.path, "")
		assert.Equal(t, 405, r.status, "%s %s", tc.method, tc.path)
		assert.Equal(t, tc.allow, r.header.Get("Allow"), "%s %s", tc.method, tc.path)
	}
	assert.Equal(t, 200, e.call(t, "GET", "/Users/"+uid, "").status)
	assert.Equal(t, 200, e.call(t, "GET", "/Groups/"+gid, "").status)
}
