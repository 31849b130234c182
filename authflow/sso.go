package authflow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/invitekit/invitekit/authflow/ssocheck"
	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/sessionkeys"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// Enterprise SSO: an organization's own OpenID Connect connection
// (invite.Service.SaveSSOConnection). Each connection gets its own
// provider, discovered on first use with the same backoff as the app's
// provider (Config.Issuer), and its own JWKS cache (go-oidc's, per
// provider); a connection that cannot be reached answers 503 for its
// organization's sign-ins only.

// ssoRemotes keeps one lazily discovered provider per organization's
// connection. The zero value is ready; it is safe for concurrent use.
type ssoRemotes struct {
	mu sync.Mutex
	m  map[string]*ssoConn // organization id →
}

// ssoConn is an organization's connection with its provider.
type ssoConn struct {
	version string // connection id and update time: a changed connection is discovered anew
	client  invite.SSOClient
	remote  *lazyRemote
}

func (c *ssoConn) id() string    { return c.client.Connection.ID }
func (c *ssoConn) orgID() string { return c.client.Connection.OrganizationID }

// connection returns orgID's connection, or nil when it has none (or the
// store has no SSO, or orgID is not an id): sign-in then goes through the
// app's provider.
func (f *Flow) connection(ctx context.Context, orgID string) (*ssoConn, error) {
	if orgID == "" || store.TextProblem(orgID, store.MaxIDLen, store.TextLine) != "" {
		return nil, nil
	}
	cl, err := f.svc.SSOClient(ctx, orgID)
	var fe *store.FieldError
	switch {
	case errors.Is(err, invite.ErrNotFound), errors.Is(err, invite.ErrSSOUnsupported), errors.As(err, &fe):
		return nil, nil
	case err != nil:
		return nil, err
	}
	version := cl.Connection.ID + "@" + cl.Connection.UpdateTime.Format(time.RFC3339Nano)
	f.sso.mu.Lock()
	defer f.sso.mu.Unlock()
	if c := f.sso.m[orgID]; c != nil && c.version == version {
		return c, nil // shared and never modified (a saved secret changes the version)
	}
	cfg := f.cfg
	cfg.Provider, cfg.Issuer, cfg.EndSessionEndpoint = nil, cl.Connection.Issuer, ""
	cfg.ClientID, cfg.ClientSecret, cfg.Scopes = cl.Connection.ClientID, cl.ClientSecret, cl.Scopes
	c := &ssoConn{version: version, client: cl, remote: newLazyRemote(cfg)}
	if f.sso.m == nil {
		f.sso.m = map[string]*ssoConn{}
	}
	f.sso.m[orgID] = c
	return c, nil
}

// remoteFor returns the provider of conn (the app's when nil), or a 503
// page when it cannot be reached.
func (f *Flow) remoteFor(ctx context.Context, conn *ssoConn) (*remote, error) {
	if conn == nil {
		return f.remoteOrPage(ctx)
	}
	rem, err := conn.remote.get(ctx)
	if err != nil {
		return nil, pageError(httpx.ErrProviderUnavailable, "",
			"The sign-in service of your organization ("+conn.client.Connection.Name+") cannot be reached right now, so signing in is not possible at the moment. Please try again in a minute.", err)
	}
	return rem, nil
}

// clientID is the client the ID token must be for.
func (f *Flow) clientID(conn *ssoConn) string {
	if conn == nil {
		return f.cfg.ClientID
	}
	return conn.client.Connection.ClientID
}

// issuerOf is the issuer the callback's RFC 9207 iss must name.
func (f *Flow) issuerOf(conn *ssoConn) string {
	if conn == nil {
		return f.cfg.Issuer
	}
	return conn.client.Connection.Issuer
}

// loginConnection is the connection of the login in flight: the one it
// started with, which must still be the organization's (a connection
// changed or removed meanwhile ends the login).
func (f *Flow) loginConnection(ctx context.Context, ls loginState) (*ssoConn, error) {
	if ls.connOrg == "" {
		return nil, nil
	}
	conn, err := f.connection(ctx, ls.connOrg)
	if err != nil {
		return nil, err
	}
	if conn == nil || conn.id() != ls.connID {
		return nil, pageError(httpx.ErrLoginExpired, "",
			"Your organization changed its sign-in while you were signing in. Start again.", nil)
	}
	return conn, nil
}

// ssoIdentity turns what conn's provider asserted into the identity the
// Service signs in: the connection's own namespace (IdentityIssuer), for
// its organization only, named after the connection. The connection is
// trusted to assert emails for its organization (the Service still
// refuses to link across organizations that do not trust it).
func ssoIdentity(conn *ssoConn, id identity, joinAs bool) invite.AcceptIdentity {
	c := conn.client.Connection
	return invite.AcceptIdentity{
		Issuer: c.IdentityIssuer(), Subject: id.subject, Email: id.email, EmailVerified: id.emailVerified,
		JoinAsSignedIn: joinAs, Provider: c.Name, TrustEmail: true,
		Organization: c.OrganizationID, Connection: c.ID, Name: id.name,
	}
}

