package outbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
)

// KeySize is the size of the kit's secret key in bytes.
const KeySize = 32

// ErrBadKey is returned by NewSealer for a key that is not KeySize bytes.
var ErrBadKey = errors.New("outbox: secret key must be 32 bytes")

// Sealer seals the secret part of an outbox message (the accept link) with
// AES-256-GCM so that a dump of the database never yields a working link.
// A Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, ErrBadKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts secret template data, binding it to the outbox message id
// (so a sealed blob cannot be moved to another message).
func (s *Sealer) Seal(messageID string, secret map[string]string) ([]byte, error) {
	plain, err := json.Marshal(secret)
	if err != nil {
		return nil, fmt.Errorf("outbox: seal: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, []byte(messageID)), nil
}

// Open decrypts data sealed by Seal for the same message id.
func (s *Sealer) Open(messageID string, sealed []byte) (map[string]string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("outbox: open: sealed data too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(messageID))
	if err != nil {
		return nil, fmt.Errorf("outbox: open: %w", err)
	}
	var secret map[string]string
	if err := json.Unmarshal(plain, &secret); err != nil {
		return nil, fmt.Errorf("outbox: open: %w", err)
	}
	return secret, nil
}
