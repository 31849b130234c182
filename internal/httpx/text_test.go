package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckRequestText(t *testing.T) {
	long := strings.Repeat("x", MaxQueryValue+1)
	tests := []struct {
		name        string
		target      string
		path        map[string]string
		status      int // 0: accepted
		code, field string
	}{
		{name: "clean", target: "/x?q=ann%20lee&status=ACTIVE&pageSize=10", path: map[string]string{"orgID": "org_a", "userID": "usr_1", "jobID": "job_1"}},
		{name: "non-ASCII is text", target: "/x?q=Jos%C3%A9", path: map[string]string{"orgID": "org_é"}},
		{name: "NUL in orgID", target: "/x", path: map[string]string{"orgID": "org\x00a"}, status: 400, code: "malformed_request", field: "orgID"},
		{name: "Latin-1 userID", target: "/x", path: map[string]string{"orgID": "org_a", "userID": "usr_\xe9"}, status: 400, code: "malformed_request", field: "userID"},
		{name: "overlong jobID", target: "/x", path: map[string]string{"jobID": "\xc0\xaf"}, status: 400, code: "malformed_request", field: "jobID"},
		{name: "oversized orgID", target: "/x", path: map[string]string{"orgID": strings.Repeat("a", 129)}, status: 400, code: "malformed_request", field: "orgID"},
		{name: "NUL in q", target: "/x?q=a%00b", status: 422, code: "invalid_argument", field: "q"},
		{name: "invalid UTF-8 in pageToken", target: "/x?pageToken=%FF", status: 422, code: "invalid_argument", field: "pageToken"},
		{name: "C1 control in email", target: "/x?email=a%C2%85@b.co", status: 422, code: "invalid_argument", field: "email"},
		{name: "oversized dryRun", target: "/x?dryRun=" + long, status: 422, code: "invalid_argument", field: "dryRun"},
		{name: "bad parameter name", target: "/x?a%00=1", status: 422, code: "invalid_argument", field: ""},
		{name: "second value", target: "/x?status=ACTIVE&status=%C0%AF", status: 422, code: "invalid_argument", field: "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			for k, v := range tt.path {
				r.SetPathValue(k, v)
			}
			err := CheckRequestText(r)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			p := ProblemOf(err)
			if p.Status != tt.status || p.Code != tt.code || p.Field != tt.field || p.Message == "" {
				t.Fatalf("ProblemOf(%v) = %+v, want %d %s %q", err, p, tt.status, tt.code, tt.field)
			}
		})
	}
}
