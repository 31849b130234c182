package inviteapi_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/csvimport"
	"github.com/invitekit/invitekit/invite/inviteapi"
	"github.com/invitekit/invitekit/store"
)

// TestProblemOf is the error table as the API's users see it: every
// error of the Service, the stores, bulk import and the HTTP layer maps
// to one status, code and field.
func TestProblemOf(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
		field  string
	}{
		{invite.ErrInvalidToken, 404, "invalid_token", "token"},
		{invite.ErrInviteExpired, 410, "invite_expired", "token"},
		{invite.ErrInviteUsed, 410, "invite_used", "token"},
		{invite.ErrInviteRevoked, 410, "invite_revoked", "token"},
		{invite.ErrAlreadyInvited, 409, "already_invited", "email"},
		{invite.ErrAlreadyMember, 409, "already_member", "email"},
		{invite.ErrExternalIDTaken, 409, "external_id_taken", "externalId"},
		{invite.ErrOrganizationExists, 409, "organization_exists", "id"},
		{invite.ErrIdentityTaken, 409, "identity_taken", "sub"},
		{invite.ErrWrongStatus, 409, "wrong_status", ""},
		{invite.ErrLastAdmin, 409, "last_admin", ""},
		{invite.ErrNotFound, 404, "not_found", ""},
		{invite.ErrEmailMismatch, 403, "email_mismatch", "email"},
		{invite.ErrEmailNotVerified, 403, "email_not_verified", "email_verified"},
		{invite.ErrNoMembership, 403, "invitation_required", ""},
		{store.ErrInvalidCursor, 422, "invalid_argument", "pageToken"},
		{inviteapi.ErrUnauthenticated, 401, "unauthenticated", ""},
		{inviteapi.ErrPermissionDenied, 403, "permission_denied", ""},
		{inviteapi.ErrCrossOrigin, 403, "cross_origin", ""},
		{inviteapi.ErrBodyTooLarge, 413, "body_too_large", ""},
		{inviteapi.ErrUnsupportedMediaType, 415, "unsupported_media_type", ""},
		{inviteapi.ErrMethodNotAllowed, 405, "method_not_allowed", ""},
		{inviteapi.ErrBulkBusy, 429, "too_many_imports", ""},
		{invite.ErrBulkBadFormat, 415, "unsupported_media_type", "format"},
		{&csvimport.LimitError{Err: csvimport.ErrTooLarge, Limit: 1 << 20}, 413, "too_large", "file"},
		{&csvimport.LimitError{Err: csvimport.ErrTooManyRows, Limit: 10}, 413, "too_many_rows", "file"},
		{&csvimport.HeaderError{Column: "emial"}, 422, "bad_header", "emial"},
		{&invite.FieldError{Code: invite.CodeInvalidArgument, Field: "email", Message: "m"}, 422, "invalid_argument", "email"},
		{&invite.FieldError{Code: invite.CodeMalformedRequest, Field: "roles", Message: "m"}, 400, "malformed_request", "roles"},
		{&invite.PolicyError{Reason: "no"}, 403, "policy_refused", ""},
		{fmt.Errorf("wrapped: %w", invite.ErrAlreadyInvited), 409, "already_invited", "email"},
		{fmt.Errorf("store said: %w", store.ErrLastRoleHolder), 409, "last_admin", ""},
		{errors.New("database is on fire"), 500, "internal", ""},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			p := inviteapi.ProblemOf(tt.err)
			if p.Status != tt.status || p.Code != tt.code || p.Field != tt.field || p.Message == "" {
				t.Errorf("ProblemOf(%v) = %+v, want %d %q %q with a message", tt.err, p, tt.status, tt.code, tt.field)
			}
			rec := httptest.NewRecorder()
			inviteapi.WriteError(rec, tt.err)
			if rec.Code != tt.status {
				t.Errorf("WriteError status %d", rec.Code)
			}
		})
	}
	if inviteapi.ProblemOf(nil).Status != http.StatusOK {
		t.Error("ProblemOf(nil) is not 200")
	}
	if p := inviteapi.ProblemOf(errors.New("secret dsn=postgres://u:pw@h")); p.Message != "internal error" {
		t.Errorf("an unknown error shows %q", p.Message)
	}
}

// The Service's errors are the store's: one value, not a copy mapped by
// a switch.
func TestServiceErrorsAreStoreErrors(t *testing.T) {
	for _, pair := range [][2]error{
		{invite.ErrNotFound, store.ErrNotFound},
		{invite.ErrAlreadyMember, store.ErrAlreadyMember},
		{invite.ErrLastAdmin, store.ErrLastRoleHolder},
		{invite.ErrInviteUsed, store.ErrInviteUsed},
		{invite.ErrOrganizationExists, store.ErrOrganizationExists},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%v and %v are different values", pair[0], pair[1])
		}
	}
}
