package pgstore_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/store/pgstore"
)

// sessionKeyUserID is middleware.SessionKeyUserID (the key authflow sets
// at login).
const sessionKeyUserID = "invitekit.user_id"

// sessionReplica is one app replica: its own SessionManager (on a shared
// session store) wrapping its own handler in its own server.
func sessionReplica(t *testing.T, st scs.Store) *httptest.Server {
	t.Helper()
	sm := scs.New()
	sm.Store = st
	sm.Lifetime = time.Hour
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil { // no fixation
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), sessionKeyUserID, r.FormValue("user"))
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		id := sm.GetString(r.Context(), sessionKeyUserID)
		if id == "" {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, id)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sm.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewServer(sm.LoadAndSave(mux))
	t.Cleanup(srv.Close)
	return srv
}

// do sends a request with the session cookie (if any) and returns the
// status, body and the session cookie the response set (or the one sent).
func do(t *testing.T, method, url string, cookie *http.Cookie) (int, string, *http.Cookie) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			cookie = c
		}
	}
	return resp.StatusCode, string(body), cookie
}

// testSessionsAcrossReplicas: a login on replica A is seen by replica B with
// the same cookie, and a logout on B ends the session on A too.
func testSessionsAcrossReplicas(t *testing.T, storeA, storeB scs.Store) {
	a, b := sessionReplica(t, storeA), sessionReplica(t, storeB)

	status, _, _ := do(t, "GET", b.URL+"/whoami", nil)
	require.Equal(t, http.StatusUnauthorized, status, "no session yet")

	status, _, cookie := do(t, "POST", a.URL+"/login?user=usr_ann", nil)
	require.Equal(t, http.StatusOK, status)
	require.NotNil(t, cookie, "login on A sets the session cookie")

	status, body, _ := do(t, "GET", b.URL+"/whoami", cookie)
	assert.Equal(t, http.StatusOK, status, "B sees A's login")
	assert.Equal(t, "usr_ann", body)

	forged := &http.Cookie{Name: "session", Value: "forged-token-that-no-replica-issued"}
	status, _, _ = do(t, "GET", b.URL+"/whoami", forged)
	assert.Equal(t, http.StatusUnauthorized, status, "an unknown token is not signed in")

	status, _, _ = do(t, "POST", b.URL+"/logout", cookie)
	require.Equal(t, http.StatusOK, status)
	status, _, _ = do(t, "GET", a.URL+"/whoami", cookie)
	assert.Equal(t, http.StatusUnauthorized, status, "logout on B ends the session on A")
}

// TestSessionsPostgres: scs sessions in PostgreSQL (scs/pgxstore) shared by
// two replicas, each with its own pool.
func TestSessionsPostgres(t *testing.T) {
	schema := freshSchema(t)
	require.NoError(t, pgstore.CreateSessionsTable(t.Context(), newPool(t), schema))
	require.NoError(t, pgstore.CreateSessionsTable(t.Context(), newPool(t), schema), "idempotent")
	onSchema := func(cfg *pgxpool.Config) { cfg.ConnConfig.RuntimeParams["search_path"] = schema }
	poolA, poolB := newPool(t, onSchema), newPool(t, onSchema)
	testSessionsAcrossReplicas(t, pgxstore.NewWithCleanupInterval(poolA, 0), pgxstore.NewWithCleanupInterval(poolB, 0))

	var n int
	require.NoError(t, poolA.QueryRow(t.Context(), `SELECT count(*) FROM sessions`).Scan(&n))
	assert.Equal(t, 0, n, "the destroyed session row is gone")
}

// TestSessionsRedis: scs sessions in Redis (scs/redisstore) shared by two
// replicas, each with its own connection pool. INVITEKIT_REDIS_ADDR
// (default 127.0.0.1:6379) names the server; the test skips when it is
// unreachable.
func TestSessionsRedis(t *testing.T) {
	addr := os.Getenv("INVITEKIT_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err != nil {
		t.Skipf("Redis at %s unreachable (set INVITEKIT_REDIS_ADDR): %v", addr, err)
	} else {
		c.Close()
	}
	newRedisPool := func() *redis.Pool {
		p := &redis.Pool{MaxIdle: 4, IdleTimeout: time.Minute, Dial: func() (redis.Conn, error) {
			return redis.Dial("tcp", addr, redis.DialConnectTimeout(time.Second))
		}}
		t.Cleanup(func() { p.Close() })
		return p
	}
	poolA, poolB := newRedisPool(), newRedisPool()
	conn, err := poolA.GetContext(context.Background())
	require.NoError(t, err)
	_, err = conn.Do("PING")
	conn.Close()
	require.NoError(t, err)

	prefix := "invitekit:test:" + newSchemaName() + ":" // keys of this run only
	testSessionsAcrossReplicas(t, redisstore.NewWithPrefix(poolA, prefix), redisstore.NewWithPrefix(poolB, prefix))
}
