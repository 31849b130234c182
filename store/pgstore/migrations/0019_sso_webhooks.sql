-- 0019_sso_webhooks: the webhook types of SSO connection changes
-- (store.WebhookSSOConnectionSaved, …Deleted, WebhookSSOTrustUpdated;
-- named as their store events, like domain.verified). Their payloads
-- carry the event's data only: connection id, issuer, enforce, action,
-- the trusted ids — never the client secret, sealed or not. SSO
-- sign-ins are user.logged_in events and already map to user.signed_in
-- (details.connection_id).
INSERT INTO webhook_event_map (ord, store_type, webhook_type, data_key) VALUES
	(190, 'sso.connection_saved', 'sso.connection_saved', ''),
	(191, 'sso.connection_deleted', 'sso.connection_deleted', ''),
	(192, 'sso.trust_updated', 'sso.trust_updated', '');
