package authflow_test

// An in-process, real OpenID provider for the tests: the zitadel example OP
// (github.com/zitadel/oidc/v3/pkg/op, a certified OP library) with our own
// user store and client map (no package-global registry).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

const opPassword = "verysecure"

// opUsers is the OP's user directory; users can be added while it runs.
type opUsers struct {
	mu    sync.Mutex
	users map[string]*storage.User
}

func (u *opUsers) add(id, email string, verified bool) { u.addNamed(id, email, email, verified) }

// addNamed adds a user who signs in as username.
func (u *opUsers) addNamed(id, username, email string, verified bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[id] = &storage.User{
		ID: id, Username: username, Password: opPassword, FirstName: "First", LastName: id,
		Email: email, EmailVerified: verified, PreferredLanguage: language.English,
	}
}

func (u *opUsers) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.users[id]
}

func (u *opUsers) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, usr := range u.users {
		if usr.Username == name {
			return usr
		}
	}
	return nil
}

func (u *opUsers) ExampleClientID() string { return "service" }

// opStorage wraps the example storage to adjust what the OP knows about
// our client: optionally assert profile/email claims into the ID token
// (the example clients never do), and allow our post-logout redirect.
type opStorage struct {
	*storage.Storage
	claimsInIDToken bool
	postLogout      []string

	mu         sync.Mutex
	terminated []string // "subject client" of each ended session (RP-initiated logout)
}

// TerminateSession records the logout, then ends the session's tokens.
func (s *opStorage) TerminateSession(ctx context.Context, userID, clientID string) error {
	s.mu.Lock()
	s.terminated = append(s.terminated, userID+" "+clientID)
	s.mu.Unlock()
	return s.Storage.TerminateSession(ctx, userID, clientID)
}

// ended returns the sessions the provider has ended.
func (s *opStorage) ended() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.terminated...)
}

type opClient struct {
	op.Client
	claimsInIDToken bool
	postLogout      []string
}

func (c opClient) IDTokenUserinfoClaimsAssertion() bool { return c.claimsInIDToken }
func (c opClient) PostLogoutRedirectURIs() []string     { return c.postLogout }

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return opClient{Client: c, claimsInIDToken: s.claimsInIDToken, postLogout: s.postLogout}, nil
}

// testOP is a running provider.
type testOP struct {
	srv     *httptest.Server
	issuer  string
	users   *opUsers
	storage *opStorage
}

// startOP starts the provider with client "web"/"secret" for redirectURI.
func startOP(t *testing.T, redirectURI, postLogout string, claimsInIDToken bool) *testOP {
	t.Helper()
	return startOPAt(t, "", redirectURI, postLogout, claimsInIDToken)
}

// startOPAt is startOP listening on addr ("": any free port).
func startOPAt(t *testing.T, addr, redirectURI, postLogout string, claimsInIDToken bool) *testOP {
	t.Helper()
	var handler http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("provider cannot listen on %s: %v", addr, err)
		}
		srv.Listener.Close()
		srv.Listener = l
	}
	srv.Start()
	t.Cleanup(srv.Close)
	issuer := srv.URL + "/"
	users := &opUsers{users: map[string]*storage.User{}}
	clients := map[string]*storage.Client{"web": storage.WebClient("web", "secret", redirectURI)}
	st := &opStorage{Storage: storage.NewStorageWithClients(users, clients), claimsInIDToken: claimsInIDToken, postLogout: []string{postLogout}}
	handler = exampleop.SetupServer(issuer, st, nil, false)
	return &testOP{srv: srv, issuer: issuer, users: users, storage: st}
}

// signingKey returns the OP's own RSA key (to re-sign tampered tokens so
// that only the tampered claim is wrong).
func (o *testOP) signingKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := o.storage.SigningKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return k.Key().(*rsa.PrivateKey), k.ID()
}

// tamperTransport is the app's HTTP client transport towards the OP. In
// the failure tests it rewrites the ID token in token responses (as a
// malicious network or provider could) or replays the code exchange.
type tamperTransport struct {
	base           http.RoundTripper
	mu             sync.Mutex
	mutate         func(claims map[string]any) // change claims, re-sign with key
	key            *rsa.PrivateKey
	kid            string
	replay         bool
	userinfoCalls  atomic.Int64
	tokenCalls     atomic.Int64
	discoveryCalls atomic.Int64 // attempts, answered or not
}

func (tt *tamperTransport) set(mutate func(map[string]any), key *rsa.PrivateKey, kid string, replay bool) {
	tt.mu.Lock()
	tt.mutate, tt.key, tt.kid, tt.replay = mutate, key, kid, replay
	tt.mu.Unlock()
}

func (tt *tamperTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/userinfo") {
		tt.userinfoCalls.Add(1)
	}
	if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
		tt.discoveryCalls.Add(1)
	}
	if !strings.HasSuffix(r.URL.Path, "/oauth/token") {
		return tt.base.RoundTrip(r)
	}
	tt.tokenCalls.Add(1)
	tt.mu.Lock()
	mutate, key, kid, replay := tt.mutate, tt.key, tt.kid, tt.replay
	tt.mu.Unlock()
	if replay {
		// Spend the code first, as an attacker who intercepted it would;
		// the app's own exchange is then a replay.
		body, _ := io.ReadAll(r.Body)
		first := r.Clone(r.Context())
		first.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := tt.base.RoundTrip(first)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := tt.base.RoundTrip(r)
	if err != nil || mutate == nil || resp.StatusCode != 200 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var tok map[string]any
	if err := json.Unmarshal(body, &tok); err != nil {
		return nil, err
	}
	raw, _ := tok["id_token"].(string)
	parts := strings.Split(raw, ".")
	if len(parts) == 3 {
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return nil, err
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			return nil, err
		}
		mutate(claims)
		newPayload, _ := json.Marshal(claims)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		if err != nil {
			return nil, err
		}
		jws, err := signer.Sign(newPayload)
		if err != nil {
			return nil, err
		}
		tok["id_token"], _ = jws.CompactSerialize()
	}
	body, _ = json.Marshal(tok)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// otherKey is an RSA key the OP never published.
func otherKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
