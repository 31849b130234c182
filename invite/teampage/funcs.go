package teampage

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/invitekit/invitekit/internal/pages"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

var funcs = template.FuncMap{
	// fmtTime, resultLabel and statusLabel are English; the kit's own
	// templates use the page's language instead ({{$.L.Time …}},
	// {{$.L.Result …}}, {{$.L.Status …}}).
	"fmtTime": tr(pages.DefaultLang).Time,
	"isoTime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"statusClass": func(s store.MembershipStatus) string {
		return "ik-badge ik-badge--" + strings.ToLower(strings.ReplaceAll(string(s), "_", "-"))
	},
	"resultLabel": tr(pages.DefaultLang).Result,
	"resultClass": func(s invite.BulkRowStatus) string {
		return "ik-badge ik-result--" + strings.ReplaceAll(string(s), "_", "-")
	},
	"statusLabel": tr(pages.DefaultLang).Status,
	"join":        strings.Join,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	},
	"add": func(a, b int) int { return a + b },
}

// formatBytes renders a size limit for people ("32 MiB").
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func writeJSON(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	w.Write(append(b, '\n'))
}
