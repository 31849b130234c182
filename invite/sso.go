package invite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/invitekit/invitekit/store"
)

// Enterprise SSO: an organization's own OpenID Connect connection (its
// Okta or Entra ID tenant). The Service keeps the connection (the client
// secret sealed with Config.SecretKey), the connections each organization
// trusts, and the sign-in rules of such identities (SignInConnection).
// Package authflow signs people in through the connections; checking that
// a provider answers (discovery, keys) is authflow.TestConnection, as this
// package does no network I/O.

// Errors of SSO connections (the values are store's).
var (
	ErrSSOUnsupported       = store.ErrSSOUnsupported
	ErrSSOWrongOrganization = store.ErrSSOWrongOrganization
)

// Limits of a connection's fields.
const (
	maxSSOName     = 100
	maxSSOIssuer   = 2048
	maxSSOClientID = 255
	maxSSOSecret   = 2048
	maxSSOScopes   = 20
	maxSSOScope    = 128
	maxSSOClaim    = 64
)

// SSOConnectionRequest configures an organization's connection.
type SSOConnectionRequest struct {
	// Name is shown on sign-in pages and becomes the primaryIdentityProvider
	// of memberships joined through the connection (1–100 characters).
	Name string `json:"name"`
	// Issuer is the provider's issuer URL: https (http only on a loopback
	// host, for development), no query or fragment.
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientId"`
	// ClientSecret is sealed before it is stored and never shown again.
	// nil keeps the stored secret (an update); "" makes a public client.
	ClientSecret *string `json:"clientSecret,omitempty"`
	// Scopes requested besides "openid" (default "profile email").
	Scopes []string `json:"scopes,omitempty"`
	// EmailClaim and NameClaim name the claims that carry the email and the
	// name (default "email" and "name"; Entra ID: "email" or
	// "preferred_username").
	EmailClaim string `json:"emailClaim,omitempty"`
	NameClaim  string `json:"nameClaim,omitempty"`
	// Enforce makes the connection the only way into the organization.
	Enforce bool `json:"enforce"`
}

// SSOConnection is a connection as callers see it: never the secret.
type SSOConnection struct {
	ID             string    `json:"id"`
	OrganizationID string    `json:"organizationId"`
	Name           string    `json:"name"`
	Issuer         string    `json:"issuer"`
	ClientID       string    `json:"clientId"`
	HasSecret      bool      `json:"hasClientSecret"`
	Scopes         []string  `json:"scopes"`
	EmailClaim     string    `json:"emailClaim"`
	NameClaim      string    `json:"nameClaim"`
	Enforce        bool      `json:"enforce"`
	CreateTime     time.Time `json:"createTime"`
	UpdateTime     time.Time `json:"updateTime"`
}

func ssoView(c store.SSOConnection) SSOConnection {
	return SSOConnection{
		ID: c.ID, OrganizationID: c.OrganizationID, Name: c.Name, Issuer: c.Issuer, ClientID: c.ClientID,
		HasSecret: len(c.SealedSecret) > 0, Scopes: ssoScopes(c.Scopes),
		EmailClaim: claimOr(c.EmailClaim, "email"), NameClaim: claimOr(c.NameClaim, "name"),
		Enforce: c.Enforce, CreateTime: c.CreateTime, UpdateTime: c.UpdateTime,
	}
}

// SSOClient is what a sign-in through a connection needs: the connection
// with its client secret opened. App scope only (authflow); never render it.
type SSOClient struct {
	Connection   store.SSOConnection
	ClientSecret string
	// Scopes are the scopes to request ("openid" first).
	Scopes []string
	// EmailClaim and NameClaim with their defaults applied.
	EmailClaim, NameClaim string
}

