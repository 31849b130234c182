package scim_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store"
)

// TestUserNameUnique: a userName is one member's within the organization,
// compared case-insensitively, whether it was recorded or is the member's
// email (a member provisioned with userName = email has no record: one
// write less per user); a refused create or rename is 409 uniqueness and
// changes nothing; once a member is renamed, their email is free as
// another's userName.
func TestUserNameUnique(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, "org_a")
		ctx := context.Background()
		create := func(body string) resp {
			t.Helper()
			return e.call(t, "POST", "/Users", body)
		}
		r := create(`{"userName":"ann@example.com"}`)
		require.Equal(t, 201, r.status, r.raw)
		ann := r.body["id"].(string)
		_, err := st.(store.Directory).DirectoryUserName(ctx, "org_a", ann)
		require.ErrorIs(t, err, store.ErrNotFound, "userName = email is not recorded")
		assert.Equal(t, "ann@example.com", e.call(t, "GET", "/Users/"+ann, "").body["userName"])

		// Ann's email as another person's userName: taken.
		for _, name := range []string{"ann@example.com", "ANN@Example.com"} {
			r = create(`{"userName":"` + name + `","emails":[{"value":"bob@example.com","primary":true}]}`)
			assert.Equal(t, 409, r.status, r.raw)
			assert.Equal(t, "uniqueness", scimType(r))
		}
		r = create(`{"userName":"carl-x","emails":[{"value":"carl@example.com","primary":true}]}`)
		require.Equal(t, 201, r.status, r.raw)
		r = create(`{"userName":"bob@example.com"}`)
		require.Equal(t, 201, r.status, r.raw)
		bob := r.body["id"].(string)

		// Renames onto a recorded name or onto a member's email: taken.
		for _, name := range []string{"CARL-X", "ann@example.com", "carl@example.com"} {
			r = e.call(t, "PATCH", "/Users/"+bob, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"`+name+`"}]}`)
			if name == "carl@example.com" {
				// Carl is known as carl-x: his email is nobody's userName.
				require.Equal(t, 200, r.status, r.raw)
				r = e.call(t, "PATCH", "/Users/"+bob, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"bob@example.com"}]}`)
				require.Equal(t, 200, r.status, r.raw)
				continue
			}
			assert.Equal(t, 409, r.status, "%s: %s", name, r.raw)
			assert.Equal(t, "uniqueness", scimType(r))
		}
		assert.Equal(t, "bob@example.com", e.call(t, "GET", "/Users/"+bob, "").body["userName"])

		// Ann renamed: her email is free for Bob.
		r = e.call(t, "PATCH", "/Users/"+ann, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"ann-new"}]}`)
		require.Equal(t, 200, r.status, r.raw)
		r = e.call(t, "PATCH", "/Users/"+bob, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"ann@example.com"}]}`)
		require.Equal(t, 200, r.status, r.raw)
		r = e.call(t, "GET", `/Users?filter=userName+eq+%22ann%40example.com%22`, "")
		require.Equal(t, 1, total(t, r))
		assert.Equal(t, bob, r.body["Resources"].([]any)[0].(map[string]any)["id"])
		r = e.call(t, "GET", `/Users?filter=userName+eq+%22ANN-new%22`, "")
		require.Equal(t, 1, total(t, r))
		assert.Equal(t, ann, r.body["Resources"].([]any)[0].(map[string]any)["id"])
	})
}
