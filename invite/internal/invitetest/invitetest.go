// Package invitetest holds the test fixtures the tests of package invite
// and its HTTP packages share: a Service on a fresh store with an
// advanceable clock, store cases (memstore and SQLite), and snapshots of
// everything observable, to check that a refusal changed nothing.
package invitetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/mailer/outbox"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/memstore"
	"github.com/invitekit/invitekit/store/pgstore"
	"github.com/invitekit/invitekit/store/sqlitestore"
	"github.com/jackc/pgx/v5"
)

// TestKey is the 32-byte secret key the tests seal with.
var TestKey = []byte("0123456789abcdef0123456789abcdef")

const AcceptURL = "https://app.example.com/invite/accept"

// Clock is an injectable, advanceable time source.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// StoreCase opens a fresh, empty store.
type StoreCase struct {
	Name string
	Open func(tb testing.TB) store.Store
}

func OpenMem(tb testing.TB) store.Store { return memstore.New() }

// ForEachStore runs fn as a subtest on every store implementation.
func ForEachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, sc := range StoreCases() {
		t.Run(sc.Name, func(t *testing.T) {
			fn(t, sc.Open(t))
		})
	}
}

// Env is a Service on a store with a Clock and a record of change hooks.
type Env struct {
	St    store.Store
	Svc   *invite.Service
	Clock *Clock

	mu      sync.Mutex
	changes []string // "org/user" per OnMembershipChange call
}

func (e *Env) ChangeCalls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.changes...)
}

