package authflow

import (
	"errors"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/invite"
)

// TestMapClaimsName: a connection's name claim is read from the ID token,
// else UserInfo, trimmed; a name that is missing, whose UserInfo read
// failed, or that breaks the text rule is left out without refusing the
// sign-in; a UserInfo answer about another subject is refused.
func TestMapClaimsName(t *testing.T) {
	long := strings.Repeat("n", invite.MaxDisplayNameLen+1)
	answered := func(claims map[string]any) *userInfo { return &userInfo{done: true, claims: claims} }
	tests := []struct {
		name      string
		nameClaim string
		idToken   map[string]any
		ui        *userInfo
		want      string
		wantErr   error
	}{
		{"ID token", "", map[string]any{"name": " Pat Lee "}, answered(map[string]any{"name": "From UserInfo"}), "Pat Lee", nil},
		{"UserInfo", "", map[string]any{}, answered(map[string]any{"name": "From UserInfo"}), "From UserInfo", nil},
		{"blank in the ID token", "", map[string]any{"name": "  "}, answered(map[string]any{"name": "From UserInfo"}), "From UserInfo", nil},
		{"custom claim", "display_name", map[string]any{"name": "Not this", "display_name": "Pat (Okta)"}, answered(nil), "Pat (Okta)", nil},
		{"missing", "", map[string]any{}, answered(map[string]any{}), "", nil},
		{"not a string", "", map[string]any{"name": 42}, answered(map[string]any{"name": []any{"x"}}), "", nil},
		{"UserInfo failed", "", map[string]any{}, &userInfo{done: true, err: errors.New("503")}, "", nil},
		{"control character", "", map[string]any{"name": "Pat\x00Lee"}, answered(nil), "", nil},
		{"line break", "", map[string]any{"name": "Pat\nLee"}, answered(nil), "", nil},
		{"too long", "", map[string]any{"name": long}, answered(nil), "", nil},
		{"longest", "", map[string]any{"name": long[1:]}, answered(nil), long[1:], nil},
		{"UserInfo about another subject", "", map[string]any{}, &userInfo{done: true, mismatch: pageError(httpx.ErrUserInfoSubjectMismatch, "sub", "x", nil)}, "", httpx.ErrUserInfoSubjectMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := &ssoConn{client: invite.SSOClient{EmailClaim: "email", NameClaim: tc.nameClaim}}
			id, err := mapClaims(conn, identity{email: "pat@example.com"}, tc.idToken, tc.ui)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || id.name != tc.want || id.email != "pat@example.com" {
				t.Fatalf("got %+v %v, want name %q", id, err, tc.want)
			}
		})
	}
	// With a mapped email claim, both come from their claims.
	conn := &ssoConn{client: invite.SSOClient{EmailClaim: "upn", NameClaim: "name"}}
	id, err := mapClaims(conn, identity{}, map[string]any{"upn": "pat@acme.example", "name": "Pat"}, answered(nil))
	if err != nil || id.email != "pat@acme.example" || !id.emailVerified || id.name != "Pat" {
		t.Fatalf("upn: %+v %v", id, err)
	}
}
