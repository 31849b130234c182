package httpx

import (
	"errors"
	"net/http"

	"github.com/invitekit/invitekit/store"
)

// Errors of the sign-in flow (package authflow renders them as pages and
// re-exports the codes as authflow.Code…). They are here so that the one
// table holds every code of the kit with one status.
var (
	ErrMissingToken        = errors.New("invitekit: the invitation link has no token")
	ErrReturnToInvalid     = errors.New("invitekit: return_to is not a relative path")
	ErrStateMissing        = errors.New("invitekit: the sign-in response has no state")
	ErrLoginNotStarted     = errors.New("invitekit: no sign-in was started in this browser")
	ErrStateMismatch       = errors.New("invitekit: the sign-in response's state does not match")
	ErrLoginExpired        = errors.New("invitekit: the sign-in took too long")
	ErrIssuerMismatch      = errors.New("invitekit: the sign-in response came from another issuer")
	ErrProviderError       = errors.New("invitekit: the identity provider returned an error")
	ErrAccessDenied        = errors.New("invitekit: the identity provider refused the sign-in")
	ErrCodeMissing         = errors.New("invitekit: the sign-in response has no code")
	ErrCodeRejected        = errors.New("invitekit: the identity provider rejected the code")
	ErrTokenExchange       = errors.New("invitekit: the token exchange failed")
	ErrIDTokenMissing      = errors.New("invitekit: the token response has no ID token")
	ErrIDTokenExpired      = errors.New("invitekit: the ID token has expired")
	ErrIDTokenAudience     = errors.New("invitekit: the ID token is for another client")
	ErrIDTokenIssuer       = errors.New("invitekit: the ID token is from another issuer")
	ErrIDTokenSignature    = errors.New("invitekit: the ID token's signature is not valid")
	ErrIDTokenInvalid      = errors.New("invitekit: the ID token is not valid")
	ErrIDTokenClaims       = errors.New("invitekit: the ID token's claims cannot be read")
	ErrNonceMismatch       = errors.New("invitekit: the ID token's nonce does not match")
	ErrUserInfoFailed      = errors.New("invitekit: the UserInfo request failed")
	ErrEmailMissing        = errors.New("invitekit: the identity provider sent no email")
	ErrSessionUnavailable  = errors.New("invitekit: no session in request context (wrap the routes with sessions.LoadAndSave)")
	ErrBadRequest          = errors.New("invitekit: bad request")
	ErrProviderUnavailable = errors.New("invitekit: identity provider unavailable")
)

// The ID-token rules of OpenID Connect Core 3.1.3.7 and 3.1.3.8 that
// go-oidc leaves to the relying party, and the UserInfo subject rule
// (5.3.2); authflow checks them after go-oidc's Verify.
var (
	ErrIDTokenAZPMissing       = errors.New("invitekit: the ID token has several audiences but no azp")
	ErrIDTokenAZPMismatch      = errors.New("invitekit: the ID token's azp is another client")
	ErrIDTokenIATMissing       = errors.New("invitekit: the ID token has no iat")
	ErrIDTokenIATFuture        = errors.New("invitekit: the ID token was issued in the future")
	ErrIDTokenTooOld           = errors.New("invitekit: the ID token was issued too long ago")
	ErrIDTokenNotYetValid      = errors.New("invitekit: the ID token is not valid yet (nbf)")
	ErrIDTokenAuthTimeMissing  = errors.New("invitekit: the ID token has no auth_time although max_age was sent")
	ErrIDTokenAuthTimeTooOld   = errors.New("invitekit: the authentication is older than max_age")
	ErrUserInfoSubjectMismatch = errors.New("invitekit: the UserInfo response is about another subject")
)

