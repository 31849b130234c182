package invite

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/store/memstore"
)

// FuzzDecodeInviteRequest feeds arbitrary bodies to the create request's
// decoder, the Service's validation and the JSON API handler. Decoding
// never panics; every rejection is a *FieldError (400 or 422); what passes
// validation is normalized; the handler never answers 5xx.
func FuzzDecodeInviteRequest(f *testing.F) {
	if seed, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "seed-invite-request.json")); err == nil {
		f.Add(seed)
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"email":5}`, `{"email":"a@b.co","roles":[1]}`, `{"email":"A@B.CO","roles":["admin","admin"]}`,
		`{"email":"a@b.co","sendInvitationEmail":true,"sendActivationEmail":false}`,
		`{"email":"a@b.co","metadata":{"ab":"x"}}`, `{"email":"a@b.co","userProfile":{"locale":"de_ch","phoneNumber":"+41441234567"}}`,
		`{"email":"a@b.co"} {}`, `{"email":"a@b.co","unknown":1}`, `{"EMAIL":"a@b.co"}`, "{\"email\":\"a\u0000@b.co\"}",
		`{"email":"a@b.co","returnAcceptLink":true,"sendActivationEmail":false}`, `{"userProfile":null,"metadata":null,"roles":null}`,
	} {
		f.Add([]byte(s))
	}
	svc, err := New(memstore.New(), Config{SecretKey: make([]byte, 32), AcceptURL: "https://app.example.com/accept"})
	if err != nil {
		f.Fatal(err)
	}
	ctx := f.Context()
	if _, _, err := svc.CreateOrganization(ctx, CreateOrganizationRequest{ID: "org_f", Name: "F"}); err != nil {
		f.Fatal(err)
	}
	h, err := NewHandler(svc, func(*http.Request, string, Action) (string, error) { return "usr_fuzz", nil }, HandlerConfig{MaxBodyBytes: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeInviteRequest(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("decode error %v (%T) is not a *FieldError", err, err)
			}
			if st := HTTPStatus(err); st != http.StatusBadRequest && st != http.StatusUnprocessableEntity {
				t.Fatalf("decode error status %d", st)
			}
		} else if err := svc.checkInvite(&req, "", svc.cfg.DefaultRoles); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Code != CodeInvalidArgument || HTTPStatus(err) != http.StatusUnprocessableEntity {
				t.Fatalf("validation error %v (%T) is not a 422 *FieldError", err, err)
			}
		} else {
			if norm, err := NormalizeEmail(req.Email); err != nil || norm != req.Email {
				t.Fatalf("validated email %q is not normalized", req.Email)
			}
			if len(req.Roles) == 0 || len(req.Metadata) > MaxMetadataPairs {
				t.Fatalf("validated request has roles %v, %d metadata pairs", req.Roles, len(req.Metadata))
			}
			for _, r := range req.Roles {
				if !svc.roleSet[r] {
					t.Fatalf("validated request has unknown role %q", r)
				}
			}
		}
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
