package sqlitestore

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"
)

// checkpointEvery is how many items CreateMemberships writes between two
// background checkpoints.
const checkpointEvery = 2000

// checkpointer copies the WAL into the database file on its own
// connection, so a bulk import's writer does not wait for it: after every
// checkpointEvery items CreateMemberships wrote, it runs one PASSIVE
// checkpoint (which never blocks writers or readers and copies only what
// was committed when it started). The writer's own automatic checkpoint
// (wal_autocheckpoint) stays on as the backstop for every other write.
type checkpointer struct {
	db      *sql.DB
	log     *slog.Logger
	pending atomic.Int64  // items written since the last kick
	runs    atomic.Int64  // checkpoints done (for tests)
	kick    chan struct{} // buffered (1): kicks coalesce; never closed
	quit    chan struct{}
	done    chan struct{}
}

func startCheckpointer(ctx context.Context, dsn string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	c := &checkpointer{db: db, log: log, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
			if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
				c.log.Warn("sqlitestore: background checkpoint failed", "err", err)
				continue
			}
			c.runs.Add(1)
		}
	}
}

// wrote records n items written (committed) and kicks a checkpoint every
// checkpointEvery items. It never blocks.
func (c *checkpointer) wrote(n int) {
	if c.pending.Add(int64(n)) < checkpointEvery {
		return
	}
	c.pending.Store(0)
	select {
	case c.kick <- struct{}{}:
	default: // one is already due
	}
}

// stop ends the goroutine (after a running checkpoint) and closes the
// connection.
func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
	c.db.Close()
}
