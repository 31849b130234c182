package httpx

import (
	"errors"
	"net/http"
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
}
