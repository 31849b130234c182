package authflow_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoMiddlewareDependency: authflow shares the session keys with
// middleware through internal/sessionkeys, not by importing it (an app may
// use either package alone).
func TestNoMiddlewareDependency(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("skipping: the go command is not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	found := false
	for _, d := range deps {
		switch d {
		case "github.com/invitekit/invitekit/middleware":
			t.Errorf("authflow depends on %s", d)
		case "github.com/invitekit/invitekit/internal/sessionkeys":
			found = true
		}
	}
	if !found {
		t.Errorf("authflow does not use internal/sessionkeys; deps:\n%s", out)
	}
}
