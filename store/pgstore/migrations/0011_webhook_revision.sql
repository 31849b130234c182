-- 0011_webhook_revision: a revision per webhook endpoint, counted up by
-- every write of an endpoint, so that UpdateWebhookEndpoint is a
-- compare-and-swap (store.ErrWebhookEndpointStale): the same as
-- sqlitestore's 0011_webhook_revision.

ALTER TABLE webhook_endpoints ADD COLUMN revision bigint NOT NULL DEFAULT 0;
