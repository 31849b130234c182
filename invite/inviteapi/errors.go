package inviteapi

import (
	"net/http"

	"github.com/invitekit/invitekit/internal/httpx"
)

// Errors of the HTTP layer (possibly wrapped; test with errors.Is). They
// are the kit's shared values: middleware and the team page return the
// same ones for the same meaning. The Service's errors are invite.Err….
var (
	// ErrUnauthenticated is returned by an Authorizer when the request
	// carries no (valid) credentials (401).
	ErrUnauthenticated = httpx.ErrUnauthenticated
	// ErrPermissionDenied is returned by an Authorizer to refuse (403).
	ErrPermissionDenied = httpx.ErrPermissionDenied
	// ErrBodyTooLarge: the request body exceeds HandlerConfig.MaxBodyBytes (413).
	ErrBodyTooLarge = httpx.ErrBodyTooLarge
	// ErrUnsupportedMediaType: a request body that is not application/json (415).
	ErrUnsupportedMediaType = httpx.ErrUnsupportedMediaType
	// ErrMethodNotAllowed: the route exists but not for this method (405).
	ErrMethodNotAllowed = httpx.ErrMethodNotAllowed
	// ErrCrossOrigin: a cross-origin browser request to a state-changing
	// route was refused (403).
	ErrCrossOrigin = httpx.ErrCrossOrigin
	// ErrBulkBusy: the organization already runs as many bulk imports as
	// BulkJobsConfig allows (429).
	ErrBulkBusy = httpx.ErrTooManyImports
)

// Problem is how an error renders: HTTP status, machine-readable code, the
// full path of the field at fault, and a message safe to show.
type Problem = httpx.Problem

// CrossOrigin is the cross-origin option of HandlerConfig and
// BulkHandlerConfig (and of every other handler config in the kit). Its
// zero value refuses cross-origin state-changing browser requests.
type CrossOrigin = httpx.CrossOrigin

// Router is what Routes registers on: *http.ServeMux and chi.Router.
type Router = httpx.Router

// ProblemOf maps any error of the Service, the stores or the HTTP layer to
// its rendering. It is the one table every surface of the kit uses: the
// same error has the same status, code and JSON shape everywhere. Unknown
// errors are 500 "internal" (their text is never shown).
func ProblemOf(err error) Problem { return httpx.ProblemOf(err) }

// WriteError writes err as every JSON surface does: the status of
// ProblemOf(err) and {"error": {"code", "message", "field"}}.
func WriteError(w http.ResponseWriter, err error) { httpx.WriteError(w, err) }
