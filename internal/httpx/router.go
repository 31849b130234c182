package httpx

import (
	"net/http"
	"slices"
	"strings"
)

// Router is what a handler's Routes method registers on: *http.ServeMux
// and chi.Router both have this method (chi fills r.PathValue too).
type Router interface {
	Handle(pattern string, handler http.Handler)
}

// Methods returns a handler that calls the handler registered for the
// request's method. Any other method gets the header Allow and
// fail(w, r, ErrMethodNotAllowed). Patterns carry no method, so the same
// handler works on ServeMux and chi. HEAD is served only where it is
// registered (see WithHead): a GET that changes state must not run on HEAD.
func Methods(handlers map[string]http.HandlerFunc, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	allow := make([]string, 0, len(handlers))
	for m := range handlers {
		allow = append(allow, m)
	}
	slices.Sort(allow)
	allowHeader := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn, ok := handlers[r.Method]
		if !ok {
			w.Header().Set("Allow", allowHeader)
			fail(w, r, ErrMethodNotAllowed)
			return
		}
		fn(w, r)
	})
}

// WithHead adds HEAD, served by the GET handler, to handlers that have a
// GET and no HEAD; it returns handlers.
func WithHead(handlers map[string]http.HandlerFunc) map[string]http.HandlerFunc {
	if get, ok := handlers[http.MethodGet]; ok {
		if _, ok := handlers[http.MethodHead]; !ok {
			handlers[http.MethodHead] = get
		}
	}
	return handlers
}

// JoinPath joins a mount prefix ("" or "/api"; a trailing slash is
// ignored) and a route path.
func JoinPath(prefix, path string) string {
	return strings.TrimSuffix(prefix, "/") + path
}
