package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
	"github.com/invitekit/invitekit/store/sqlitestore"
)

// BenchmarkBulkVsFloor is bulk import beside its raw floors, the sides in
// turns in one loop (the order reversed every other iteration) so that
// all see the same machine. Each iteration writes bulkInvites invites (5
// rows each: user, membership, invitation, queued mail, event) per side:
//
//   - service: invite.Service.BulkInvite of as many CSV rows (parsing,
//     validation, sealing the mail; default options) into a database of
//     its own;
//   - store: Store.CreateMemberships in batches of 1,000 (the parameters
//     built before the clock starts, with random user ids as the
//     Service's) into a database of its own;
//   - floor: the same 5 rows per invite into the same tables (with their
//     indexes and the events' trigger) of a third database, as 1,000-row
//     multi-row INSERTs per table with sequential keys, prepared once, one
//     transaction per 1,000 invites, nothing looked up or computed;
//   - bare: as many rows into a table of 4 columns with only its primary
//     key (what pgstore's BenchmarkCopyFloor5000 writes with COPY),
//     1,000-row INSERTs, 5,000 rows per transaction.
//
// The floors run on their own connection with the writer's settings (WAL,
// synchronous NORMAL). It reports each side's rows/s and, per kit side,
// the median of the per-iteration throughput ratios ÷floor and ÷bare (the
// floor's time ÷ the kit's: 0.5 = half the floor's rows/s) and the same
// ratio of the process CPU time spent in each side (cpu-…; on a loaded
// machine the wall times also measure the wait for a core).
//
//	go test -run '^$' -bench BulkVsFloor -benchtime 5x -count 2 ./store/sqlitestore/
func BenchmarkBulkVsFloor(b *testing.B) {
	ctx := context.Background()
	svc := benchService(b, openTemp(b, sqlitestore.Config{}))
	st := openTemp(b, sqlitestore.Config{})
	mustOrg(b, st, "org_bench")
	floor := newInsertFloor(b)
	sides := []struct {
		name string
		run  func(i int) error
		prep func(i int) // before the clock
	}{
		{name: "service", run: func(i int) error {
			rep, err := svc.BulkInvite(ctx, "org_bench", bulkCSV(i), invite.BulkOptions{MaxRows: bulkInvites})
			if err != nil {
				return err
			}
			defer rep.Close()
			if rep.Summary.Created != bulkInvites {
				return fmt.Errorf("summary %+v", rep.Summary)
			}
			return nil
		}},
		{name: "store", run: func(i int) error { return storeBulk(ctx, st, i) }, prep: func(i int) { storeBulkPrep(i) }},
		{name: "floor", run: func(i int) error { return floor.invites(ctx, i) }},
		{name: "bare", run: func(i int) error { return floor.bare(ctx, rowsPerInvite*bulkInvites) }},
	}
	wall := make([][]float64, len(sides))
	cpu := make([][]float64, len(sides))
	for i := 0; b.Loop(); i++ {
		order := []int{0, 1, 2, 3}
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, k := range order {
			if sides[k].prep != nil {
				b.StopTimer()
				sides[k].prep(i)
				b.StartTimer()
			}
			start, c0 := time.Now(), cpuTime(b)
			if err := sides[k].run(i); err != nil {
				b.Fatalf("%s: %v", sides[k].name, err)
			}
			wall[k] = append(wall[k], time.Since(start).Seconds())
			cpu[k] = append(cpu[k], (cpuTime(b) - c0).Seconds())
		}
	}
	rows := float64(rowsPerInvite * bulkInvites)
	for k, side := range sides {
		b.ReportMetric(rows/medianOf(wall[k]), side.name+"-rows/s")
	}
	ratio := func(t [][]float64, kit, floor int) float64 {
		r := make([]float64, len(t[kit]))
		for i := range r {
			r[i] = t[floor][i] / t[kit][i]
		}
		return medianOf(r)
	}
	for kit, name := range []string{"service", "store"} {
		b.ReportMetric(ratio(wall, kit, 2), name+"÷floor")
		b.ReportMetric(ratio(wall, kit, 3), name+"÷bare")
		b.ReportMetric(ratio(cpu, kit, 2), "cpu-"+name+"÷floor")
	}
}

// bulkInvites is the invites each side of BenchmarkBulkVsFloor writes per
// iteration.
const bulkInvites = 10_000

