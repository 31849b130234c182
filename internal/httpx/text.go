package httpx

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/invitekit/invitekit/store"
)

// Path wildcards of the kit's routes besides OrgParam.
const (
	UserParam = "userID"
	JobParam  = "jobID"
)

// pathParams are the wildcards CheckRequestText checks.
var pathParams = [...]string{OrgParam, UserParam, JobParam}

// MaxQueryValue bounds any query value; parameters with a limit of their
// own (q, pageToken, email, …) refuse longer values with that limit.
const MaxQueryValue = 2048

// CheckPathValue applies the kit's text rule (store.TextProblem) to the
// value of the path wildcard name: one line of at most store.MaxIDLen
// characters. A refusal is a 400 malformed_request naming the wildcard
// ("orgID is not valid UTF-8"); no such value can name anything.
func CheckPathValue(name, value string) error {
	if p := store.TextProblem(value, store.MaxIDLen, store.TextLine); p != "" {
		return store.Malformed(name, "%s %s", name, p)
	}
	return nil
}

// CheckQuery applies the text rule to every query parameter, name and
// value: one line of at most MaxQueryValue characters. A refusal is a 422
// invalid_argument naming the parameter (of several, the first by name).
func CheckQuery(q url.Values) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if p := store.TextProblem(k, MaxQueryValue, store.TextLine); p != "" {
			return store.Invalid("", "a query parameter name %s", p)
		}
		for _, v := range q[k] {
			if err := store.CheckText(k, v, MaxQueryValue, store.TextLine); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckRequestText applies the text rule to what a request names before a
// handler of the kit uses any of it: the values of the kit's path
// wildcards (orgID, userID, jobID) and the query. Bodies are checked where
// they are decoded (JSON bodies on their raw bytes, form and file values by
// the Service).
func CheckRequestText(r *http.Request) error {
	for _, name := range pathParams {
		if err := CheckPathValue(name, r.PathValue(name)); err != nil {
			return err
		}
	}
	return CheckQuery(r.URL.Query())
}