// NewEnv builds a Service on st; mutate may adjust the Config.
func NewEnv(t testing.TB, st store.Store, mutate func(*invite.Config)) *Env {
	t.Helper()
	e := &Env{St: st, Clock: NewClock()}
	cfg := invite.Config{
		Roles:     []string{"admin", "member", "billing"},
		SecretKey: TestKey,
		AcceptURL: AcceptURL,
		Now:       e.Clock.Now,
		OnMembershipChange: func(orgID, userID string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.changes = append(e.changes, orgID+"/"+userID)
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	svc, err := invite.New(st, cfg)
	if err != nil {
		t.Fatalf("invite.New: %v", err)
	}
	e.Svc = svc
	return e
}

// org creates an organization with a fixed id.
func (e *Env) Org(t testing.TB, id string) store.Organization {
	t.Helper()
	org, _, err := e.Svc.CreateOrganization(context.Background(), invite.CreateOrganizationRequest{ID: id, Name: "Org " + id})
	if err != nil {
		t.Fatalf("CreateOrganization(%s): %v", id, err)
	}
	return org
}

// invite invites email into orgID with default options and returns the
// result; link is requested so tests can accept.
func (e *Env) Invite(t testing.TB, orgID, email string, roles ...string) *invite.InviteResult {
	t.Helper()
	res, err := e.Svc.CreateUserAndMembership(context.Background(), orgID, invite.InviteRequest{
		Email: email, Roles: roles, ReturnAcceptLink: true, InvitedBy: "usr_actor",
		UserProfile: &invite.ProfileInput{FirstName: "Ann", LastName: "Lee"},
	})
	if err != nil {
		t.Fatalf("invite %s into %s: %v", email, orgID, err)
	}
	return res
}

// addActive adds email directly as ACTIVE.
func (e *Env) AddActive(t testing.TB, orgID, email string, roles ...string) *invite.InviteResult {
	t.Helper()
	no := false
	res, err := e.Svc.CreateUserAndMembership(context.Background(), orgID, invite.InviteRequest{
		Email: email, Roles: roles, SendInvitationEmail: &no, InvitedBy: "usr_actor",
	})
	if err != nil {
		t.Fatalf("add %s into %s: %v", email, orgID, err)
	}
	return res
}

// Verified is an identity with a Verified email.
func Verified(email string) invite.AcceptIdentity {
	return invite.AcceptIdentity{Issuer: "https://idp.example.com", Subject: "sub-" + email, Email: email, EmailVerified: true}
}

// Snapshot is everything observable about a set of orgs and emails.
type Snapshot struct {
	Members map[string][]string // org → "user|status|roles|metadata" in order
	Events  map[string][]string // org → event types
	Outbox  map[store.OutboxStatus]int
	Users   map[string]string // email → user id ("" if none)
	Orgs    map[string]bool
}

func TakeSnapshot(t testing.TB, st store.Store, orgIDs, emails []string) Snapshot {
	t.Helper()
	ctx := context.Background()
	s := Snapshot{
		Members: map[string][]string{},
		Events:  map[string][]string{},
		Outbox:  map[store.OutboxStatus]int{},
		Users:   map[string]string{},
		Orgs:    map[string]bool{},
	}
	for _, org := range orgIDs {
		_, err := st.GetOrganization(ctx, org)
		s.Orgs[org] = err == nil
		page, err := st.ListMembers(ctx, org, store.ListOptions{Limit: 1000, Now: time.Now()})
		if err != nil {
			t.Fatalf("ListMembers(%s): %v", org, err)
		}
		for _, m := range page.Members {
			md := make([]string, 0, len(m.Membership.Metadata))
			for k, v := range m.Membership.Metadata {
				md = append(md, k+"="+v)
			}
			sort.Strings(md)
			s.Members[org] = append(s.Members[org], m.User.ID+"|"+string(m.Membership.Status)+"|"+
				joinStrings(m.Membership.Roles)+"|"+joinStrings(md)+"|"+m.Membership.InviteExpireTime.String())
		}
		evs, err := st.ListEvents(ctx, org, 0, 1000)
		if err != nil {
			t.Fatalf("ListEvents(%s): %v", org, err)
		}
		for _, ev := range evs {
			s.Events[org] = append(s.Events[org], ev.Type)
		}
	}
	for _, status := range []store.OutboxStatus{store.OutboxQueued, store.OutboxSent, store.OutboxDead} {
		n, err := st.CountOutbox(ctx, status)
		if err != nil {
			t.Fatalf("CountOutbox: %v", err)
		}
		s.Outbox[status] = n
	}
	for _, email := range emails {
		u, err := st.GetUserByEmail(ctx, email)
		switch {
		case err == nil:
			s.Users[email] = u.ID
		case errors.Is(err, store.ErrNotFound):
			s.Users[email] = ""
		default:
			t.Fatalf("GetUserByEmail: %v", err)
		}
	}
	return s
}

func joinStrings(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// AssertUnchanged fails when after differs from before.
func AssertUnchanged(t testing.TB, before, after Snapshot) {
	t.Helper()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("state changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// AssertFieldError checks err is a *FieldError with code and field.
func AssertFieldError(t testing.TB, err error, code, field string) {
	t.Helper()
	var fe *invite.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want *invite.FieldError", err, err)
	}
	if fe.Code != code || fe.Field != field {
		t.Fatalf("FieldError = {Code:%q Field:%q Message:%q}, want code %q field %q", fe.Code, fe.Field, fe.Message, code, field)
	}
	if fe.Message == "" {
		t.Fatalf("FieldError has no message")
	}
}

// events returns orgID's events.
func (e *Env) Events(t testing.TB, orgID string) []store.Event {
	t.Helper()
	evs, err := e.Svc.Events(context.Background(), orgID, 0, 1000)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return evs
}

// lastEvent returns orgID's newest event.
func (e *Env) LastEvent(t testing.TB, orgID string) store.Event {
	t.Helper()
	evs := e.Events(t, orgID)
	if len(evs) == 0 {
		t.Fatalf("no events in %s", orgID)
	}
	return evs[len(evs)-1]
}

// queued returns orgID's queued outbox messages.
func (e *Env) Queued(t testing.TB, orgID string) []store.OutboxMessage {
	t.Helper()
	msgs, err := e.St.ListOutbox(context.Background(), orgID, store.OutboxQueued, 1000)
	if err != nil {
		t.Fatalf("ListOutbox: %v", err)
	}
	return msgs
}

// OpenLink unseals the accept link of an outbox message.
func OpenLink(t testing.TB, msg store.OutboxMessage) string {
	t.Helper()
	sealer, err := outbox.NewSealer(TestKey)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := sealer.Open(msg.ID, msg.Sealed)
	if err != nil {
		t.Fatalf("open sealed data of %s: %v", msg.ID, err)
	}
	return secret[outbox.SecretAcceptURL]
}

// StoreCases lists the stores the service tests run against: the
// in-memory store and the embedded SQLite store (a fresh file per test).
func StoreCases() []StoreCase {
	return []StoreCase{
		{"memstore", OpenMem},
		{"sqlitestore", OpenSQLite},
	}
}

func OpenSQLite(tb testing.TB) store.Store {
	tb.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(tb.TempDir(), "invitekit.db"), sqlitestore.Config{})
	if err != nil {
		tb.Fatalf("sqlitestore.Open: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// RowSource produces a CSV of n rows generated on the fly (never held in
// memory), each made by Row(i), after Header.
type RowSource struct {
	Header string
	N      int
	Row    func(i int) string
	i      int
	buf    []byte
}

func (s *RowSource) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.buf) == 0 {
			switch {
			case s.Header != "":
				s.buf, s.Header = []byte(s.Header), ""
			case s.i < s.N:
				s.buf = append(s.buf[:0], s.Row(s.i)...)
				s.i++
			case n == 0:
				return 0, io.EOF
			default:
				return n, nil
			}
		}
		c := copy(p[n:], s.buf)
		s.buf, n = s.buf[c:], n+c
	}
	return n, nil
}

// Produced is the number of rows read so far.
func (s *RowSource) Produced() int { return s.i }

// Results reads every row result of rep (from its spool).
func Results(t testing.TB, rep *invite.BulkReport) []invite.BulkRowResult {
	t.Helper()
	res, err := rep.Collect()
	if err != nil {
		t.Fatalf("read results: %v", err)
	}
	return res
}

// CheckSummary checks the summary adds up to the results.
func CheckSummary(t testing.TB, rep *invite.BulkReport) {
	t.Helper()
	var sum invite.BulkSummary
	for i, r := range Results(t, rep) {
		sum.Rows++
		switch r.Status {
		case invite.BulkCreated:
			sum.Created++
		case invite.BulkAlreadyMember:
			sum.AlreadyMember++
		case invite.BulkInvalid:
			sum.Invalid++
		case invite.BulkRefused:
			sum.Refused++
		case invite.BulkDuplicateInFile:
			sum.DuplicateInFile++
		case invite.BulkFailed:
			sum.Failed++
		case invite.BulkHeld:
			sum.Held++
		default:
			t.Fatalf("result %d has status %q", i, r.Status)
		}
		if r.Row != i+1 {
			t.Fatalf("result %d is row %d", i, r.Row)
		}
	}
	if sum != rep.Summary {
		t.Fatalf("summary %+v, counted %+v", rep.Summary, sum)
	}
}

// OpenPostgres opens a pgstore in a fresh schema of INVITEKIT_POSTGRES_DSN
// (dropped at cleanup), or skips the test when the variable is not set.
func OpenPostgres(tb testing.TB) store.Store {
	tb.Helper()
	dsn := os.Getenv("INVITEKIT_POSTGRES_DSN")
	if dsn == "" {
		tb.Skip("INVITEKIT_POSTGRES_DSN is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping pgstore")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("bulk_test_%d", rand.Uint64()%1e12)
	st, err := pgstore.Open(ctx, dsn, pgstore.Config{Schema: schema})
	if err != nil {
		tb.Fatalf("pgstore.Open: %v", err)
	}
	tb.Cleanup(func() {
		st.Close()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
		}
	})
	return st
}

// StoreCasesWithPostgres is StoreCases and pgstore (skipped without
// INVITEKIT_POSTGRES_DSN).
func StoreCasesWithPostgres() []StoreCase {
	return append(StoreCases(), StoreCase{Name: "pgstore", Open: OpenPostgres})
}
