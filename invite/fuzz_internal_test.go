package invite

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/invitekit/invitekit/store/memstore"
)

// FuzzDecodeInviteRequest feeds arbitrary bodies to the create request's
// decoder and the Service's validation. Decoding never panics; every
// rejection is a *FieldError (malformed or invalid); what passes
// validation is normalized. (inviteapi's FuzzCreateHandler drives the
// same bodies through the JSON API.)
func FuzzDecodeInviteRequest(f *testing.F) {
	if seed, err := os.ReadFile(filepath.Join("testdata", "seed-invite-request.json")); err == nil {
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
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeInviteRequest(body)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("decode error %v (%T) is not a *FieldError", err, err)
			}
			if fe.Code != CodeMalformedRequest && fe.Code != CodeInvalidArgument {
				t.Fatalf("decode error code %q", fe.Code)
			}
		} else if err := svc.checkInvite(&req, "", svc.cfg.DefaultRoles); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Code != CodeInvalidArgument {
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
	})
}
