package inviteapi_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store/memstore"
)

// FuzzCreateHandler feeds arbitrary bodies to the JSON API's create route:
// it never answers 5xx, and never panics.
func FuzzCreateHandler(f *testing.F) {
	if seed, err := os.ReadFile(filepath.Join("testdata", "seed-invite-request.json")); err == nil {
		f.Add(seed)
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"email":5}`, `{"email":"a@b.co","roles":[1]}`, `{"email":"A@B.CO","roles":["admin","admin"]}`,
		`{"email":"a@b.co","sendInvitationEmail":true,"sendActivationEmail":false}`,
		`{"email":"a@b.co"} {}`, `{"email":"a@b.co","unknown":1}`, "{\"email\":\"a\u0000@b.co\"}",
		`{"email":"a@b.co","metadata":{"plan":"x\u0000"}}`, "{\"email\":\"a@b.co\",\"userProfile\":{\"firstName\":\"Jos\xe9\"}}",
	} {
		f.Add([]byte(s))
	}
	svc, err := invite.New(memstore.New(), invite.Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example.com/accept"})
	if err != nil {
		f.Fatal(err)
	}
	if _, _, err := svc.CreateOrganization(f.Context(), invite.CreateOrganizationRequest{ID: "org_f", Name: "F"}); err != nil {
		f.Fatal(err)
	}
	allow := func(*http.Request, string, inviteapi.Action) (string, error) { return "usr_fuzz", nil }
	h, err := inviteapi.NewHandler(svc, allow, inviteapi.HandlerConfig{MaxBodyBytes: 1 << 16, RateLimits: noLimits})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/organizations/org_f/users", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		switch rec.Code {
		case http.StatusCreated, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("handler answered %d: %s", rec.Code, rec.Body)
		}
	})
}