// mapClaims applies conn's claim mapping to what the ID token (claims)
// or else UserInfo asserted:
//
//   - with an EmailClaim other than "email" (Entra ID's
//     preferred_username or upn, for example) the email is that claim,
//     and counts as verified: the organization chose the claim its
//     directory vouches for;
//   - the name is the NameClaim ("name" by default), trimmed. It is only
//     a suggestion for the organization's view of the person
//     (invite.AcceptIdentity.Name), so a name that is missing, cannot be
//     read (UserInfo failed) or breaks the kit's text rule is left out
//     and the sign-in goes on.
func mapClaims(conn *ssoConn, id identity, claims map[string]any, ui *userInfo) (identity, error) {
	lookup := func(claim string) (string, error) {
		if v, _ := claims[claim].(string); strings.TrimSpace(v) != "" {
			return v, nil
		}
		return ui.claim(claim)
	}
	if claim := conn.client.EmailClaim; claim != "" && claim != "email" {
		v, err := lookup(claim)
		if err != nil {
			return identity{}, err
		}
		if v == "" {
			return identity{}, pageError(httpx.ErrEmailMissing, claim,
				fmt.Sprintf("Your organization's identity provider did not send the %q claim this app signs you in with.", claim), nil)
		}
		id.email, id.emailVerified = strings.TrimSpace(v), true
	}
	name, err := lookup(cmp.Or(conn.client.NameClaim, "name"))
	if err != nil {
		return identity{}, err
	}
	if name = strings.TrimSpace(name); store.TextProblem(name, invite.MaxDisplayNameLen, store.TextLine) == "" {
		id.name = name
	}
	return id, nil
}

// loginPathFor is the login route for orgID: with ?org= when the
// organization has a connection.
func (f *Flow) loginPathFor(ctx context.Context, orgID string) (string, *ssoConn, error) {
	conn, err := f.connection(ctx, orgID)
	if err != nil || conn == nil {
		return f.cfg.LoginPath, nil, err
	}
	return f.cfg.LoginPath + "?org=" + url.QueryEscape(orgID), conn, nil
}

// TestConnection checks an issuer as the JSON API's and the team page's
// "Test connection" do (ssocheck.Check with Config.HTTPClient's kind of
// client): the discovery document and the signing keys.
func TestConnection(ctx context.Context, client *http.Client, issuer string) (ssocheck.Result, error) {
	return ssocheck.Check(ctx, client, issuer)
}

// loginOrg reads the login's ?org= (once at most, an id by the text rule)
// and returns the organization's connection (nil: the app's provider).
func (f *Flow) loginOrg(r *http.Request) (string, *ssoConn, error) {
	q := r.URL.Query()
	if len(q["org"]) > 1 {
		return "", nil, pageError(httpx.ErrBadRequest, "org", "org is given more than once.", nil)
	}
	orgID := q.Get("org")
	if orgID == "" {
		return "", nil, nil
	}
	if p := store.TextProblem(orgID, store.MaxIDLen, store.TextLine); p != "" {
		return "", nil, pageError(httpx.ErrBadRequest, "org", "org "+p+".", nil)
	}
	conn, err := f.connection(r.Context(), orgID)
	return orgID, conn, err
}

// loginURLFor is the login route for orgID ("" for none) and returnTo.
func (f *Flow) loginURLFor(orgID, returnTo string) string {
	v := url.Values{}
	if orgID != "" {
		v.Set("org", orgID)
	}
	if returnTo != "" {
		v.Set("return_to", returnTo)
	}
	if len(v) == 0 {
		return f.cfg.LoginPath
	}
	return f.cfg.LoginPath + "?" + v.Encode()
}

// emailHint is a login_hint query value when it is an email address, else
// "" (it is only passed on to the provider).
func emailHint(s string) string {
	e, err := invite.NormalizeEmail(s)
	if err != nil {
		return ""
	}
	return e
}

func urlQuery(s string) string { return url.QueryEscape(s) }

// ssoReachable keeps, for a session signed in through an organization's
// connection, the organizations that session reaches: the connection's
// own and those that trust it. What else the person belongs to is not the
// connection's to show (its provider may have asserted someone's email).
func (f *Flow) ssoReachable(ctx context.Context, orgs []invite.UserOrganization) ([]invite.UserOrganization, error) {
	connID, err := f.sess.getString(ctx, sessionkeys.SSOConnection)
	if err != nil || connID == "" {
		return orgs, err
	}
	var out []invite.UserOrganization
	for _, uo := range orgs {
		ok, err := f.svc.SSOTrusts(ctx, uo.Organization.ID, connID)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, uo)
		}
	}
	return out, nil
}
