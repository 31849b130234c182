package webhooks_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/invite/internal/invitetest"
	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
)

// stores are memstore, SQLite and, with INVITEKIT_POSTGRES_DSN, PostgreSQL
// on a fresh schema.
func stores(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, sc := range invitetest.StoreCases() {
		t.Run(sc.Name, func(t *testing.T) { fn(t, sc.Open(t)) })
	}
	t.Run("pgstore", func(t *testing.T) {
		dsn := os.Getenv("INVITEKIT_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("INVITEKIT_POSTGRES_DSN not set: skipping PostgreSQL")
		}
		b := make([]byte, 8)
		rand.Read(b)
		schema := "ikwh_" + hex.EncodeToString(b)
		st, err := pgstore.Open(t.Context(), dsn, pgstore.Config{Schema: schema})
		require.NoError(t, err)
		t.Cleanup(func() {
			_, _ = st.Pool().Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
			st.Close()
		})
		fn(t, st)
	})
}

// received is one request a receiver got.
type received struct {
	Secret  string            `json:"secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	// Old: the timestamp is outside the verifiers' tolerance (5 min);
	// the npm verifier must refuse it although the signature is right.
	Old     bool `json:"old,omitempty"`
	payload webhooks.Payload
}

// receiver verifies every delivery with the Go reference library and
// records it; fail(n) answers 503 to the first n requests.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []received
	fail   int
	hits   int
	// ignoreTime verifies everything but the timestamp's age.
	ignoreTime bool
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.hits++
		if r.hits <= r.fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		wh, err := standardwebhooks.NewWebhook(r.secret)
		if err != nil {
			t.Errorf("NewWebhook: %v", err)
			w.WriteHeader(500)
			return
		}
		verify := wh.Verify
		if r.ignoreTime { // the test's clock is days away from the real one
			verify = wh.VerifyIgnoringTimestamp
		}
		if err := verify(body, req.Header); err != nil {
			t.Errorf("reference verifier refused %s: %v", req.Header.Get("webhook-id"), err)
			w.WriteHeader(400)
			return
		}
		if err := wh.Verify(append(body[:len(body):len(body)], ' '), req.Header); err == nil {
			t.Errorf("a tampered body verified")
		}
		var p webhooks.Payload
		require.NoError(t, json.Unmarshal(body, &p))
		r.got = append(r.got, received{Secret: r.secret, Body: string(body), payload: p, Headers: map[string]string{
			"webhook-id": req.Header.Get("webhook-id"), "webhook-timestamp": req.Header.Get("webhook-timestamp"),
			"webhook-signature": req.Header.Get("webhook-signature"),
		}})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type env struct {
	*invitetest.Env
	wh *webhooks.Service
	d  *webhooks.Dispatcher
}

func newEnv(t *testing.T, st store.Store, dcfg webhooks.DispatcherConfig) *env {
	e := invitetest.NewEnv(t, st, nil)
	e.Clock.Advance(time.Since(e.Clock.Now())) // the verifiers check the timestamp against real time
	wh, err := webhooks.New(st, webhooks.Config{Sealer: e.Svc.Sealer(), InsecureAllowPrivate: true, InsecureAllowHTTP: true})
	require.NoError(t, err)
	return &env{Env: e, wh: wh, d: webhooks.NewDispatcher(wh, dcfg)}
}

// drain runs the dispatcher until nothing is due.
func (e *env) drain(t *testing.T) {
	for range 100 {
		n, err := e.d.DeliverDue(t.Context())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("deliveries never ran out")
}

var allTypes = []string{
	store.WebhookInvitationCreated, store.WebhookInvitationResent, store.WebhookInvitationAccepted, store.WebhookInvitationRevoked,
	store.WebhookInvitationExpired, store.WebhookMembershipCreated, store.WebhookMembershipActivated,
	store.WebhookMembershipDeactivated, store.WebhookMembershipRolesChanged, store.WebhookMembershipUpdated, store.WebhookMembershipRemoved,
	store.WebhookUserSignedIn, store.WebhookIdentityLinked,
}

func TestDeliveriesVerifiedAndScoped(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		e := newEnv(t, st, webhooks.DispatcherConfig{})
		orgA, orgB := e.Org(t, "org_a"), e.Org(t, "org_b")
		app, onlyA := newReceiver(t), newReceiver(t)
		_, secret, err := e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: app.srv.URL, EventTypes: allTypes}, "usr_app")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(secret, "whsec_"))
		app.secret = secret
		_, secret, err = e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: onlyA.srv.URL, EventTypes: allTypes, OrganizationID: orgA.ID}, "usr_app")
		require.NoError(t, err)
		onlyA.secret = secret

		// The same person in both organizations; B writes markers about them.
		a := e.Invite(t, orgA.ID, "pat@example.com", "member")
		_, err = e.Svc.CreateUserAndMembership(ctx, orgB.ID, invite.InviteRequest{Email: "pat@example.com", ExternalID: "B-SECRET-EXT",
			UserProfile: &invite.ProfileInput{FirstName: "B-SECRET-NAME"}, ReturnAcceptLink: true, InvitedBy: "usr_actor"})
		require.NoError(t, err)
		_, err = e.Svc.AcceptInvitation(ctx, tokenOf(t, a.AcceptLink), invitetest.Verified("pat@example.com"))
		require.NoError(t, err)
		roles := []string{"member", "billing"}
		_, err = e.Svc.UpdateMembership(ctx, orgA.ID, a.User.ID, invite.UpdateRequest{Roles: &roles}, "usr_actor")
		require.NoError(t, err)
		// A refused change (already a member) delivers nothing.
		_, err = e.Svc.CreateUserAndMembership(ctx, orgA.ID, invite.InviteRequest{Email: "pat@example.com", InvitedBy: "usr_actor"})
		require.ErrorIs(t, err, store.ErrAlreadyMember)
		e.drain(t)

		types := func(rs []received, org string) []string {
			var out []string
			for _, r := range rs {
				if r.payload.Data.OrganizationID == org {
					out = append(out, r.payload.Type)
				}
			}
			return out
		}
		got := app.deliveries()
		require.Equal(t, []string{store.WebhookInvitationCreated, store.WebhookMembershipCreated,
			store.WebhookInvitationAccepted, store.WebhookMembershipActivated, store.WebhookUserSignedIn,
			store.WebhookMembershipRolesChanged, store.WebhookMembershipUpdated}, types(got, orgA.ID), "in order")
		require.Equal(t, []string{store.WebhookInvitationCreated, store.WebhookMembershipCreated}, types(got, orgB.ID))
		ids := map[string]bool{}
		for _, r := range got {
			require.False(t, ids[r.Headers["webhook-id"]], "each webhook-id once")
			ids[r.Headers["webhook-id"]] = true
		}

		gotA := onlyA.deliveries()
		require.Len(t, gotA, 7)
		for _, r := range gotA {
			require.Equal(t, orgA.ID, r.payload.Data.OrganizationID, "an org-scoped endpoint gets only its organization's events")
			require.NotContains(t, r.Body, "B-SECRET", "and only its view of the member")
			require.NotContains(t, r.Body, orgB.ID)
		}
		last := gotA[len(gotA)-1].payload
		require.Equal(t, 1, last.Version)
		require.NotNil(t, last.Data.Membership)
		require.Equal(t, "ACTIVE", last.Data.Membership.Status)
		require.Equal(t, "Ann", last.Data.Membership.Profile.FirstName)

		verifyWithNode(t, append(got, gotA...))

		// The pull feed carries the same payloads and webhook-ids.
		page, err := e.wh.Events(ctx, orgA.ID, 0, 0)
		require.NoError(t, err)
		var feedIDs []string
		for _, fe := range page.Events {
			feedIDs = append(feedIDs, fe.MessageID)
		}
		var pushIDs []string
		for _, r := range gotA {
			pushIDs = append(pushIDs, r.Headers["webhook-id"])
		}
		require.Equal(t, pushIDs, feedIDs)
	})
}

func tokenOf(t *testing.T, link string) string {
	_, tok, ok := strings.Cut(link, "token=")
	require.True(t, ok, link)
	return tok
}

// verifyWithNode runs the npm standardwebhooks verifier over rs.
func verifyWithNode(t *testing.T, rs []received) {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "node"))
	if _, err := exec.LookPath("node"); err != nil {
		t.Log("node not found: skipping the npm standardwebhooks verifier")
		return
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks")); err != nil {
		t.Log("testdata/node/node_modules missing (run npm ci there, as scripts/test.sh does): skipping the npm verifier")
		return
	}
	f := filepath.Join(t.TempDir(), "deliveries.json")
	b, err := json.Marshal(rs)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(f, b, 0o600))
	cmd := exec.Command("node", filepath.Join(dir, "verify.mjs"), f)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "node verifier: %s", out)
	require.Contains(t, string(out), "verified ")
	t.Logf("npm standardwebhooks: %s", strings.TrimSpace(string(out)))
}

func TestRetryDeadLetterReplay(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		e := newEnv(t, st, webhooks.DispatcherConfig{BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxAttempts: 3})
		org := e.Org(t, "org_r")
		rcv := newReceiver(t)
		ep, secret, err := e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: rcv.srv.URL, EventTypes: []string{store.WebhookMembershipCreated}}, "")
		require.NoError(t, err)
		rcv.secret = secret

		// Fails twice, then succeeds on the third attempt.
		rcv.fail = 2
		e.AddActive(t, org.ID, "one@example.com")
		deliverUntil(t, e, ep.ID, store.WebhookDelivered)
		ds, err := e.wh.Deliveries(ctx, "", ep.ID, "", 0)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, "DELIVERED", ds[0].Status)
		require.Equal(t, 3, ds[0].Attempts)
		require.Len(t, rcv.deliveries(), 1)

		// Fails every time: dead after MaxAttempts, then replayed by hand.
		rcv.mu.Lock()
		rcv.fail, rcv.hits = 1000, 0
		rcv.mu.Unlock()
		e.AddActive(t, org.ID, "two@example.com")
		deliverUntil(t, e, ep.ID, store.WebhookDead)
		dead, err := e.wh.Deliveries(ctx, "", ep.ID, store.WebhookDead, 0)
		require.NoError(t, err)
		require.Len(t, dead, 1)
		require.Equal(t, 3, dead[0].Attempts)
		require.Contains(t, dead[0].LastError, "503")
		require.Equal(t, 3, rcv.hits, "no attempt after the dead letter")

		rcv.mu.Lock()
		rcv.fail = 0
		rcv.mu.Unlock()
		require.NoError(t, e.wh.Replay(ctx, "", ep.ID, dead[0].MessageID))
		e.drain(t)
		got := rcv.deliveries()
		require.Len(t, got, 2)
		require.Equal(t, dead[0].MessageID, got[1].Headers["webhook-id"], "the same webhook-id on replay")
		// Another organization cannot replay it.
		require.ErrorIs(t, e.wh.Replay(ctx, org.ID, ep.ID, dead[0].MessageID), store.ErrNotFound)
	})
}

// deliverUntil runs the dispatcher until the endpoint has a delivery of
// status want (retries wait out their backoff), or fails after a generous
// deadline: a loaded machine may need many rounds, so no fixed time is
// assumed.
func deliverUntil(t *testing.T, e *env, endpointID string, want store.WebhookDeliveryStatus) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.d.DeliverDue(t.Context())
		require.NoError(t, err)
		ds, err := e.wh.Deliveries(t.Context(), "", endpointID, want, 0)
		require.NoError(t, err)
		if len(ds) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s delivery after 30 s", want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestRotationSignsWithBoth(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, invitetest.OpenSQLite(t), webhooks.DispatcherConfig{})
	org := e.Org(t, "org_rot")
	oldRcv := newReceiver(t)
	ep, secret, err := e.wh.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: oldRcv.srv.URL, EventTypes: []string{store.WebhookMembershipCreated}}, "")
	require.NoError(t, err)
	oldRcv.secret = secret
	newSecret, err := e.wh.RotateSecret(ctx, "", ep.ID)
	require.NoError(t, err)
	e.AddActive(t, org.ID, "rot@example.com")
	e.drain(t)
	got := oldRcv.deliveries() // verified with the old secret
	require.Len(t, got, 1)
	sigs := strings.Fields(got[0].Headers["webhook-signature"])
	require.Len(t, sigs, 2, "both signatures during the overlap")
	wh, err := standardwebhooks.NewWebhook(newSecret)
	require.NoError(t, err)
	h := http.Header{}
	for k, v := range got[0].Headers {
		h.Set(k, v)
	}
	require.NoError(t, wh.Verify([]byte(got[0].Body), h), "and the new secret verifies too")
}

func TestEgressGuard(t *testing.T) {
	ctx := t.Context()
	st := invitetest.OpenSQLite(t)
	e := invitetest.NewEnv(t, st, nil)
	org := e.Org(t, "org_ssrf")
	strict, err := webhooks.New(st, webhooks.Config{Sealer: e.Svc.Sealer(), InsecureAllowHTTP: true})
	require.NoError(t, err)
	for _, u := range []string{
		"http://127.0.0.1/x", "http://[::1]/x", "http://10.0.0.1/", "http://172.16.0.1/", "http://192.168.1.1/",
		"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://0.0.0.0/", "http://100.64.0.1/",
		"http://[fd00:ec2::254]/", "http://[::ffff:127.0.0.1]/", "http://localhost/", "http://metadata.google.internal/",
	} {
		_, _, err := strict.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: u, EventTypes: []string{store.WebhookMembershipCreated}}, "")
		var fe *store.FieldError
		require.True(t, errors.As(err, &fe), "%s: %v", u, err)
		require.Equal(t, "url", fe.Field)
	}
	httpsOnly, err := webhooks.New(st, webhooks.Config{Sealer: e.Svc.Sealer()})
	require.NoError(t, err)
	_, _, err = httpsOnly.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: "http://hooks.example.com/", EventTypes: []string{store.WebhookMembershipCreated}}, "")
	require.Error(t, err, "http refused unless InsecureAllowHTTP")

	// A hostname that resolves to loopback passes registration (names
	// are not resolved then) but every dial checks the resolved IP.
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	loose, err := webhooks.New(st, webhooks.Config{Sealer: e.Svc.Sealer(), InsecureAllowHTTP: true, InsecureAllowPrivate: true})
	require.NoError(t, err)
	ep, _, err := loose.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: "http://localhost:" + port + "/", EventTypes: []string{store.WebhookMembershipCreated}}, "")
	require.NoError(t, err)
	e.AddActive(t, org.ID, "ssrf@example.com")
	d := webhooks.NewDispatcher(strict, webhooks.DispatcherConfig{})
	_, err = d.DeliverDue(ctx)
	require.NoError(t, err)
	ds, err := strict.Deliveries(ctx, "", ep.ID, "", 0)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Contains(t, ds[0].LastError, "destination address refused")
	require.Equal(t, 0, hits)

	// Redirects are never followed.
	redirected := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirected++ }))
	defer target.Close()
	redir := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redir.Close()
	ep2, _, err := loose.CreateEndpoint(ctx, webhooks.EndpointRequest{URL: redir.URL, EventTypes: []string{store.WebhookMembershipActivated}}, "")
	require.NoError(t, err)
	e.AddActive(t, org.ID, "redir@example.com")
	_, err = webhooks.NewDispatcher(loose, webhooks.DispatcherConfig{}).DeliverDue(ctx)
	require.NoError(t, err)
	ds, err = loose.Deliveries(ctx, "", ep2.ID, "", 0)
	require.NoError(t, err)
	require.Contains(t, ds[len(ds)-1].LastError, "307")
	require.Equal(t, 0, redirected)
}

// TestOldTimestampRefused: a delivery signed correctly but with a
// webhook-timestamp 10 minutes old (a captured request replayed later) is
// refused by both reference verifiers, as they refuse anything outside
// their 5-minute tolerance; the same body signed now verifies.
func TestOldTimestampRefused(t *testing.T) {
	secret := webhooks.NewSecret()
	body := []byte(`{"type":"membership.activated","timestamp":"2026-12-01T12:00:00Z","version":1,"data":{"eventId":"evt_1","seq":1,"organizationId":"org_a"}}`)
	signed := func(id string, ts time.Time) received {
		sig, err := webhooks.Sign(id, ts, body, secret)
		require.NoError(t, err)
		return received{Secret: secret, Body: string(body), Headers: map[string]string{
			"webhook-id": id, "webhook-timestamp": strconv.FormatInt(ts.Unix(), 10), "webhook-signature": sig,
		}}
	}
	fresh, old := signed("msg_fresh", time.Now()), signed("msg_old", time.Now().Add(-10*time.Minute))
	old.Old = true
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	header := func(r received) http.Header {
		h := http.Header{}
		for k, v := range r.Headers {
			h.Set(k, v)
		}
		return h
	}
	require.NoError(t, wh.Verify(body, header(fresh)))
	require.Error(t, wh.Verify(body, header(old)), "the Go verifier accepted a 10-minute-old timestamp")
	require.NoError(t, wh.VerifyIgnoringTimestamp(body, header(old)), "the old delivery's signature itself is right")
	verifyWithNode(t, []received{fresh, old})
}
