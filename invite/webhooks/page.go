package webhooks

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/invitekit/invitekit/store"
)

// DefaultDeliveryPageSize is the page size of a DeliveryQuery.PageSize of
// 0; MaxFeedLimit is the largest.
const DefaultDeliveryPageSize = 100

// maxPageToken bounds a page token: the ones DeliveryPage hands out are
// far shorter, anything longer is refused unread.
const maxPageToken = 256

// DeliveryQuery asks for a page of an endpoint's deliveries.
type DeliveryQuery struct {
	// Status keeps only the deliveries with this status ("" = any).
	Status store.WebhookDeliveryStatus
	// PageSize is the most deliveries a page holds (0 means
	// DefaultDeliveryPageSize; at most MaxFeedLimit).
	PageSize int
	// PageToken is the NextPageToken of the page before ("" = the first
	// page). It holds for the endpoint and Status it was handed out for.
	PageToken string
}

// DeliveryPage is a page of an endpoint's deliveries, oldest first.
type DeliveryPage struct {
	Deliveries []Delivery `json:"deliveries"`
	// NextPageToken asks for the next page; "" on the last.
	NextPageToken string `json:"nextPageToken"`
}

// DeliveryPage returns a page of an endpoint's deliveries (orgID, when
// not empty, scopes the lookup as in Endpoint). The store does the paging
// (store.WebhookStore.ListWebhookDeliveries from a Seq): a page token is
// that Seq sealed with the kit's key (Config.Sealer) and bound to the
// endpoint, its organization and q.Status, so it is opaque, cannot be
// made up, and a token of any other endpoint, organization or status is
// refused exactly as one that was never handed out (store.ErrInvalidCursor).
func (s *Service) DeliveryPage(ctx context.Context, orgID, endpointID string, q DeliveryQuery) (DeliveryPage, error) {
	ep, err := s.scoped(ctx, orgID, endpointID)
	if err != nil {
		return DeliveryPage{}, err
	}
	if q.PageSize < 0 || q.PageSize > MaxFeedLimit {
		return DeliveryPage{}, invalid("pageSize", "pageSize must be a number between 1 and %d", MaxFeedLimit)
	}
	size := q.PageSize
	if size == 0 {
		size = DefaultDeliveryPageSize
	}
	bound := pageBinding(ep, q.Status)
	var after int64
	if q.PageToken != "" {
		if after, err = s.openPageToken(bound, q.PageToken); err != nil {
			return DeliveryPage{}, err
		}
	}
	// One more than the page tells whether another follows.
	ds, err := s.wh.ListWebhookDeliveries(ctx, ep.ID, q.Status, after, size+1)
	if err != nil {
		return DeliveryPage{}, err
	}
	page := DeliveryPage{Deliveries: make([]Delivery, 0, min(len(ds), size))}
	if len(ds) > size {
		ds = ds[:size]
		if page.NextPageToken, err = s.pageToken(bound, ds[size-1].Seq); err != nil {
			return DeliveryPage{}, err
		}
	}
	for _, d := range ds {
		page.Deliveries = append(page.Deliveries, deliveryOf(d))
	}
	return page, nil
}

// pageBinding is what a page token is sealed to: it opens for the same
// endpoint, organization and status only.
func pageBinding(ep store.WebhookEndpoint, status store.WebhookDeliveryStatus) string {
	return "webhooks.deliveries.page\x00" + ep.OrganizationID + "\x00" + ep.ID + "\x00" + string(status)
}

func (s *Service) pageToken(bound string, seq int64) (string, error) {
	sealed, err := s.cfg.Sealer.Seal(bound, map[string]string{"after": strconv.FormatInt(seq, 10)})
	if err != nil {
		return "", fmt.Errorf("webhooks: page token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openPageToken returns the Seq of a page token sealed to bound; any
// other token, whatever is wrong with it, is the same store.ErrInvalidCursor.
func (s *Service) openPageToken(bound, token string) (int64, error) {
	if len(token) <= maxPageToken {
		if sealed, err := base64.RawURLEncoding.DecodeString(token); err == nil {
			if v, err := s.cfg.Sealer.Open(bound, sealed); err == nil {
				if n, err := strconv.ParseInt(v["after"], 10, 64); err == nil && n >= 0 {
					return n, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("webhooks: page token: %w", store.ErrInvalidCursor)
}
