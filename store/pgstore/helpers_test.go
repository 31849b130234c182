package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/store/pgstore"
)

// dsnEnv names the environment variable holding the test database's DSN.
const dsnEnv = "INVITEKIT_POSTGRES_DSN"

// testDSN returns the test database's DSN or skips the test.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skip(dsnEnv + " not set: skipping Postgres tests")
	}
	return dsn
}

// newSchemaName returns a fresh schema name "ik_<16 hex>".
func newSchemaName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "ik_" + hex.EncodeToString(b)
}

// freshSchema returns a new schema name that is dropped (with everything in
// it) when the test ends. The schema itself is created by pgstore.New.
func freshSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	schema := newSchemaName()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// newPool returns a pool on the test database, closed when the test ends.
// edit may change its config (application_name, search_path, hooks).
func newPool(t testing.TB, edit ...func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatalf("parse %s: %v", dsnEnv, err)
	}
	for _, e := range edit {
		e(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if err := pool.Ping(context.Background()); err != nil {
		pool.Close()
		t.Fatalf("%s is set but the database is unreachable: %v", dsnEnv, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newStore returns a Store on its own pool and fresh schema.
func newStore(t testing.TB) *pgstore.Store {
	t.Helper()
	schema := freshSchema(t)
	pool := newPool(t)
	st, err := pgstore.New(context.Background(), pool, pgstore.Config{Schema: schema})
	if err != nil {
		t.Fatalf("pgstore.New: %v", err)
	}
	return st
}
