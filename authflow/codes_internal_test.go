package authflow

import (
	"testing"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/store"
)

// The page codes are the table's: authflow.Code… constants name the same
// code, with the same status, as the kit's one error table.
func TestCodesAreTheTables(t *testing.T) {
	for code, kind := range map[string]error{
		CodeMissingToken: httpx.ErrMissingToken, CodeInvalidToken: store.ErrInvalidToken,
		CodeInviteExpired: store.ErrInviteExpired, CodeInviteRevoked: store.ErrInviteRevoked, CodeInviteUsed: store.ErrInviteUsed,
		CodeReturnToInvalid: httpx.ErrReturnToInvalid, CodeStateMissing: httpx.ErrStateMissing,
		CodeLoginNotStarted: httpx.ErrLoginNotStarted, CodeStateMismatch: httpx.ErrStateMismatch,
		CodeLoginExpired: httpx.ErrLoginExpired, CodeIssuerMismatch: httpx.ErrIssuerMismatch,
		CodeProviderError: httpx.ErrProviderError, CodeAccessDenied: httpx.ErrAccessDenied,
		CodeCodeMissing: httpx.ErrCodeMissing, CodeCodeRejected: httpx.ErrCodeRejected,
		CodeTokenExchange: httpx.ErrTokenExchange, CodeIDTokenMissing: httpx.ErrIDTokenMissing,
		CodeIDTokenExpired: httpx.ErrIDTokenExpired, CodeIDTokenAudience: httpx.ErrIDTokenAudience,
		CodeIDTokenIssuer: httpx.ErrIDTokenIssuer, CodeIDTokenSignature: httpx.ErrIDTokenSignature,
		CodeIDTokenInvalid: httpx.ErrIDTokenInvalid, CodeNonceMismatch: httpx.ErrNonceMismatch,
		CodeUserInfoFailed: httpx.ErrUserInfoFailed, CodeEmailMissing: httpx.ErrEmailMissing,
		CodeEmailMismatch: store.ErrEmailMismatch, CodeEmailNotVerified: store.ErrEmailNotVerified,
		CodeIdentityTaken: store.ErrIdentityTaken, CodeInvitationRequired: store.ErrNoMembership,
		CodeSessionUnavailable: httpx.ErrSessionUnavailable, CodeMethodNotAllowed: httpx.ErrMethodNotAllowed,
		CodeBadRequest: httpx.ErrBadRequest, CodeInternal: errInternal, CodeProviderUnavailable: httpx.ErrProviderUnavailable,
		CodeRateLimited:       httpx.ErrRateLimited,
		CodeIDTokenAZPMissing: httpx.ErrIDTokenAZPMissing, CodeIDTokenAZPMismatch: httpx.ErrIDTokenAZPMismatch,
		CodeIDTokenIATMissing: httpx.ErrIDTokenIATMissing, CodeIDTokenIATFuture: httpx.ErrIDTokenIATFuture,
		CodeIDTokenTooOld: httpx.ErrIDTokenTooOld, CodeIDTokenNotYetValid: httpx.ErrIDTokenNotYetValid,
		CodeIDTokenAuthTimeMissing: httpx.ErrIDTokenAuthTimeMissing, CodeIDTokenAuthTimeTooOld: httpx.ErrIDTokenAuthTimeTooOld,
		CodeUserInfoSubjectMismatch: httpx.ErrUserInfoSubjectMismatch, CodeIdentityBound: store.ErrIdentityBound,
		CodeEmailLinkUntrusted: store.ErrEmailLinkUntrusted,
	} {
		e := pageError(kind, "", "m", nil)
		if e.Code != code {
			t.Errorf("%v: page code %q, constant %q", kind, e.Code, code)
		}
		if e.Status != httpx.Status(kind) {
			t.Errorf("%v: page status %d, table %d", kind, e.Status, httpx.Status(kind))
		}
	}
}
