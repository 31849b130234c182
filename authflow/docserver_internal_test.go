package authflow

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// docServer serves a discovery document naming itself as issuer; its
// keys endpoint is down (503).
type docServer struct {
	*httptest.Server
	docHits, keyHits atomic.Int64
}

func newDocServer(t *testing.T, endSession string) *docServer {
	t.Helper()
	d := &docServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		d.docHits.Add(1)
		doc := map[string]any{
			"issuer": d.URL, "authorization_endpoint": d.URL + "/auth", "token_endpoint": d.URL + "/token",
			"jwks_uri": d.URL + "/keys", "userinfo_endpoint": d.URL + "/userinfo",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		}
		if endSession != "" {
			doc["end_session_endpoint"] = endSession
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		d.keyHits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	d.Server = httptest.NewServer(mux)
	t.Cleanup(d.Close)
	return d
}
