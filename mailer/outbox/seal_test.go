package outbox_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/invitekit/invitekit/mailer/outbox"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func mustSealer(t *testing.T, key []byte) *outbox.Sealer {
	t.Helper()
	s, err := outbox.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTrip(t *testing.T) {
	s := mustSealer(t, key)
	secret := map[string]string{outbox.SecretAcceptURL: "https://app.example/accept?token=inv_1.abc"}
	sealed, err := s.Seal("msg_1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("inv_1.abc")) {
		t.Fatal("sealed data contains the link in clear")
	}
	got, err := s.Open("msg_1", sealed)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[outbox.SecretAcceptURL] != secret[outbox.SecretAcceptURL] {
		t.Fatalf("Open = %v, want %v", got, secret)
	}
	// Same input, fresh nonce: never the same ciphertext.
	again, _ := s.Seal("msg_1", secret)
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same data are equal (nonce reused)")
	}
	// Another Sealer with the same key opens it (replicas share the key).
	if _, err := mustSealer(t, bytes.Clone(key)).Open("msg_1", sealed); err != nil {
		t.Fatalf("same key, other Sealer: %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	s := mustSealer(t, key)
	sealed, err := s.Seal("msg_1", map[string]string{outbox.SecretAcceptURL: "https://app.example/a"})
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	other := mustSealer(t, []byte("another key, 32 bytes long......"))
	tests := []struct {
		name   string
		s      *outbox.Sealer
		id     string
		sealed []byte
	}{
		{"other message id", s, "msg_2", sealed},
		{"other key", other, "msg_1", sealed},
		{"tampered", s, "msg_1", tampered},
		{"too short", s, "msg_1", sealed[:5]},
		{"empty", s, "msg_1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.s.Open(tt.id, tt.sealed); err == nil {
				t.Fatalf("Open succeeded: %v", got)
			}
		})
	}
}

func TestNewSealerKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := outbox.NewSealer(make([]byte, n)); !errors.Is(err, outbox.ErrBadKey) {
			t.Errorf("NewSealer(%d bytes): err = %v, want ErrBadKey", n, err)
		}
	}
	if _, err := outbox.NewSealer(make([]byte, outbox.KeySize)); err != nil {
		t.Errorf("NewSealer(KeySize bytes): %v", err)
	}
}

func TestHasLink(t *testing.T) {
	want := map[string]bool{
		outbox.KindInvitation: true, outbox.KindReminder: true, outbox.KindRenewed: true,
		outbox.KindAdded: false, "welcome": false, "": false,
	}
	for kind, link := range want {
		if got := outbox.HasLink(kind); got != link {
			t.Errorf("HasLink(%q) = %v, want %v", kind, got, link)
		}
	}
	if got := outbox.Kinds(); len(got) < 4 || got[0] != outbox.KindInvitation || got[3] != outbox.KindAdded {
		t.Errorf("Kinds() = %v", got)
	}
}
