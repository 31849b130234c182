package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/invitekit/invitekit/store"
)

// Binary COPY encoding of the batch rows.
//
// CreateMemberships COPYs five tables per batch. Going through
// pgx.CopyFrom costs a []any per row, a reflection-based json.Marshal per
// map and a pgtype lookup per value; on a 2-core machine that client-side
// work, not the server, bounded the COPYs (dropping every index of the
// five tables left their duration unchanged). copyBuf writes PostgreSQL's
// binary COPY format directly instead: one growing []byte per table, no
// per-value allocation. The encodings are exactly those pgx uses for the
// same Go values (see each method), so rows read back identically.

// copySignature starts every binary COPY stream: signature, flags (0) and
// header extension length (0).
const copySignature = "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// microsecFromUnixEpochToY2K is PostgreSQL's timestamp epoch (2000-01-01
// UTC) in microseconds since the Unix epoch.
const microsecFromUnixEpochToY2K = 946684800 * 1000000

// copyBuf accumulates one table's binary COPY data. Its zero value is not
// ready: call reset first.
type copyBuf struct {
	b    []byte
	rows int
	err  error // first value that cannot be encoded
}

func (c *copyBuf) reset() {
	c.b = append(c.b[:0], copySignature...)
	c.rows = 0
	c.err = nil
}

// row starts a row of n fields.
func (c *copyBuf) row(n int) {
	c.b = binary.BigEndian.AppendUint16(c.b, uint16(n))
	c.rows++
}

// data returns the finished stream (with its trailer).
func (c *copyBuf) data() []byte {
	return binary.BigEndian.AppendUint16(c.b, 0xffff)
}

func (c *copyBuf) null() {
	c.b = binary.BigEndian.AppendUint32(c.b, math.MaxUint32) // -1
}

func (c *copyBuf) text(s string) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
	c.b = append(c.b, s...)
}

// bytea is nil for a nil slice (as pgx encodes it).
func (c *copyBuf) bytea(v []byte) {
	if v == nil {
		c.null()
		return
	}
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(v)))
	c.b = append(c.b, v...)
}

func (c *copyBuf) bool(v bool) {
	c.b = binary.BigEndian.AppendUint32(c.b, 1)
	if v {
		c.b = append(c.b, 1)
	} else {
		c.b = append(c.b, 0)
	}
}

func (c *copyBuf) int4(v int) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		if c.err == nil {
			c.err = fmt.Errorf("%d is out of range for integer", v)
		}
		v = 0
	}
	c.b = binary.BigEndian.AppendUint32(c.b, 4)
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(int32(v)))
}

func (c *copyBuf) int8(v int64) {
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(v))
}

// timestamptz encodes t as pgx does: microseconds since 2000-01-01 UTC,
// sub-microsecond digits truncated.
func (c *copyBuf) timestamptz(t time.Time) {
	us := t.Unix()*1000000 + int64(t.Nanosecond())/1000 - microsecFromUnixEpochToY2K
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(us))
}

func (c *copyBuf) timestamptzPtr(t *time.Time) {
	if t == nil {
		c.null()
		return
	}
	c.timestamptz(*t)
}

// beginVar reserves a length word for a field written piecewise; endVar
// fills it in.
func (c *copyBuf) beginVar() int {
	c.b = append(c.b, 0, 0, 0, 0)
	return len(c.b)
}

func (c *copyBuf) endVar(start int) {
	binary.BigEndian.PutUint32(c.b[start-4:], uint32(len(c.b)-start))
}

// jsonbMap encodes a map as jsonb (version byte 1, then JSON text), NULL
// for a nil map, like jsonMap. Key order does not matter: jsonb stores
// keys sorted.
func (c *copyBuf) jsonbMap(m map[string]string) {
	if m == nil {
		c.null()
		return
	}
	start := c.beginVar()
	c.b = append(c.b, 1, '{')
	first := true
	for k, v := range m {
		if !first {
			c.b = append(c.b, ',')
		}
		first = false
		c.b = appendJSONString(c.b, k)
		c.b = append(c.b, ':')
		c.b = appendJSONString(c.b, v)
	}
	c.b = append(c.b, '}')
	c.endVar(start)
}

