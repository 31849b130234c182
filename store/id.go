package store

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// NewID returns a new unique id with the given prefix, for example
// NewID("usr") → "usr_01JD…". Ids sort roughly by creation time (the first
// 48 bits are milliseconds since the Unix epoch, the remaining 80 random).
func NewID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:]) // never returns an error (crypto/rand, Go 1.24+)
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// NewRandomID returns a new unique id with the given prefix whose 128 bits
// are all random: unlike NewID it carries no creation time. Ids that an
// organization-scoped caller sees for a person shared with other
// organizations (users, profiles) use it, so that an id tells nobody when
// the person first appeared.
func NewRandomID(prefix string) string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}
