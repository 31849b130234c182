-- 0011_webhook_revision: a revision per webhook endpoint, counted up by
-- every write of an endpoint, so that UpdateWebhookEndpoint is a
-- compare-and-swap (store.ErrWebhookEndpointStale): a rotation, an update
-- and a dispatcher's disable at once never undo one another.

ALTER TABLE webhook_endpoints ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
