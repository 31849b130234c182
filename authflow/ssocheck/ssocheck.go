// Package ssocheck tests an OpenID Connect connection before it is saved:
// it fetches the provider's discovery document (whose issuer must be the
// one configured, exactly) and its signing keys (the jwks_uri must answer
// a JSON Web Key Set with at least one key usable for signatures).
//
// It is the "Test connection" action of the JSON API and the team page
// (enterprise SSO, invite.Service.SaveSSOConnection). Check is safe for
// concurrent use; it does only the requests it is asked for, each bounded
// by ctx and the client's timeout, and never follows a jwks_uri to a
// non-http(s) address. Nothing it reads is logged.
package ssocheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/invitekit/invitekit/store"
)

// DefaultTimeout bounds a check when the client has no timeout.
const DefaultTimeout = 10 * time.Second

// maxJWKS bounds the key set read.
const maxJWKS = 1 << 20

// Result is what a successful check found.
type Result struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorizationEndpoint"`
	TokenEndpoint         string `json:"tokenEndpoint"`
	JWKSURI               string `json:"jwksUri"`
	// Keys is the number of signing keys published.
	Keys int `json:"keys"`
}

// Check fetches issuer's discovery document and its keys with client (nil:
// a client with DefaultTimeout). A failure is a *store.FieldError with
// code store.CodeSSOTestFailed on field "issuer", saying what failed in
// words an administrator can act on.
func Check(ctx context.Context, client *http.Client, issuer string) (Result, error) {
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	if client.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), issuer)
	if err != nil {
		msg := "the provider's discovery document (" + strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration) could not be read"
		if strings.Contains(err.Error(), "issuer did not match") {
			msg = "the provider's discovery document names another issuer; use exactly the issuer it names"
		}
		return Result{}, failed("%s: %s", msg, short(err))
	}
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	_ = p.Claims(&meta)
	res := Result{Issuer: meta.Issuer, AuthorizationEndpoint: p.Endpoint().AuthURL, TokenEndpoint: p.Endpoint().TokenURL, JWKSURI: meta.JWKSURI}
	switch {
	case res.AuthorizationEndpoint == "" || res.TokenEndpoint == "":
		return Result{}, failed("the provider's discovery document has no authorization or token endpoint")
	case meta.JWKSURI == "":
		return Result{}, failed("the provider's discovery document has no jwks_uri (signing keys)")
	}
	u, err := url.Parse(meta.JWKSURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Result{}, failed("the provider's jwks_uri is not an http(s) URL")
	}
	if res.Keys, err = signingKeys(ctx, client, meta.JWKSURI); err != nil {
		return Result{}, err
	}
	return res, nil
}

// signingKeys fetches a JWK set and counts the keys usable to verify
// signatures.
func signingKeys(ctx context.Context, client *http.Client, uri string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return 0, failed("the provider's jwks_uri cannot be requested")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, failed("the provider's signing keys (jwks_uri) could not be fetched: %s", short(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, failed("the provider's signing keys (jwks_uri) answered HTTP %d", resp.StatusCode)
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Use string `json:"use"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKS)).Decode(&set); err != nil {
		return 0, failed("the provider's signing keys (jwks_uri) are not a JSON Web Key Set")
	}
	n := 0
	for _, k := range set.Keys {
		if (k.Kty == "RSA" || k.Kty == "EC" || k.Kty == "OKP") && (k.Use == "" || k.Use == "sig") {
			n++
		}
	}
	if n == 0 {
		return 0, failed("the provider publishes no signing keys (jwks_uri has no RSA, EC or OKP key for signatures)")
	}
	return n, nil
}

func failed(format string, args ...any) error {
	return &store.FieldError{Code: store.CodeSSOTestFailed, Field: "issuer", Message: fmt.Sprintf(format, args...)}
}

// short is an error's text, bounded, for the message.
func short(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
