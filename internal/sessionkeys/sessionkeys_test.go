package sessionkeys

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestKeysAreStable pins the values: they live in session stores, so a
// rename would sign everyone out (or lose logins in flight) at deploy.
func TestKeysAreStable(t *testing.T) {
	want := map[string]string{
		UserID:            "invitekit.user_id",
		SessionGeneration: "invitekit.session_generation",
		InvitationID:      "invitekit.invitation_id",
		OrgID:             "invitekit.org_id",
		InvitationEmail:   "invitekit.invitation_email",
		JoinAsSignedIn:    "invitekit.join_as_signed_in",
		OIDCState:         "invitekit.oidc_state",
		OIDCNonce:         "invitekit.oidc_nonce",
		OIDCVerifier:      "invitekit.oidc_verifier",
		ReturnTo:          "invitekit.return_to",
		LoginStarted:      "invitekit.login_started",
		IDToken:           "invitekit.id_token",
		ForceLogin:        "invitekit.force_login",
		SSOConnection:     "invitekit.sso_connection",
		SSOOrg:            "invitekit.sso_org",
		LoginConnection:   "invitekit.login_connection",
		LoginOrg:          "invitekit.login_org",
		JoinEmail:         "invitekit.join_email",
		JoinOrg:           "invitekit.join_org",
	}
	for got, w := range want {
		if got != w {
			t.Errorf("key %q, want %q", got, w)
		}
	}
	if len(want) != len(All) {
		t.Fatalf("%d distinct keys pinned, All has %d", len(want), len(All))
	}
}

// TestAllListsEveryKeyOnce parses this package's source: every constant
// must be in All, and no two keys may share a value.
func TestAllListsEveryKeyOnce(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "sessionkeys.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			for i, v := range s.(*ast.ValueSpec).Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					t.Fatalf("constant %s is not a string literal", s.(*ast.ValueSpec).Names[i])
				}
				val, _ := strconv.Unquote(lit.Value)
				consts = append(consts, val)
			}
		}
	}
	if len(consts) == 0 {
		t.Fatal("no constants found")
	}
	for _, c := range consts {
		if !slices.Contains(All, c) {
			t.Errorf("key %q is missing from All", c)
		}
	}
	seen := map[string]bool{}
	for _, k := range All {
		if seen[k] {
			t.Errorf("key %q listed twice (two features would share it)", k)
		}
		seen[k] = true
		if !strings.HasPrefix(k, "invitekit.") {
			t.Errorf("key %q lacks the invitekit. prefix (it could clash with the app's own keys)", k)
		}
	}
	if len(All) != len(consts) {
		t.Errorf("All has %d keys, the package declares %d", len(All), len(consts))
	}
}
