package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// The performance budget (DESIGN.md): RequireMember with its cache must
// stay within ~10% of a request through scs LoadAndSave alone.
//
//	go test -run '^$' -bench . -benchmem ./middleware/

var benchOK = []byte("ok")

// benchRequest runs h once per iteration with a signed-in session cookie.
func benchRequest(b *testing.B, h http.Handler, sm *scs.SessionManager) {
	cookie := sessionCookie(b, sm, "usr_bob")
	req := httptest.NewRequest("GET", "/orgs/org_a/dash", nil)
	req.AddCookie(cookie)
	// Warm up (fills the cache, prepares statements) and check the route works.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("warm-up status %d: %s", rec.Code, rec.Body.String())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func BenchmarkLoadAndSaveOnly(b *testing.B) {
	sm := scs.New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orgs/{orgID}/dash", func(w http.ResponseWriter, r *http.Request) {
		if sm.GetString(r.Context(), middleware.SessionKeyUserID) == "" {
			http.Error(w, "no session", 401)
			return
		}
		w.Write(benchOK)
	})
	benchRequest(b, sm.LoadAndSave(mux), sm)
}

func benchStores(b *testing.B) map[string]func(b *testing.B) store.Store {
	return map[string]func(b *testing.B) store.Store{
		"memstore": func(b *testing.B) store.Store { return memstore.New() },
		"sqlitestore": func(b *testing.B) store.Store {
			st, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlitestore.Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		},
	}
}

func benchRequireMember(b *testing.B, ttl time.Duration) {
	for _, name := range []string{"memstore", "sqlitestore"} {
		b.Run(name, func(b *testing.B) {
			st := benchStores(b)[name](b)
			seed(b, st)
			sm := scs.New()
			mw, err := middleware.New(st, sm, middleware.Config{CacheTTL: ttl})
			if err != nil {
				b.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle("GET /orgs/{orgID}/dash", mw.RequireMember(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := middleware.MemberFromContext(r.Context()); !ok {
					http.Error(w, "no member", 500)
					return
				}
				w.Write(benchOK)
			})))
			benchRequest(b, sm.LoadAndSave(mux), sm)
		})
	}
}

func BenchmarkRequireMemberCached(b *testing.B)   { benchRequireMember(b, time.Second) }
func BenchmarkRequireMemberUncached(b *testing.B) { benchRequireMember(b, 0) }

// BenchmarkCheck isolates what RequireMember adds to a request whose
// session is already loaded: the resolver, the session read and the
// membership lookup (cache hit, or store reads). Less noisy than the
// full-request benchmarks on a shared machine.
func BenchmarkCheck(b *testing.B) {
	for _, cache := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Second}, {"uncached", 0}} {
		for _, name := range []string{"memstore", "sqlitestore"} {
			b.Run(cache.name+"/"+name, func(b *testing.B) {
				st := benchStores(b)[name](b)
				seed(b, st)
				sm := scs.New()
				mw, err := middleware.New(st, sm, middleware.Config{CacheTTL: cache.ttl})
				if err != nil {
					b.Fatal(err)
				}
				tok := sessionCookie(b, sm, "usr_bob").Value
				ctx, err := sm.Load(context.Background(), tok)
				if err != nil {
					b.Fatal(err)
				}
				req := httptest.NewRequest("GET", "/orgs/org_a/dash", nil).WithContext(ctx)
				req.SetPathValue("orgID", "org_a")
				if _, err := mw.Check(req); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := mw.Check(req); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkInterleaved alternates a LoadAndSave-only request and a
// RequireMember request in the same loop and reports both times and
// their ratio (custom metrics base-ns/req, guarded-ns/req, ratio). On a
// shared, loaded machine this is steadier than comparing separate
// benchmarks, because both sides see the same load.
func BenchmarkInterleaved(b *testing.B) {
	for _, cache := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Second}, {"uncached", 0}} {
		for _, name := range []string{"memstore", "sqlitestore"} {
			b.Run(cache.name+"/"+name, func(b *testing.B) {
				st := benchStores(b)[name](b)
				seed(b, st)
				sm := scs.New()
				mw, err := middleware.New(st, sm, middleware.Config{CacheTTL: cache.ttl})
				if err != nil {
					b.Fatal(err)
				}
				ok := func(w http.ResponseWriter, r *http.Request) { w.Write(benchOK) }
				baseMux := http.NewServeMux()
				baseMux.HandleFunc("GET /orgs/{orgID}/dash", func(w http.ResponseWriter, r *http.Request) {
					if sm.GetString(r.Context(), middleware.SessionKeyUserID) == "" {
						http.Error(w, "no session", 401)
						return
					}
					ok(w, r)
				})
				guardMux := http.NewServeMux()
				guardMux.Handle("GET /orgs/{orgID}/dash", mw.RequireMember(http.HandlerFunc(ok)))
				base, guarded := sm.LoadAndSave(baseMux), sm.LoadAndSave(guardMux)
				req := httptest.NewRequest("GET", "/orgs/org_a/dash", nil)
				req.AddCookie(sessionCookie(b, sm, "usr_bob"))
				serve := func(h http.Handler) time.Duration {
					start := time.Now()
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					d := time.Since(start)
					if rec.Code != 200 {
						b.Fatalf("status %d", rec.Code)
					}
					return d
				}
				serve(base)
				serve(guarded)
				var tBase, tGuard time.Duration
				n := 0
				b.ResetTimer()
				for b.Loop() {
					if n%2 == 0 {
						tBase += serve(base)
						tGuard += serve(guarded)
					} else {
						tGuard += serve(guarded)
						tBase += serve(base)
					}
					n++
				}
				b.ReportMetric(float64(tBase.Nanoseconds())/float64(n), "base-ns/req")
				b.ReportMetric(float64(tGuard.Nanoseconds())/float64(n), "guarded-ns/req")
				b.ReportMetric(float64(tGuard)/float64(tBase), "ratio")
			})
		}
	}
}
