package webhookapi_test

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/invite/webhooks/webhookapi"
	"github.com/invitekit/invitekit/store"
)

// appToken is the bearer token the tests' AppAuthorizer accepts.
const appToken = "app-secret-token"

// env is a Service on a store, a webhooks.Service and the API on a test
// server. The app authorizer accepts "Authorization: Bearer appToken";
// the organization authorizer is the kit's admin check (OrgAdmins), with
// the signed-in user taken from the X-User header.
type env struct {
	*invitetest.Env
	hooks *webhooks.Service
	api   *webhookapi.Handler
	srv   *httptest.Server
}

func newEnv(t testing.TB, st store.Store, hcfg webhooks.Config, edit func(*webhookapi.Config)) *env {
	t.Helper()
	e := invitetest.NewEnv(t, st, nil)
	e.Clock.Advance(time.Since(e.Clock.Now())) // the reference verifier checks timestamps against real time
	hcfg.Sealer, hcfg.Now = e.Svc.Sealer(), e.Clock.Now
	hooks, err := webhooks.New(st, hcfg)
	require.NoError(t, err)
	cfg := webhookapi.Config{
		App: func(r *http.Request, _ webhookapi.Action) (string, error) {
			if r.Header.Get("Authorization") != "Bearer "+appToken {
				return "", webhookapi.ErrUnauthenticated
			}
			return "", nil
		},
		Org: webhookapi.OrgAdmins(e.Svc, func(r *http.Request) (string, bool) {
			u := r.Header.Get("X-User")
			return u, u != ""
		}),
		OrgEndpoints: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	api, err := webhookapi.New(hooks, cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	api.Routes(mux, "/api")
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{Env: e, hooks: hooks, api: api, srv: srv}
}

// twoOrgs is newEnv (insecure, the default Config) with org_a and org_b,
// each with its admin: alice and bea.
func twoOrgs(t *testing.T, st store.Store) (e *env, alice, bea string) {
	t.Helper()
	e = newEnv(t, st, insecure, nil)
	e.Org(t, "org_a")
	e.Org(t, "org_b")
	alice = e.AddActive(t, "org_a", "alice@a.example", "admin").User.ID
	bea = e.AddActive(t, "org_b", "bea@b.example", "admin").User.ID
	return e, alice, bea
}

// caller is who sends a request: the app (token) or a user (X-User).
type caller struct{ token, user string }

var app = caller{token: appToken}

func as(userID string) caller { return caller{user: userID} }

// resp is an answer: status, headers, body, and the body decoded as JSON.
type resp struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

// errorCode and errorField are the body's error code and field.
func (r resp) errorCode() string  { return r.errorPart("code") }
func (r resp) errorField() string { return r.errorPart("field") }
func (r resp) errorPart(k string) string {
	e, _ := r.json["error"].(map[string]any)
	s, _ := e[k].(string)
	return s
}

func (e *env) do(t *testing.T, c caller, method, path, body string) resp {
	t.Helper()
	return e.doType(t, c, method, path, body, "")
}

// doType is do with the body's Content-Type (default application/json).
func (e *env) doType(t *testing.T, c caller, method, path, body, ctype string) resp {
	t.Helper()
	return e.doHeader(t, c, method, path, body, http.Header{"Content-Type": {cmp.Or(ctype, "application/json")}})
}

// doHeader is do with request headers (a Content-Type only with a body).
func (e *env) doHeader(t *testing.T, c caller, method, path, body string, h http.Header) resp {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	for k, vs := range h {
		req.Header[k] = vs
	}
	if body == "" {
		req.Header.Del("Content-Type")
	} else if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.user != "" {
		req.Header.Set("X-User", c.user)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := resp{status: res.StatusCode, header: res.Header, body: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(b, &out.json), "%s %s: %s", method, path, b)
	}
	return out
}

// created registers an endpoint through the API and returns its id and
// secret.
func (e *env) created(t *testing.T, c caller, path, body string) (id, secret string) {
	t.Helper()
	r := e.do(t, c, http.MethodPost, path, body)
	require.Equal(t, http.StatusCreated, r.status, r.body)
	ep := r.json["endpoint"].(map[string]any)
	return ep["id"].(string), r.json["secret"].(string)
}

// drain runs a dispatcher until nothing is due.
func drain(t *testing.T, d *webhooks.Dispatcher) {
	t.Helper()
	for range 100 {
		n, err := d.DeliverDue(t.Context())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("deliveries never ran out")
}

func forStores(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, sc := range invitetest.StoreCasesWithPostgres() {
		t.Run(sc.Name, func(t *testing.T) { fn(t, sc.Open(t)) })
	}
}

// insecure lets endpoints on the tests' local receivers.
var insecure = webhooks.Config{InsecureAllowPrivate: true, InsecureAllowHTTP: true}

func openMem(t testing.TB) store.Store { return invitetest.OpenMem(t) }
