// Package sessionkeys names every scs session key invitekit reads or
// writes, in one place, so that packages sharing a session (middleware
// reads what authflow writes) cannot drift apart and no two features can
// pick the same key.
//
// Values are strings (scs's gob codec needs no registration). The keys are
// stored in session stores, so renaming one signs every user out or drops
// logins in flight: they are part of the kit's compatibility promise.
// Apps use the exported aliases middleware.SessionKeyUserID,
// authflow.SessionKeyInvitationID and authflow.SessionKeyOrgID.
package sessionkeys

const (
	// UserID holds the signed-in user's id (a store.User ID). authflow
	// writes it after a login; middleware reads it on every request.
	UserID = "invitekit.user_id"
	// SessionGeneration holds the user's store.User.SessionGeneration at
	// login, in decimal. authflow writes it with UserID; middleware refuses
	// the session once the user's generation is higher ("sign out
	// everywhere") and reads a missing one as 0.
	SessionGeneration = "invitekit.session_generation"
	// InvitationID holds the pending invitation's id (never the token).
	InvitationID = "invitekit.invitation_id"
	// OrgID holds the organization just joined, or for a returning member
	// their first ACTIVE organization.
	OrgID = "invitekit.org_id"

	// SSOConnection holds the id of the organization's own SSO connection
	// (store.SSOConnection) the session signed in through, and SSOOrg that
	// organization; both empty for the app's default provider. authflow
	// writes them with UserID; middleware admits such a session to SSOOrg
	// and to organizations that trust the connection only, and to an
	// organization that enforces its connection only through it.
	SSOConnection = "invitekit.sso_connection"
	SSOOrg        = "invitekit.sso_org"

	// The rest are authflow's own.

	// InvitationEmail is the invited email, sent as login_hint.
	InvitationEmail = "invitekit.invitation_email"
	// JoinAsSignedIn is "1" when the person chose "join with the account I
	// sign in with".
	JoinAsSignedIn = "invitekit.join_as_signed_in"
	// OIDCState, OIDCNonce and OIDCVerifier belong to the login in flight.
	OIDCState    = "invitekit.oidc_state"
	OIDCNonce    = "invitekit.oidc_nonce"
	OIDCVerifier = "invitekit.oidc_verifier"
	// ReturnTo is where the login in flight lands (a relative path).
	ReturnTo = "invitekit.return_to"
	// LoginStarted is when the login in flight started, in unix seconds.
	LoginStarted = "invitekit.login_started"
	// IDToken is the raw ID token, sent as id_token_hint at logout.
	IDToken = "invitekit.id_token"
	// ForceLogin is "1" when the next login must send prompt=login (the
	// last sign-in was with the wrong account).
	ForceLogin = "invitekit.force_login"
	// JoinEmail is the verified email of a sign-in that found no
	// membership, kept for the join page (the person is not signed in
	// to the app: no UserID).
	JoinEmail = "invitekit.join_email"
	// JoinOrg is the organization an app's join link named before the
	// person signed in.
	JoinOrg = "invitekit.join_org"
	// LoginConnection and LoginOrg name the SSO connection (and its
	// organization) of the login in flight; empty for the default provider.
	LoginConnection = "invitekit.login_connection"
	LoginOrg        = "invitekit.login_org"
)

// All lists every key above.
var All = []string{
	UserID, SessionGeneration, InvitationID, OrgID,
	InvitationEmail, JoinAsSignedIn, OIDCState, OIDCNonce, OIDCVerifier,
	ReturnTo, LoginStarted, IDToken, ForceLogin, JoinEmail, JoinOrg,
	SSOConnection, SSOOrg, LoginConnection, LoginOrg,
}
