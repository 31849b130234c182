package pgstore_test

import (
	"context"
	"log"
	"os"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store/pgstore"
)

// Every replica of an app runs the same start-up: one pool, the store on
// it (migrating under an advisory lock, so replicas may start together),
// the invite service, and scs sessions in the same database so that a
// user signed in on one replica is signed in on all.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("INVITEKIT_POSTGRES_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	st, err := pgstore.New(ctx, pool, pgstore.Config{Schema: "invitekit"})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := invite.New(st, invite.Config{
		SecretKey: []byte(os.Getenv("INVITEKIT_SECRET_KEY")), // 32 bytes, the same on every replica
		AcceptURL: "https://app.example.com/invite/accept",
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = svc

	// Sessions: pgxstore uses the table "sessions" in the search_path
	// ("public" by default).
	if err := pgstore.CreateSessionsTable(ctx, pool, "public"); err != nil {
		log.Fatal(err)
	}
	sessions := scs.New()
	sessions.Store = pgxstore.New(pool)
	_ = sessions
}

// Open creates (and Close closes) the pool itself.
func ExampleOpen() {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, "postgres://app@db.internal:5432/app?sslmode=verify-full", pgstore.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
}
