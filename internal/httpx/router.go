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
// request's method. GET also serves HEAD. Any other method gets the
// header Allow and fail(w, r, ErrMethodNotAllowed). Patterns carry no
// method, so the same handler works on ServeMux and chi.
func Methods(handlers map[string]http.HandlerFunc, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	allow := make([]string, 0, len(handlers)+1)
	for m := range handlers {
		allow = append(allow, m)
	}
	if _, ok := handlers[http.MethodGet]; ok {
		if _, ok := handlers[http.MethodHead]; !ok {
			allow = append(allow, http.MethodHead)
		}
	}
	slices.Sort(allow)
	allowHeader := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn, ok := handlers[r.Method]
		if !ok && r.Method == http.MethodHead {
			fn, ok = handlers[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", allowHeader)
			fail(w, r, ErrMethodNotAllowed)
			return
		}
		fn(w, r)
	})
}

// JoinPath joins a mount prefix ("" or "/api"; a trailing slash is
// ignored) and a route path.
func JoinPath(prefix, path string) string {
	return strings.TrimSuffix(prefix, "/") + path
}
