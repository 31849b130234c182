package authflow_test

// A small OpenID provider of our own that can lie in exactly one way: it
// serves discovery, JWKS, /authorize (signs in whoever the test chose, no
// screens), /token (an RS256 ID token built with go-jose, which a test
// hook may change before it is signed) and /userinfo (whose sub a test may
// change). Everything else about it is honest, so each case tests one
// rule of the relying party.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

type liarGrant struct {
	sub, email, nonce, challenge, redirectURI string
}

type liarOP struct {
	srv      *httptest.Server
	issuer   string
	clientID string
	secret   string
	redirect string
	key      *rsa.PrivateKey
	kid      string

	mu            sync.Mutex
	sub, email    string // the account /authorize signs in
	lie           func(claims map[string]any, now time.Time)
	userinfoSub   string // "" = the ID token's
	lastAuthorize url.Values
	codes         map[string]liarGrant
	tokens        map[string]liarGrant // access token →

	userinfoCalls atomic.Int64
	tokenCalls    atomic.Int64
}

// startLiarOP starts the provider for client "web"/"secret" at redirectURI.
func startLiarOP(t *testing.T, redirectURI string) *liarOP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o := &liarOP{clientID: "web", secret: "secret", redirect: redirectURI, key: key, kid: "liar-1",
		codes: map[string]liarGrant{}, tokens: map[string]liarGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", o.discovery)
	mux.HandleFunc("GET /jwks", o.jwks)
	mux.HandleFunc("GET /authorize", o.authorize)
	mux.HandleFunc("POST /token", o.token)
	mux.HandleFunc("GET /userinfo", o.userinfo)
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	o.issuer = o.srv.URL
	return o
}

// as makes /authorize sign in sub with email (verified); lie changes the
// ID token's claims (nil: honest); userinfoSub, when set, is the sub
// UserInfo answers with.
func (o *liarOP) as(sub, email string, lie func(map[string]any, time.Time), userinfoSub string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sub, o.email, o.lie, o.userinfoSub = sub, email, lie, userinfoSub
}

func (o *liarOP) authorizeQuery() url.Values {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastAuthorize
}

func (o *liarOP) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                                o.issuer,
		"authorization_endpoint":                o.issuer + "/authorize",
		"token_endpoint":                        o.issuer + "/token",
		"jwks_uri":                              o.issuer + "/jwks",
		"userinfo_endpoint":                     o.issuer + "/userinfo",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (o *liarOP) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &o.key.PublicKey, KeyID: o.kid, Algorithm: "RS256", Use: "sig"}}})
}

func (o *liarOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != o.clientID || q.Get("redirect_uri") != o.redirect || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := randomToken()
	o.mu.Lock()
	o.lastAuthorize = q
	o.codes[code] = liarGrant{sub: o.sub, email: o.email, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
	o.mu.Unlock()
	cb := url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {o.issuer}}
	http.Redirect(w, r, o.redirect+"?"+cb.Encode(), http.StatusSeeOther)
}

func (o *liarOP) token(w http.ResponseWriter, r *http.Request) {
	o.tokenCalls.Add(1)
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if id != o.clientID || secret != o.secret {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	o.mu.Lock()
	g, found := o.codes[r.PostFormValue("code")]
	delete(o.codes, r.PostFormValue("code"))
	lie := o.lie
	o.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	if !found || r.PostFormValue("grant_type") != "authorization_code" || r.PostFormValue("redirect_uri") != g.redirectURI ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": o.issuer, "sub": g.sub, "aud": o.clientID, "azp": o.clientID, "nonce": g.nonce,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
		"auth_time": now.Add(-time.Minute).Unix(),
		// No email: the relying party must read it from UserInfo.
	}
	if lie != nil {
		lie(claims, now)
	}
	payload, _ := json.Marshal(claims)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: o.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", o.kid))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	idToken, _ := jws.CompactSerialize()
	access := randomToken()
	o.mu.Lock()
	o.tokens[access] = g
	o.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func (o *liarOP) userinfo(w http.ResponseWriter, r *http.Request) {
	o.userinfoCalls.Add(1)
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	o.mu.Lock()
	g, found := o.tokens[access]
	sub := o.userinfoSub
	o.mu.Unlock()
	if !ok || !found {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	if sub == "" {
		sub = g.sub
	}
	writeJSON(w, map[string]any{"sub": sub, "email": g.email, "email_verified": true})
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