// jsonbList encodes a role list as a jsonb array, NULL for a nil slice,
// like jsonList.
func (c *copyBuf) jsonbList(l []string) {
	if l == nil {
		c.null()
		return
	}
	start := c.beginVar()
	c.b = append(c.b, 1, '[')
	for i, v := range l {
		if i > 0 {
			c.b = append(c.b, ',')
		}
		c.b = appendJSONString(c.b, v)
	}
	c.b = append(c.b, ']')
	c.endVar(start)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string with the value
// encoding/json gives it: quotes, backslashes and control characters
// escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Row encoders, one per table, with the columns of copyCols.

func (c *copyBuf) user(u *store.User) {
	c.row(16)
	c.text(u.ID)
	c.text(u.Email)
	c.text(u.ExternalID)
	c.text(u.Profile.ID)
	c.text(u.Profile.FirstName)
	c.text(u.Profile.LastName)
	c.text(u.Profile.Name)
	c.text(u.Profile.Locale)
	c.bool(u.Profile.EmailVerified)
	c.text(u.Profile.PhoneNumber)
	c.jsonbMap(u.Profile.Metadata)
	c.jsonbMap(u.Profile.CustomAttributes)
	c.jsonbMap(u.Metadata)
	c.timestamptz(u.CreateTime)
	c.timestamptz(u.UpdateTime)
	c.timestamptzPtr(u.LastLogin)
}

func (c *copyBuf) membership(m *store.Membership) {
	c.row(21)
	c.int8(m.Seq)
	c.text(m.OrganizationID)
	c.text(m.UserID)
	c.text(string(m.Status))
	c.jsonbList(m.Roles)
	c.jsonbMap(m.Metadata)
	c.text(m.PrimaryIdentityProvider)
	c.text(m.InvitedBy)
	c.timestamptz(m.InviteExpireTime)
	c.timestamptz(m.JoinTime)
	c.timestamptz(m.UpdateTime)
	c.text(m.ExternalID)
	c.text(m.Profile.FirstName)
	c.text(m.Profile.LastName)
	c.text(m.Profile.Name)
	c.text(m.Profile.Locale)
	c.text(m.Profile.PhoneNumber)
	c.jsonbMap(m.Profile.Metadata)
	c.jsonbMap(m.Profile.CustomAttributes)
	c.jsonbMap(m.UserMetadata)
	c.timestamptzPtr(m.LastLogin)
}

func (c *copyBuf) invitation(inv *store.Invitation) {
	c.row(10)
	c.text(inv.ID)
	c.text(inv.OrganizationID)
	c.text(inv.UserID)
	c.text(inv.Email)
	c.bytea(inv.VerifierHash)
	c.text(inv.InvitedBy)
	c.timestamptz(inv.CreateTime)
	c.timestamptz(inv.ExpireTime)
	c.timestamptzPtr(inv.SpendTime)
	c.timestamptzPtr(inv.RevokeTime)
}

func (c *copyBuf) outbox(m *store.OutboxMessage) {
	c.row(14)
	c.text(m.ID)
	c.text(m.OrganizationID)
	c.text(m.Kind)
	c.text(m.To)
	c.text(m.MessageID)
	c.jsonbMap(m.Data)
	c.bytea(m.Sealed)
	c.text(string(m.Status))
	c.int4(m.Attempts)
	c.timestamptz(m.NextAttemptTime)
	c.timestamptz(m.LeaseUntil)
	c.text(m.LastError)
	c.timestamptz(m.CreateTime)
	c.timestamptzPtr(m.SentTime)
}

func (c *copyBuf) event(ev *store.Event) {
	c.row(7)
	c.text(ev.ID)
	c.text(ev.OrganizationID)
	c.text(ev.Type)
	c.text(ev.UserID)
	c.text(ev.ActorID)
	c.jsonbMap(ev.Data)
	c.timestamptz(ev.CreateTime)
}

// copyColumns returns the columns table's row encoder writes, in order.
func copyColumns(table string) []string {
	switch table {
	case "users":
		return userInsertCols
	case "memberships":
		return append([]string{"seq"}, membershipInsertCols...)
	case "invitations":
		return invitationInsertCols
	case "outbox":
		return outboxInsertCols
	default: // events
		return []string{"id", "org_id", "type", "user_id", "actor_id", "data", "create_time"}
	}
}

// copyData sends c's rows into table. Nothing is sent for no rows.
func (s *Store) copyData(ctx context.Context, tx pgx.Tx, table string, c *copyBuf) error {
	if c.err != nil {
		return fmt.Errorf("pgstore: create memberships: copy %s: %w", table, c.err)
	}
	if c.rows == 0 {
		return nil
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c.data()), s.sql(`COPY {s}.`+table+` (`+strings.Join(copyColumns(table), ", ")+`) FROM STDIN (FORMAT binary)`)); err != nil {
		return fmt.Errorf("pgstore: create memberships: copy %s: %w", table, err)
	}
	return nil
}
