// Package webhooks delivers the kit's events to registered HTTP endpoints,
// signed per the Standard Webhooks specification, and serves them as a
// pull feed.
//
// The store writes a delivery for every subscribed endpoint in the
// transaction of the change itself (store.WebhookStore), so a rolled-back
// change sends nothing and a committed one is never lost. A Dispatcher
// claims due deliveries under a lease (safe with many dispatchers on many
// replicas), signs them (webhook-id, webhook-timestamp, webhook-signature
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" with the endpoint's
// "whsec_" secret), POSTs them with a timeout, and retries failures with
// exponential backoff and jitter until MaxAttempts, when the delivery
// becomes a dead letter that Service.Replay (or ReplayDead) sends again.
// An endpoint whose attempts have all failed for DisableAfter (5 days) is
// disabled, which writes a webhook.endpoint_disabled event.
//
// Order: one organization's deliveries to one endpoint go one after
// another in commit order; one waiting for a retry, or claimed by another
// dispatcher, holds back the later ones of its organization and endpoint
// (never another organization's). A receiver that keeps up, or comes back,
// gets each organization's events in order; only a dead letter lets later
// ones pass.
//
// Payloads follow the tenant model: they carry the organization's view of
// the member (store.Membership's ExternalID, Profile, UserMetadata), never
// the shared user's own fields.
package webhooks
