package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/invitekit/invitekit/store"
)

const (
	eventColumns = `seq, id, org_id, type, user_id, actor_id, data, create_time`

	insertEventHead = `INSERT INTO events (id, org_id, type, user_id, actor_id, data, create_time) VALUES `
	eventInsertCols = 7
	qListEvents     = `SELECT ` + eventColumns + ` FROM events WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?`
)

// appendEvent appends ev (see eventArgs).
func (t *wtx) appendEvent(ev store.Event) error {
	args, err := eventArgs(nil, ev)
	if err != nil {
		return err
	}
	return t.insertRows(insertEventHead, eventInsertCols, args)
}

// eventArgs appends ev's insert arguments; an empty ID gets a new "evt_"
// id. The store assigns Seq.
func eventArgs(args []any, ev store.Event) ([]any, error) {
	if ev.ID == "" {
		ev.ID = store.NewID("evt")
	}
	data, err := jsonMap(ev.Data)
	if err != nil {
		return nil, err
	}
	return append(args, ev.ID, ev.OrganizationID, string(ev.Type), ev.UserID, ev.ActorID, textArg(data), tsOf(ev.CreateTime)), nil
}

// AppendEvent implements store.Events.
func (s *Store) AppendEvent(ctx context.Context, ev store.Event) error {
	return s.write(ctx, func(t *wtx) error {
		err := t.appendEvent(ev)
		return err
	})
}

// ListEvents implements store.Events.
func (s *Store) ListEvents(ctx context.Context, orgID string, afterSeq int64, limit int) ([]store.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.readRows(ctx, qListEvents, orgID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

// scanEvents reads and closes rows of eventColumns.
func scanEvents(rows *sql.Rows) ([]store.Event, error) {
	defer rows.Close()
	var evs []store.Event
	for rows.Next() {
		var ev store.Event
		var data sql.NullString
		var ct int64
		if err := rows.Scan(&ev.Seq, &ev.ID, &ev.OrganizationID, &ev.Type, &ev.UserID, &ev.ActorID, &data, &ct); err != nil {
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		var err error
		if ev.Data, err = mapOf(data); err != nil {
			return nil, err
		}
		ev.CreateTime = timeOf(ct)
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return evs, nil
}
