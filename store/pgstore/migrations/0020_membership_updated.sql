-- 0020_membership_updated: store.WebhookMembershipUpdated — every
-- membership.updated event (roles, metadata, external id, the
-- organization's profile, an SSO sign-in naming its connection), not only
-- one carrying roles (which is also membership.roles_changed, ord 14).
INSERT INTO webhook_event_map (ord, store_type, webhook_type, data_key) VALUES
	(200, 'membership.updated', 'membership.updated', '');
