-- 0010_webhook_health: since when an endpoint has failed without a success
-- (store.WebhookEndpointHealth; the dispatcher disables an endpoint that has
-- failed for too long), and the index the in-order claim uses to find an
-- earlier PENDING delivery of the same endpoint and organization.

ALTER TABLE webhook_endpoints ADD COLUMN failing_since INTEGER;
CREATE INDEX webhook_deliveries_group ON webhook_deliveries (endpoint_id, org_id, seq) WHERE status = 'PENDING';
