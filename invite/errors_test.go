package invite_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/invitekit/invitekit/invite"
)

func TestHTTPStatusAndErrorCode(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
		field  string
	}{
		{invite.ErrInvalidToken, 404, "invalid_token", ""},
		{invite.ErrInviteExpired, 410, "invite_expired", ""},
		{invite.ErrInviteUsed, 410, "invite_used", ""},
		{invite.ErrInviteRevoked, 410, "invite_revoked", ""},
		{invite.ErrAlreadyInvited, 409, "already_invited", ""},
		{invite.ErrAlreadyMember, 409, "already_member", ""},
		{invite.ErrExternalIDTaken, 409, "external_id_taken", ""},
		{invite.ErrOrganizationExists, 409, "organization_exists", ""},
		{invite.ErrIdentityTaken, 409, "identity_taken", ""},
		{invite.ErrWrongStatus, 409, "wrong_status", ""},
		{invite.ErrNotFound, 404, "not_found", ""},
		{invite.ErrEmailMismatch, 403, "email_mismatch", ""},
		{invite.ErrEmailNotVerified, 403, "email_not_verified", ""},
		{invite.ErrNoMembership, 403, "no_membership", ""},
		{invite.ErrUnauthenticated, 401, "unauthenticated", ""},
		{invite.ErrPermissionDenied, 403, "permission_denied", ""},
		{invite.ErrCrossOrigin, 403, "cross_origin", ""},
		{invite.ErrBodyTooLarge, 413, "body_too_large", ""},
		{invite.ErrUnsupportedMediaType, 415, "unsupported_media_type", ""},
		{invite.ErrMethodNotAllowed, 405, "method_not_allowed", ""},
		{&invite.FieldError{Code: invite.CodeInvalidArgument, Field: "email", Message: "m"}, 422, "invalid_argument", "email"},
		{&invite.FieldError{Code: invite.CodeMalformedRequest, Field: "roles", Message: "m"}, 400, "malformed_request", "roles"},
		{&invite.PolicyError{Reason: "no"}, 403, "policy_refused", ""},
		{fmt.Errorf("wrapped: %w", invite.ErrAlreadyInvited), 409, "already_invited", ""},
		{errors.New("database is on fire"), 500, "internal", ""},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if got := invite.HTTPStatus(tt.err); got != tt.status {
				t.Errorf("HTTPStatus = %d, want %d", got, tt.status)
			}
			if code, field := invite.ErrorCode(tt.err); code != tt.code || field != tt.field {
				t.Errorf("ErrorCode = %q %q, want %q %q", code, field, tt.code, tt.field)
			}
		})
	}
	if invite.HTTPStatus(nil) != 200 {
		t.Error("HTTPStatus(nil) != 200")
	}
}