// signInProblems is the sign-in part of the table (see problems).
var signInProblems = [...]struct {
	err error
	Problem
}{
	{ErrMissingToken, Problem{http.StatusBadRequest, "missing_token", "token", "the invitation link has no token"}},
	{ErrReturnToInvalid, Problem{http.StatusBadRequest, "return_to_invalid", "return_to", "return_to must be a relative path"}},
	{ErrStateMissing, Problem{http.StatusBadRequest, "state_missing", "state", "the sign-in response has no state"}},
	{ErrLoginNotStarted, Problem{http.StatusBadRequest, "login_not_started", "state", "no sign-in was started in this browser"}},
	{ErrStateMismatch, Problem{http.StatusBadRequest, "state_mismatch", "state", "the sign-in response does not belong to this browser"}},
	{ErrLoginExpired, Problem{http.StatusBadRequest, "login_expired", "state", "the sign-in took too long"}},
	{ErrIssuerMismatch, Problem{http.StatusBadRequest, "issuer_mismatch", "iss", "the sign-in response came from another identity provider"}},
	{ErrProviderError, Problem{http.StatusBadRequest, "provider_error", "error", "the identity provider did not complete the sign-in"}},
	{ErrAccessDenied, Problem{http.StatusForbidden, "access_denied", "error", "the identity provider refused the sign-in"}},
	{ErrCodeMissing, Problem{http.StatusBadRequest, "code_missing", "code", "the sign-in response has no code"}},
	{ErrCodeRejected, Problem{http.StatusBadRequest, "code_rejected", "code", "the identity provider rejected the code"}},
	{ErrTokenExchange, Problem{http.StatusBadGateway, "token_exchange_failed", "", "the identity provider's token endpoint failed"}},
	{ErrIDTokenMissing, Problem{http.StatusBadGateway, "id_token_missing", "id_token", "the identity provider sent no ID token"}},
	{ErrIDTokenExpired, Problem{http.StatusBadRequest, "id_token_expired", "id_token", "the ID token has expired"}},
	{ErrIDTokenAudience, Problem{http.StatusBadRequest, "id_token_audience", "aud", "the ID token is for another client"}},
	{ErrIDTokenIssuer, Problem{http.StatusBadRequest, "id_token_issuer", "iss", "the ID token is from another issuer"}},
	{ErrIDTokenSignature, Problem{http.StatusBadRequest, "id_token_signature", "id_token", "the ID token's signature is not valid"}},
	{ErrIDTokenInvalid, Problem{http.StatusBadRequest, "id_token_invalid", "id_token", "the ID token is not valid"}},
	{ErrIDTokenClaims, Problem{http.StatusBadGateway, "id_token_claims", "id_token", "the ID token's claims cannot be read"}},
	{ErrNonceMismatch, Problem{http.StatusBadRequest, "nonce_mismatch", "nonce", "the ID token does not belong to this sign-in"}},
	{ErrUserInfoFailed, Problem{http.StatusBadGateway, "userinfo_failed", "", "the identity provider's UserInfo endpoint failed"}},
	{ErrEmailMissing, Problem{http.StatusForbidden, "email_missing", "email", "the identity provider sent no email address"}},
	{ErrSessionUnavailable, Problem{http.StatusInternalServerError, "session_unavailable", "", "internal error"}},
	{ErrBadRequest, Problem{http.StatusBadRequest, "bad_request", "", "bad request"}},
	{ErrProviderUnavailable, Problem{http.StatusServiceUnavailable, "provider_unavailable", "", "the identity provider cannot be reached"}},
	{ErrIDTokenAZPMissing, Problem{http.StatusBadRequest, "id_token_azp_missing", "azp", "the ID token has several audiences but no authorized party"}},
	{ErrIDTokenAZPMismatch, Problem{http.StatusBadRequest, "id_token_azp_mismatch", "azp", "the ID token was issued to another client"}},
	{ErrIDTokenIATMissing, Problem{http.StatusBadRequest, "id_token_iat_missing", "iat", "the ID token has no issue time"}},
	{ErrIDTokenIATFuture, Problem{http.StatusBadRequest, "id_token_iat_future", "iat", "the ID token was issued in the future"}},
	{ErrIDTokenTooOld, Problem{http.StatusBadRequest, "id_token_too_old", "iat", "the ID token was issued too long ago"}},
	{ErrIDTokenNotYetValid, Problem{http.StatusBadRequest, "id_token_not_yet_valid", "nbf", "the ID token is not valid yet"}},
	{ErrIDTokenAuthTimeMissing, Problem{http.StatusBadRequest, "id_token_auth_time_missing", "auth_time", "the ID token does not say when you signed in"}},
	{ErrIDTokenAuthTimeTooOld, Problem{http.StatusBadRequest, "id_token_auth_time_too_old", "auth_time", "the sign-in at the identity provider is too old"}},
	{ErrUserInfoSubjectMismatch, Problem{http.StatusBadRequest, "userinfo_subject_mismatch", "sub", "the UserInfo response is about another account"}},
	// Bound identities (invite.Service.SignIn and AcceptInvitation).
	{store.ErrIdentityBound, Problem{http.StatusConflict, "identity_bound", "sub", "the account is linked to another sign-in at this identity provider"}},
	{store.ErrEmailLinkUntrusted, Problem{http.StatusForbidden, "email_link_untrusted", "iss", "this identity provider may not link a sign-in to an account by email"}},
}
