package webhookapi

import "testing"

// TestOrgLastError: an organization's admin learns the receiver's status
// or the kind of failure, never the dialler's text (the address a
// hostname resolved to, the network's errors).
func TestOrgLastError(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"receiver answered 503", "receiver answered 503"},
		{`Post "https://hooks.example.com/x": dial tcp 10.1.2.3:443: webhooks: destination address refused: 10.1.2.3`, "destination address refused"},
		{`Post "https://hooks.example.com/x": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, "timed out"},
		{`Post "https://hooks.example.com/x": dial tcp: lookup hooks.example.com on 10.0.0.53:53: no such host`, "could not deliver"},
		{"endpoint disabled: receiver answered 500", "endpoint disabled"},
	} {
		if got := orgLastError(c.in); got != c.want {
			t.Errorf("orgLastError(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
