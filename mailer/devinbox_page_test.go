package mailer_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/invitekit/invitekit/mailer"
)

// The dev inbox is in the kit's look and speaks the visitor's language.
func TestDevInboxLookAndLanguage(t *testing.T) {
	in := mailer.NewDevInbox(nil)
	in.Send(context.Background(), mailer.Message{To: "ann@example.com", Subject: "Hi", Text: "hello"})
	srv := httptest.NewServer(in.Handler())
	defer srv.Close()
	for _, tt := range []struct{ lang, want string }{
		{"", "Development inbox (1)"},
		{"de-DE,de;q=0.9", "Entwicklungs-Postfach (1)"},
	} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if tt.lang != "" {
			req.Header.Set("Accept-Language", tt.lang)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(b)
		for _, want := range []string{tt.want, `class="ik-shell"`, "prefers-color-scheme", `role="note"`} {
			if !strings.Contains(page, want) {
				t.Errorf("%q: page lacks %q", tt.lang, want)
			}
		}
	}
}