func medianOf(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// benchService is an invite.Service on st with the organization org_bench.
func benchService(b *testing.B, st *sqlitestore.Store) *invite.Service {
	svc, err := invite.New(st, invite.Config{
		Roles: []string{"admin", "member"}, SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		AcceptURL: "https://app.example.com/invite/accept",
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.CreateOrganization(context.Background(), invite.CreateOrganizationRequest{ID: "org_bench", Name: "Bench"}); err != nil {
		b.Fatal(err)
	}
	return svc
}

// bulkCSV is iteration i's CSV invites (email, names, role, one metadata
// key).
func bulkCSV(i int) io.Reader {
	var sb strings.Builder
	sb.WriteString("email,first_name,last_name,roles,metadata.dept\n")
	for j := range bulkInvites {
		fmt.Fprintf(&sb, "s%d-%06d@example.com,First%d,Last%d,member,Sales\n", i, j, j, j)
	}
	return strings.NewReader(sb.String())
}

// storeBulkParams are the store side's parameters of the next iteration.
var storeBulkParams []store.CreateMembershipParams

func storeBulkPrep(i int) {
	storeBulkParams = make([]store.CreateMembershipParams, bulkInvites)
	for j := range storeBulkParams {
		p := inviteParams("org_bench", i*bulkInvites+j)
		// The Service's user and profile ids are random (store.NewRandomID).
		p.User.ID, p.User.Profile.ID = store.NewRandomID("usr"), store.NewRandomID("prof")
		storeBulkParams[j] = p
	}
}

func storeBulk(ctx context.Context, st *sqlitestore.Store, i int) error {
	for lo := 0; lo < bulkInvites; lo += 1000 {
		res, err := st.CreateMemberships(ctx, storeBulkParams[lo:lo+1000])
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				return r.Err
			}
		}
	}
	return nil
}

// insertFloor writes the floors' rows in 1,000-row INSERTs, each prepared
// once.
type insertFloor struct {
	db    *sql.DB
	stmts map[string]*sql.Stmt
	next  int64 // the bare table's last key
	args  []any
	now   time.Time
}

const floorChunk = 1000

func newInsertFloor(b *testing.B) *insertFloor {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "floor.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Config{}) // the kit's schema
	if err != nil {
		b.Fatal(err)
	}
	mustOrg(b, st, "org_bench")
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	if _, err := db.ExecContext(ctx, `CREATE TABLE bare (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL, t INTEGER NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	f := &insertFloor{db: db, stmts: map[string]*sql.Stmt{}, now: time.Now().UTC()}
	b.Cleanup(func() {
		for _, st := range f.stmts {
			st.Close()
		}
	})
	prepare := func(head string, ncols int) {
		tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")"
		st, err := db.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(tuple+", ", floorChunk), ", "))
		if err != nil {
			b.Fatal(err)
		}
		f.stmts[head] = st
	}
	for _, t := range floorTables {
		prepare(t.head, len(t.row(f, "x", 0)))
	}
	prepare(bareHead, 4)
	return f
}

const bareHead = `INSERT INTO bare (id, a, b, t) VALUES `

// insert runs head's 1,000-row INSERT with args.
func (f *insertFloor) insert(ctx context.Context, tx *sql.Tx, head string, args []any) error {
	_, err := tx.StmtContext(ctx, f.stmts[head]).ExecContext(ctx, args...)
	return err
}

// tx runs fn in one transaction.
func (f *insertFloor) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// The floor's tables and columns: what the kit writes for an invite (the
// columns the raw single invite of BenchmarkServiceVsRaw writes).
var floorTables = []struct {
	head string
	row  func(f *insertFloor, key string, i int) []any
}{
	{`INSERT INTO users (id, email, first_name, last_name, create_time, update_time) VALUES `, func(f *insertFloor, key string, i int) []any {
		now := f.now.UnixMicro()
		return []any{"usr_" + key, key + "@example.com", "First" + fmt.Sprint(i), "Last" + fmt.Sprint(i), now, now}
	}},
	{`INSERT INTO memberships (org_id, user_id, seq, status, roles, metadata, invite_expire_time, join_time, update_time, first_name, last_name) VALUES `, func(f *insertFloor, key string, i int) []any {
		now, exp := f.now.UnixMicro(), f.now.Add(15*24*time.Hour).UnixMicro()
		return []any{"org_bench", "usr_" + key, int64(1_000_000_000 + i), "PENDING_INVITE", `["member"]`, `{"dept":"Sales"}`, exp, now, now, "First" + fmt.Sprint(i), "Last" + fmt.Sprint(i)}
	}},
	{`INSERT INTO invitations (id, org_id, user_id, email, verifier_hash, create_time, expire_time) VALUES `, func(f *insertFloor, key string, i int) []any {
		now, exp := f.now.UnixMicro(), f.now.Add(15*24*time.Hour).UnixMicro()
		return []any{"inv_" + key, "org_bench", "usr_" + key, key + "@example.com", floorHash, now, exp}
	}},
	{`INSERT INTO outbox (id, org_id, kind, to_addr, data, sealed, status, next_attempt_time, lease_until, create_time) VALUES `, func(f *insertFloor, key string, i int) []any {
		now := f.now.UnixMicro()
		return []any{"out_" + key, "org_bench", "invitation", key + "@example.com", `{"org_name":"Bench","invitation_id":"x","locale":"en"}`, floorSealed, "QUEUED", now, now, now}
	}},
	{`INSERT INTO events (id, org_id, type, user_id, data, create_time) VALUES `, func(f *insertFloor, key string, i int) []any {
		return []any{"evt_" + key, "org_bench", "membership.invited", "usr_" + key, `{"email":"x","source":"bulk"}`, f.now.UnixMicro()}
	}},
}

var floorHash, floorSealed = make([]byte, 32), make([]byte, 220) // a sealed accept link's size

// invites writes iteration i's invites, 1,000 per transaction; keys are
// sequential (zero-padded, so they also sort in order).
func (f *insertFloor) invites(ctx context.Context, i int) error {
	for lo := i * bulkInvites; lo < (i+1)*bulkInvites; lo += floorChunk {
		err := f.tx(ctx, func(tx *sql.Tx) error {
			for _, t := range floorTables {
				f.args = f.args[:0]
				for j := lo; j < lo+floorChunk; j++ {
					f.args = append(f.args, t.row(f, fmt.Sprintf("f%09d", j), j)...)
				}
				if err := f.insert(ctx, tx, t.head, f.args); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// bare writes n rows (a multiple of 5,000) into the bare table, 5,000 per
// transaction.
func (f *insertFloor) bare(ctx context.Context, n int) error {
	now := f.now.UnixMicro()
	for range n / 5000 {
		err := f.tx(ctx, func(tx *sql.Tx) error {
			for range 5000 / floorChunk {
				f.args = f.args[:0]
				for range floorChunk {
					f.next++
					f.args = append(f.args, f.next, "usr_0123456789abcdefghjkmnpqrs", "someone@example.com", now)
				}
				if err := f.insert(ctx, tx, bareHead, f.args); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkBulkSchemas is Store.CreateMemberships in batches of 1,000
// invites with random user ids (as the Service writes them) into two
// stores in one process, a batch each in turns (the order reversed every
// other iteration): "0020" at schema 0020, where users and memberships
// were WITHOUT ROWID tables keyed by the random ids, and "now" at the
// current schema (0021_rowid_tables: rowid tables, the keys in unique
// indexes). One op is one batch per side. It reports each side's process
// CPU and wall time per invite and the medians of the per-batch ratios
// now ÷ 0020 (below 1: the current schema is cheaper), and per side the
// CPU of the last tenth of the batches ÷ the first tenth's (cpu-growth;
// 1 = flat as the tables grow). The tables grow with the iterations, so
// -benchtime sets the size they reach:
//
//	go test -run '^$' -bench BulkSchemas -benchtime 100x ./store/sqlitestore/
func BenchmarkBulkSchemas(b *testing.B) {
	ctx := context.Background()
	var sides [2]*sqlitestore.Store
	for k, version := range []int{20, 0} {
		var err error
		path := filepath.Join(b.TempDir(), fmt.Sprintf("schema%d.db", k))
		if version == 0 {
			sides[k], err = sqlitestore.Open(ctx, path, sqlitestore.Config{})
		} else {
			sides[k], err = sqlitestore.OpenAtVersion(ctx, path, sqlitestore.Config{}, version)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sides[k].Close() })
		mustOrg(b, sides[k], "org_bench")
	}
	const batch = 1000
	var wall, cpu [2][]float64
	next := 0
	for i := 0; b.Loop(); i++ {
		order := []int{0, 1}
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, k := range order {
			b.StopTimer()
			ps := make([]store.CreateMembershipParams, batch)
			for j := range ps {
				ps[j] = inviteParams("org_bench", next+j)
				ps[j].User.ID, ps[j].User.Profile.ID = store.NewRandomID("usr"), store.NewRandomID("prof")
			}
			b.StartTimer()
			start, c0 := time.Now(), cpuTime(b)
			res, err := sides[k].CreateMemberships(ctx, ps)
			wall[k] = append(wall[k], time.Since(start).Seconds())
			cpu[k] = append(cpu[k], (cpuTime(b) - c0).Seconds())
			if err != nil {
				b.Fatal(err)
			}
			if res[batch-1].Err != nil {
				b.Fatal(res[batch-1].Err)
			}
		}
		next += batch
	}
	sum := func(v []float64) (s float64) {
		for _, x := range v {
			s += x
		}
		return s
	}
	ratio := func(t [2][]float64) float64 {
		r := make([]float64, len(t[0]))
		for i := range r {
			r[i] = t[1][i] / t[0][i]
		}
		return medianOf(r)
	}
	tenth := max(len(cpu[0])/10, 1)
	for k, name := range []string{"0020", "now"} {
		b.ReportMetric(sum(cpu[k])/float64(next)*1e6, "cpu-µs/invite-"+name)
		b.ReportMetric(sum(wall[k])/float64(next)*1e6, "µs/invite-"+name)
		// Whether a batch costs more as the tables grow: the CPU of
		// the last tenth of the batches ÷ the first tenth's.
		b.ReportMetric(sum(cpu[k][len(cpu[k])-tenth:])/sum(cpu[k][:tenth]), "cpu-growth-"+name)
	}
	b.ReportMetric(ratio(cpu), "cpu-now÷0020")
	b.ReportMetric(ratio(wall), "now÷0020")
}
