package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/middleware"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// textStores are the stores an id the text rule refuses could hurt:
// PostgreSQL refuses NUL and invalid UTF-8 with an error (a 500 if such an
// id reached it), SQLite keeps them.
func textStores(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"sqlitestore": func(t *testing.T) store.Store {
			st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "mw.db"), sqlitestore.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"pgstore": func(t *testing.T) store.Store {
			dsn := os.Getenv("INVITEKIT_POSTGRES_DSN")
			if dsn == "" {
				t.Skip("INVITEKIT_POSTGRES_DSN not set: skipping Postgres tests")
			}
			ctx := context.Background()
			schema := fmt.Sprintf("mw_text_%d", rand.Uint64()%1e12)
			st, err := pgstore.Open(ctx, dsn, pgstore.Config{Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				st.Close()
				if conn, err := pgx.Connect(ctx, dsn); err == nil {
					conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
					conn.Close(ctx)
				}
			})
			return st
		},
	}
}

// TestRequireMemberRefusesHostileOrgIDs: a signed-in user asking for
// /orgs/<id>/dashboard with an id no organization can have (NUL, bytes
// that are no UTF-8, an overlong encoding, a control character, too long)
// gets 400 malformed_request naming orgID, on every store, and the store
// is never asked (so PostgreSQL cannot turn it into a 500).
func TestRequireMemberRefusesHostileOrgIDs(t *testing.T) {
	ids := map[string]string{
		"NUL":           "org%00a",
		"invalid UTF-8": "%FF",
		"Latin-1":       "org_%E9",
		"overlong":      "%C0%AF",
		"surrogate":     "%ED%A0%80",
		"C1 control":    "org%C2%85",
		"escape":        "org%1B",
		"oversized":     strings.Repeat("a", 129),
	}
	for name, open := range textStores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			seed(t, st)
			app, sm, _ := newApp(t, st, middleware.Config{Now: func() time.Time { return t0 }})
			cookie := sessionCookie(t, sm, "usr_ann")
			do := func(path string, api bool) *httptest.ResponseRecorder {
				req := httptest.NewRequest("GET", path, nil)
				if api {
					req.Header.Set("Accept", "application/json")
				}
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				app.ServeHTTP(rec, req)
				return rec
			}
			if rec := do("/orgs/org_a/dash", true); rec.Code != http.StatusOK {
				t.Fatalf("member: %d %s", rec.Code, rec.Body)
			}
			for what, id := range ids {
				rec := do("/orgs/"+id+"/dash", true)
				var body struct {
					Error struct{ Code, Field, Message string } `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusBadRequest ||
					body.Error.Code != "malformed_request" || body.Error.Field != "orgID" || body.Error.Message == "" {
					t.Errorf("%s (%s): %d %s", what, id, rec.Code, rec.Body)
				}
				if rec := do("/orgs/"+id+"/dash", false); rec.Code != http.StatusBadRequest {
					t.Errorf("%s (%s), HTML: %d %s", what, id, rec.Code, rec.Body)
				}
			}
		})
	}
}

func TestResolversRefuseHostileText(t *testing.T) {
	for _, tt := range []struct {
		resolver middleware.OrgResolver
		set      func(r *http.Request, v string)
		field    string
	}{
		{middleware.PathValue("orgID"), func(r *http.Request, v string) { r.SetPathValue("orgID", v) }, "orgID"},
		{middleware.Header("x-org-id"), func(r *http.Request, v string) { r.Header["X-Org-Id"] = []string{v} }, "X-Org-Id"},
	} {
		for _, v := range []string{"org\x00", "org\xff", "\xc0\xaf", "org\u0085", "org\x7f", "or g", strings.Repeat("b", 129)} {
			r := httptest.NewRequest("GET", "/", nil)
			tt.set(r, v)
			_, err := tt.resolver.OrgID(r)
			var fe *store.FieldError
			if !errorsAs(err, &fe) || fe.Field != tt.field || fe.Code != store.CodeMalformedRequest || !isNoOrg(err) {
				t.Errorf("%s %q: %v", tt.field, v, err)
			}
		}
	}
	// A subdomain label is a DNS label: the host names the field.
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "a\xffb.example.com"
	_, err := middleware.Subdomain("example.com").OrgID(r)
	var fe *store.FieldError
	if !errorsAs(err, &fe) || fe.Field != "host" || !isNoOrg(err) {
		t.Errorf("subdomain: %v", err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func isNoOrg(err error) bool { return errors.Is(err, middleware.ErrNoOrg) }