func ssoScopes(s []string) []string {
	if len(s) == 0 {
		s = []string{"profile", "email"}
	}
	out := []string{"openid"}
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func claimOr(c, def string) string {
	if c == "" {
		return def
	}
	return c
}

func (s *Service) ssoStore() (store.SSOConnectionStore, error) {
	c, ok := s.st.(store.SSOConnectionStore)
	if !ok {
		return nil, ErrSSOUnsupported
	}
	return c, nil
}

// SSOSupported reports whether the store keeps SSO connections.
func (s *Service) SSOSupported() bool { _, err := s.ssoStore(); return err == nil }

// SSOConnection returns orgID's connection (without its secret), or
// ErrNotFound when it has none.
func (s *Service) SSOConnection(ctx context.Context, orgID string) (SSOConnection, error) {
	c, err := s.ssoConnection(ctx, orgID)
	if err != nil {
		return SSOConnection{}, err
	}
	return ssoView(c), nil
}

func (s *Service) ssoConnection(ctx context.Context, orgID string) (store.SSOConnection, error) {
	cs, err := s.ssoStore()
	if err != nil {
		return store.SSOConnection{}, err
	}
	if orgID == "" {
		return store.SSOConnection{}, ErrNotFound
	}
	if err := checkIDs("orgID", orgID); err != nil {
		return store.SSOConnection{}, err
	}
	return cs.GetSSOConnection(ctx, orgID)
}

// CheckSSOConnectionRequest validates req as SaveSSOConnection would,
// without writing: every field's text, the issuer URL, the scopes and the
// claim names. (A handler calls it before testing the connection.)
func CheckSSOConnectionRequest(req SSOConnectionRequest) error {
	for _, f := range []struct {
		field, v string
		max      int
	}{
		{"name", req.Name, maxSSOName},
		{"issuer", req.Issuer, maxSSOIssuer},
		{"clientId", req.ClientID, maxSSOClientID},
		{"emailClaim", req.EmailClaim, maxSSOClaim},
		{"nameClaim", req.NameClaim, maxSSOClaim},
	} {
		if err := store.CheckText(f.field, f.v, f.max, store.TextLine); err != nil {
			return err
		}
	}
	switch {
	case strings.TrimSpace(req.Name) == "":
		return invalid("name", "name is required")
	case req.ClientID == "":
		return invalid("clientId", "clientId is required")
	case strings.ContainsAny(req.ClientID, " "):
		return invalid("clientId", "clientId must not contain spaces")
	}
	if err := checkIssuer(req.Issuer); err != nil {
		return err
	}
	if req.ClientSecret != nil {
		if err := store.CheckText("clientSecret", *req.ClientSecret, maxSSOSecret, store.TextLine); err != nil {
			return err
		}
	}
	if len(req.Scopes) > maxSSOScopes {
		return invalid("scopes", "scopes must name at most %d scopes", maxSSOScopes)
	}
	for i, sc := range req.Scopes {
		if sc == "" || len(sc) > maxSSOScope || strings.ContainsFunc(sc, func(r rune) bool { return r <= 0x20 || r >= 0x7f || r == '"' || r == '\\' }) {
			return invalid(fmt.Sprintf("scopes[%d]", i), "a scope is 1–%d printable ASCII characters without spaces, quotes or backslashes", maxSSOScope)
		}
	}
	for _, f := range []struct{ field, v string }{{"emailClaim", req.EmailClaim}, {"nameClaim", req.NameClaim}} {
		if strings.ContainsFunc(f.v, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_-.:/", r))
		}) {
			return invalid(f.field, "%s must be a claim name (letters, digits, _ - . : /)", f.field)
		}
	}
	return nil
}

