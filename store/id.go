package store

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// idEncoding is Crockford's base32 alphabet in lower case (ids were
// written as the upper-case encoding lowered: the same text).
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// formatID is prefix + "_" + the encoding of b, in one allocation (ids
// are made several times per invite, millions of times in a bulk import).
func formatID(prefix string, b *[16]byte) string {
	var enc [26]byte // idEncoding.EncodedLen(16)
	idEncoding.Encode(enc[:], b[:])
	var sb strings.Builder
	sb.Grow(len(prefix) + 1 + len(enc))
	sb.WriteString(prefix)
	sb.WriteByte('_')
	sb.Write(enc[:])
	return sb.String()
}

// NewID returns a new unique id with the given prefix, for example
// NewID("usr") → "usr_01JD…". Ids sort roughly by creation time (the first
// 48 bits are milliseconds since the Unix epoch, the remaining 80 random).
func NewID(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:]) // never returns an error (crypto/rand, Go 1.24+)
	return formatID(prefix, &b)
}

// NewRandomID returns a new unique id with the given prefix whose 128 bits
// are all random: unlike NewID it carries no creation time. Ids that an
// organization-scoped caller sees for a person shared with other
// organizations (users, profiles) use it, so that an id tells nobody when
// the person first appeared.
func NewRandomID(prefix string) string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	return formatID(prefix, &b)
}
