package webhookapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/invitekit/invitekit/invite/webhooks"
	"github.com/invitekit/invitekit/invite/webhooks/webhookapi"
	"github.com/invitekit/invitekit/store"
)

// hostile is one bad request and the refusal it must get.
type hostile struct {
	name         string
	method, path string
	body         string
	ctype        string // default application/json when there is a body
	status       int
	code, field  string
}

const (
	invalidArg = "invalid_argument"
	malformed  = "malformed_request"
)

// TestHostileInput sends bad input to every field, query parameter and
// path value of the API (with the default egress rules: https only, no
// private destinations), at app and organization scope, on memstore,
// SQLite and PostgreSQL: each is a 4xx with its code and the field's full
// path, and nothing stored changes.
func TestHostileInput(t *testing.T) {
	forStores(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, webhooks.Config{}, nil)
		e.Org(t, "org_a")
		alice := e.AddActive(t, "org_a", "alice@a.example", "admin").User.ID
		appEP, _ := e.created(t, app, "/api/webhooks/endpoints", `{"url": "https://hooks.example.com/in", "eventTypes": ["membership.created"]}`)
		orgEP, _ := e.created(t, as(alice), "/api/organizations/org_a/webhooks/endpoints", `{"url": "https://hooks.example.com/a", "eventTypes": ["membership.created"]}`)
		e.Invite(t, "org_a", "pat@a.example", "member")
		before := endpointsState(t, e)

		create := func(name, body string, status int, code, field string) hostile {
			return hostile{name: "create/" + name, method: "POST", path: "/api/webhooks/endpoints", body: body, status: status, code: code, field: field}
		}
		withURL := func(u string) string {
			return `{"url": "` + u + `", "eventTypes": ["membership.created"]}`
		}
		withTypes := func(types string) string {
			return `{"url": "https://hooks.example.com/x", "eventTypes": ` + types + `}`
		}
		with := func(kv string) string {
			return `{"url": "https://hooks.example.com/x", "eventTypes": ["membership.created"], ` + kv + `}`
		}
		cases := []hostile{
			create("url missing", `{"eventTypes": ["membership.created"]}`, 422, invalidArg, "url"),
			create("url empty", withURL(""), 422, invalidArg, "url"),
			create("url relative", withURL("hooks.example.com/x"), 422, invalidArg, "url"),
			create("url ftp", withURL("ftp://hooks.example.com/x"), 422, invalidArg, "url"),
			create("url http", withURL("http://hooks.example.com/x"), 422, invalidArg, "url"),
			create("url private", withURL("https://10.0.0.1/x"), 422, invalidArg, "url"),
			create("url loopback", withURL("https://127.0.0.1:8443/x"), 422, invalidArg, "url"),
			create("url loopback v6", withURL("https://[::1]/x"), 422, invalidArg, "url"),
			create("url v4-mapped loopback", withURL("https://[::ffff:127.0.0.1]/x"), 422, invalidArg, "url"),
			create("url metadata", withURL("https://169.254.169.254/latest/meta-data"), 422, invalidArg, "url"),
			create("url localhost", withURL("https://localhost/x"), 422, invalidArg, "url"),
			create("url metadata name", withURL("https://metadata.google.internal/x"), 422, invalidArg, "url"),
			create("url unspecified", withURL("https://0.0.0.0/x"), 422, invalidArg, "url"),
			create("url credentials", withURL("https://user:pw@hooks.example.com/x"), 422, invalidArg, "url"),
			create("url too long", withURL("https://hooks.example.com/"+strings.Repeat("a", 2048)), 422, invalidArg, "url"),
			create("url NUL", withURL(`https://hooks.example.com/\u0000`), 422, invalidArg, "url"),
			create("url newline", withURL(`https://hooks.example.com/\nx`), 422, invalidArg, "url"),
			create("url not UTF-8", withURL("https://hooks.example.com/\xff"), 400, malformed, "url"),
			create("url a number", `{"url": 5, "eventTypes": ["membership.created"]}`, 400, malformed, "url"),
			create("eventTypes missing", `{"url": "https://hooks.example.com/x"}`, 422, invalidArg, "eventTypes"),
			create("eventTypes empty", withTypes(`[]`), 422, invalidArg, "eventTypes"),
			create("eventTypes null", withTypes(`null`), 422, invalidArg, "eventTypes"),
			create("eventTypes unknown", withTypes(`["membership.created", "membership.exploded"]`), 422, invalidArg, "eventTypes[1]"),
			create("eventTypes a store type", withTypes(`["membership.invited"]`), 422, invalidArg, "eventTypes[0]"),
			create("eventTypes empty name", withTypes(`[""]`), 422, invalidArg, "eventTypes[0]"),
			create("eventTypes a string", withTypes(`"membership.created"`), 400, malformed, "eventTypes"),
			create("eventTypes a number inside", withTypes(`["membership.created", 7]`), 400, malformed, "eventTypes[1]"),
			create("eventTypes not UTF-8", withTypes("[\"membership.created\", \"\xfe\"]"), 400, malformed, "eventTypes[1]"),
			create("description too long", with(`"description": "`+strings.Repeat("d", 501)+`"`), 422, invalidArg, "description"),
			create("description newline", with(`"description": "a\nb"`), 422, invalidArg, "description"),
			create("description bell", with(`"description": "a\u0007"`), 422, invalidArg, "description"),
			create("description not UTF-8", with("\"description\": \"\xc3\""), 400, malformed, "description"),
			create("description an object", with(`"description": {}`), 400, malformed, "description"),
			create("organizationId unknown", with(`"organizationId": "org_nowhere"`), 422, invalidArg, "organizationId"),
			create("organizationId NUL", with(`"organizationId": "org\u0000a"`), 422, invalidArg, "organizationId"),
			create("organizationId a number", with(`"organizationId": 5`), 400, malformed, "organizationId"),
			create("own secret", with(`"secret": "whsec_AAAA"`), 400, malformed, "secret"),
			create("unknown nested", with(`"headers": {"x": "y"}`), 400, malformed, "headers"),
			create("trailing data", withURL("https://hooks.example.com/x")+`{}`, 400, malformed, ""),
			create("an array", `[]`, 400, malformed, ""),
			create("empty body", ` `, 400, malformed, ""),
			create("malformed", `{"url": "https://hooks.example.com/x",`, 400, malformed, ""),
			create("too large", with(`"description": "`+strings.Repeat("x", webhookapiMaxBody)+`"`), 413, "body_too_large", ""),
			{name: "create/not JSON", method: "POST", path: "/api/webhooks/endpoints", body: withURL("https://hooks.example.com/x"), ctype: "text/plain", status: 415, code: "unsupported_media_type"},
			{name: "org create/url private", method: "POST", path: "/api/organizations/org_a/webhooks/endpoints", body: withURL("https://192.168.1.1/x"), status: 422, code: invalidArg, field: "url"},
			{name: "org create/url http", method: "POST", path: "/api/organizations/org_a/webhooks/endpoints", body: withURL("http://hooks.example.com/x"), status: 422, code: invalidArg, field: "url"},
			{name: "org create/eventTypes unknown", method: "POST", path: "/api/organizations/org_a/webhooks/endpoints", body: withTypes(`["x"]`), status: 422, code: invalidArg, field: "eventTypes[0]"},

			{name: "update/url private", method: "PATCH", path: "/api/webhooks/endpoints/" + appEP, body: `{"url": "https://172.16.0.1/x"}`, status: 422, code: invalidArg, field: "url"},
			{name: "update/url http", method: "PATCH", path: "/api/webhooks/endpoints/" + appEP, body: `{"url": "http://hooks.example.com/x"}`, status: 422, code: invalidArg, field: "url"},
			{name: "update/url empty", method: "PATCH", path: "/api/webhooks/endpoints/" + appEP, body: `{"url": ""}`, status: 422, code: invalidArg, field: "url"},
			{name: "update/eventTypes empty", method: "PATCH", path: "/api/webhooks/endpoints/" + appEP, body: `{"eventTypes": []}`, status: 422, code: invalidArg, field: "eventTypes"},
			{name: "update/eventTypes unknown", method: "PATCH", path: "/api/webhooks/endpoints/" + appEP, body: `{"eventTypes": ["membership.created", "nope"]}`, status: 422, code: invalidArg, field: "eventTypes[1]"},
			{name: "update/description too long", method: "PATCH", path: "/api/webhooks/endpoints/" + appEP, body: `{"description": "` + strings.Repeat("d", 501) + `"}`, status: 422, code: invalidArg, field: "description"},
			{name: "update/enabled a string", method: "PATCH", path: "/api/webhooks/endpoints/" + appEP, body: `{"enabled": "yes"}`, status: 400, code: malformed, field: "enabled"},
			{name: "update/organizationId", method: "PATCH", path: "/api/webhooks/endpoints/" + appEP, body: `{"organizationId": "org_a"}`, status: 400, code: malformed, field: "organizationId"},
			{name: "update/a valid field beside a bad one", method: "PATCH", path: "/api/webhooks/endpoints/" + appEP, body: `{"description": "fine", "url": "https://10.0.0.2/"}`, status: 422, code: invalidArg, field: "url"},
			{name: "org update/url loopback", method: "PATCH", path: "/api/organizations/org_a/webhooks/endpoints/" + orgEP, body: `{"url": "https://127.0.0.2/"}`, status: 422, code: invalidArg, field: "url"},
			{name: "org update/organizationId", method: "PATCH", path: "/api/organizations/org_a/webhooks/endpoints/" + orgEP, body: `{"organizationId": ""}`, status: 400, code: malformed, field: "organizationId"},

			{name: "deliveries/status", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?status=LOST", status: 422, code: invalidArg, field: "status"},
			{name: "deliveries/limit 0", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?limit=0", status: 422, code: invalidArg, field: "limit"},
			{name: "deliveries/limit 1001", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?limit=1001", status: 422, code: invalidArg, field: "limit"},
			{name: "deliveries/limit word", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?limit=ten", status: 422, code: invalidArg, field: "limit"},
			{name: "deliveries/pageSize 0", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?pageSize=0", status: 422, code: invalidArg, field: "pageSize"},
			{name: "deliveries/pageSize 1001", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?pageSize=1001", status: 422, code: invalidArg, field: "pageSize"},
			{name: "deliveries/pageSize negative", method: "GET", path: "/api/organizations/org_a/webhooks/endpoints/" + orgEP + "/deliveries?pageSize=-2", status: 422, code: invalidArg, field: "pageSize"},
			{name: "deliveries/pageSize word", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?pageSize=ten", status: 422, code: invalidArg, field: "pageSize"},
			{name: "deliveries/pageSize empty", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?pageSize=", status: 422, code: invalidArg, field: "pageSize"},
			{name: "deliveries/pageSize and limit", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?pageSize=5&limit=5", status: 422, code: invalidArg, field: "pageSize"},
			{name: "deliveries/pageToken made up", method: "GET", path: "/api/organizations/org_a/webhooks/endpoints/" + orgEP + "/deliveries?pageToken=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", status: 422, code: invalidArg, field: "pageToken"},
			{name: "deliveries/pageToken a number", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?pageToken=42", status: 422, code: invalidArg, field: "pageToken"},
			{name: "deliveries/pageToken too long", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?pageToken=" + strings.Repeat("A", 300), status: 422, code: invalidArg, field: "pageToken"},
			{name: "deliveries/query not UTF-8", method: "GET", path: "/api/webhooks/endpoints/" + appEP + "/deliveries?status=%FF", status: 422, code: invalidArg, field: "status"},
			{name: "events/after negative", method: "GET", path: "/api/events?after=-1", status: 422, code: invalidArg, field: "after"},
			{name: "events/after word", method: "GET", path: "/api/events?after=latest", status: 422, code: invalidArg, field: "after"},
			{name: "events/after too big", method: "GET", path: "/api/events?after=99999999999999999999", status: 422, code: invalidArg, field: "after"},
			{name: "events/limit", method: "GET", path: "/api/events?limit=5000", status: 422, code: invalidArg, field: "limit"},
			{name: "org events/after", method: "GET", path: "/api/organizations/org_a/events?after=1.5", status: 422, code: invalidArg, field: "after"},
			{name: "org events/limit", method: "GET", path: "/api/organizations/org_a/events?limit=-3", status: 422, code: invalidArg, field: "limit"},
			{name: "org events/query NUL", method: "GET", path: "/api/organizations/org_a/events?after=%00", status: 422, code: invalidArg, field: "after"},
			{name: "path/endpointID not UTF-8", method: "GET", path: "/api/webhooks/endpoints/%FF", status: 400, code: malformed, field: "endpointID"},
			{name: "path/endpointID control", method: "DELETE", path: "/api/webhooks/endpoints/a%07b", status: 400, code: malformed, field: "endpointID"},
			{name: "path/endpointID too long", method: "GET", path: "/api/webhooks/endpoints/" + strings.Repeat("w", 300), status: 400, code: malformed, field: "endpointID"},
			{name: "path/messageID", method: "POST", path: "/api/webhooks/endpoints/" + appEP + "/deliveries/%FE/replay", status: 400, code: malformed, field: "messageID"},
			{name: "path/orgID", method: "GET", path: "/api/organizations/%FF/events", status: 400, code: malformed, field: "orgID"},
			{name: "method", method: "PUT", path: "/api/webhooks/endpoints/" + appEP, body: `{}`, status: 405, code: "method_not_allowed"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				who := app
				if strings.HasPrefix(c.path, "/api/organizations/") {
					who = as(alice)
				}
				r := e.doType(t, who, c.method, c.path, c.body, c.ctype)
				require.Equal(t, c.status, r.status, r.body)
				require.Equal(t, c.code, r.errorCode(), r.body)
				require.Equal(t, c.field, r.errorField(), r.body)
				require.NotEmpty(t, r.errorPart("message"))
			})
		}
		require.Equal(t, before, endpointsState(t, e), "no refusal changed anything")
	})
}

// webhookapiMaxBody is the default body limit.
const webhookapiMaxBody = webhookapi.DefaultMaxBodyBytes
