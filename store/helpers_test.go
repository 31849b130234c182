package store_test

import (
	"errors"
	"testing"

	"github.com/invitekit/invitekit/store"
)

func TestFillEvent(t *testing.T) {
	got := store.FillEvent(store.Event{ID: "evt_1", Type: "t"}, "org_1", "usr_1")
	if got.OrganizationID != "org_1" || got.UserID != "usr_1" || got.ID != "evt_1" || got.Type != "t" {
		t.Errorf("empty fields: got %+v", got)
	}
	got = store.FillEvent(store.Event{OrganizationID: "org_set", UserID: "usr_set"}, "org_1", "usr_1")
	if got.OrganizationID != "org_set" || got.UserID != "usr_set" {
		t.Errorf("set fields are kept: got %+v", got)
	}
	got = store.FillEvent(store.Event{}, "org_1", "")
	if got.OrganizationID != "org_1" || got.UserID != "" {
		t.Errorf("no user: got %+v", got)
	}
}

func TestNormalizeListOptions(t *testing.T) {
	for _, tt := range []struct {
		opts  store.ListOptions
		limit int
		after int64
	}{
		{store.ListOptions{}, store.DefaultPageSize, 0},
		{store.ListOptions{Limit: -5}, store.DefaultPageSize, 0},
		{store.ListOptions{Limit: 1}, 1, 0},
		{store.ListOptions{Limit: store.MaxPageSize}, store.MaxPageSize, 0},
		{store.ListOptions{Limit: store.MaxPageSize + 1}, store.MaxPageSize, 0},
		{store.ListOptions{After: "0"}, store.DefaultPageSize, 0},
		{store.ListOptions{After: store.ListCursor(42), Limit: 7}, 7, 42},
		{store.ListOptions{After: store.ListCursor(1<<62 + 3)}, store.DefaultPageSize, 1<<62 + 3},
	} {
		limit, after, err := store.NormalizeListOptions(tt.opts)
		if err != nil || limit != tt.limit || after != tt.after {
			t.Errorf("NormalizeListOptions(%+v) = %d, %d, %v; want %d, %d, nil", tt.opts, limit, after, err, tt.limit, tt.after)
		}
	}
	for _, after := range []string{"-1", "x", "1.5", " 1", "0x10", "99999999999999999999"} {
		_, _, err := store.NormalizeListOptions(store.ListOptions{After: after})
		if !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("cursor %q: err = %v, want ErrInvalidCursor", after, err)
		}
	}
}
