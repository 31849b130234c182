package httpx

import "net/http"

// OrgParam is the path wildcard that names the organization in every
// route of the kit: /organizations/{orgID}/….
const OrgParam = "orgID"

// OrgID is the organization named by the request's path ("" when the
// route has no {orgID}), as sent: CheckRequestText (or CheckPathValue)
// refuses a value that breaks the text rule before it is used.
func OrgID(r *http.Request) string { return r.PathValue(OrgParam) }