// checkIssuer requires an absolute https URL without query or fragment
// (http only on a loopback host).
func checkIssuer(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(raw, "#") || u.User != nil {
		return invalid("issuer", "issuer must be the provider's absolute https URL, without query or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return invalid("issuer", "issuer must be an https URL (http only on localhost)")
}

// SaveSSOConnection creates orgID's connection or changes it (an
// organization has one), after CheckSSOConnectionRequest. A new client
// secret is sealed with Config.SecretKey, bound to the connection's id;
// req.ClientSecret nil keeps the stored one. It writes an
// EventSSOConnectionSaved ("action": "created" or "updated", "enforce").
// It does not contact the provider: test the connection first
// (authflow.TestConnection). Errors: *FieldError, ErrNotFound (no such
// organization), ErrSSOUnsupported.
func (s *Service) SaveSSOConnection(ctx context.Context, orgID string, req SSOConnectionRequest, actorID string) (SSOConnection, error) {
	cs, err := s.ssoStore()
	if err != nil {
		return SSOConnection{}, err
	}
	if err := checkIDs("orgID", orgID, "actorID", actorID); err != nil {
		return SSOConnection{}, err
	}
	if orgID == "" {
		return SSOConnection{}, ErrNotFound
	}
	if err := CheckSSOConnectionRequest(req); err != nil {
		return SSOConnection{}, err
	}
	if _, err := s.st.GetOrganization(ctx, orgID); err != nil {
		return SSOConnection{}, err
	}
	now := s.now()
	c, err := cs.GetSSOConnection(ctx, orgID)
	action := "updated"
	switch {
	case errors.Is(err, store.ErrNotFound):
		action = "created"
		c = store.SSOConnection{ID: store.NewID("ssc"), OrganizationID: orgID, CreatedBy: actorID, CreateTime: now}
	case err != nil:
		return SSOConnection{}, err
	}
	if req.ClientSecret != nil {
		c.SealedSecret = nil
		if *req.ClientSecret != "" {
			if c.SealedSecret, err = s.sealer.Seal(c.ID, map[string]string{"client_secret": *req.ClientSecret}); err != nil {
				return SSOConnection{}, err
			}
		}
	}
	c.Name, c.Issuer, c.ClientID = strings.TrimSpace(req.Name), req.Issuer, req.ClientID
	c.Scopes, c.EmailClaim, c.NameClaim, c.Enforce = slices.Clone(req.Scopes), req.EmailClaim, req.NameClaim, req.Enforce
	c.UpdateTime = now
	ev := s.event(orgID, store.EventSSOConnectionSaved, "", actorID, now, map[string]string{
		"action": action, "connection_id": c.ID, "issuer": c.Issuer, "enforce": fmt.Sprint(c.Enforce),
	})
	if err := cs.PutSSOConnection(ctx, c, ev); err != nil {
		return SSOConnection{}, err
	}
	s.log.InfoContext(ctx, "invite: sso connection saved", "org_id", orgID, "connection_id", c.ID, "action", action)
	return ssoView(c), nil
}

// DeleteSSOConnection removes orgID's connection (members then sign in
// through the app's provider again) and writes an EventSSOConnectionDeleted.
// Identities linked through it stay linked but can no longer sign in.
// ErrNotFound when it has none.
func (s *Service) DeleteSSOConnection(ctx context.Context, orgID, actorID string) error {
	c, err := s.ssoConnection(ctx, orgID)
	if err != nil {
		return err
	}
	if err := checkIDs("actorID", actorID); err != nil {
		return err
	}
	cs, _ := s.ssoStore()
	ev := s.event(orgID, store.EventSSOConnectionDeleted, "", actorID, s.now(), map[string]string{"connection_id": c.ID, "issuer": c.Issuer})
	return cs.DeleteSSOConnection(ctx, orgID, ev)
}

// SetSSOTrust sets the other organizations' connections that orgID
// trusts: a person who signed in through one of them reaches orgID too,
// and one of them may link its identity by email to a member of orgID.
// It is app scope (a trust decision no organization's admin can make for
// another); it writes an EventSSOTrustUpdated.
func (s *Service) SetSSOTrust(ctx context.Context, orgID string, connectionIDs []string, actorID string) error {
	cs, err := s.ssoStore()
	if err != nil {
		return err
	}
	if err := checkIDs("orgID", orgID, "actorID", actorID); err != nil {
		return err
	}
	for i, id := range connectionIDs {
		if err := checkIDs(fmt.Sprintf("connectionIds[%d]", i), id); err != nil {
			return err
		}
	}
	ids := store.NormalizeIDs(connectionIDs)
	ev := s.event(orgID, store.EventSSOTrustUpdated, "", actorID, s.now(), map[string]string{"connection_ids": strings.Join(ids, " ")})
	return cs.SetSSOTrust(ctx, orgID, ids, ev)
}

// SSOTrust returns the connection ids orgID trusts (SetSSOTrust).
func (s *Service) SSOTrust(ctx context.Context, orgID string) ([]string, error) {
	cs, err := s.ssoStore()
	if err != nil {
		return nil, err
	}
	if err := checkIDs("orgID", orgID); err != nil {
		return nil, err
	}
	return cs.ListSSOTrust(ctx, orgID)
}

// SSOClient returns orgID's connection with its client secret opened, for
// signing in through it (authflow). ErrNotFound when it has none.
func (s *Service) SSOClient(ctx context.Context, orgID string) (SSOClient, error) {
	c, err := s.ssoConnection(ctx, orgID)
	if err != nil {
		return SSOClient{}, err
	}
	cl := SSOClient{Connection: c, Scopes: ssoScopes(c.Scopes), EmailClaim: claimOr(c.EmailClaim, "email"), NameClaim: claimOr(c.NameClaim, "name")}
	if len(c.SealedSecret) > 0 {
		m, err := s.sealer.Open(c.ID, c.SealedSecret)
		if err != nil {
			return SSOClient{}, fmt.Errorf("invite: open the client secret of sso connection %s (was Config.SecretKey changed?): %w", c.ID, err)
		}
		cl.ClientSecret = m["client_secret"]
	}
	return cl, nil
}
