// Package httpx is the HTTP plumbing every surface of the kit shares: the
// Router type routes register on, method dispatch (405 with Allow), the
// one cross-origin option, the organization of a request, JSON responses,
// and the one table that maps every error to an HTTP status, a
// machine-readable code and a message that is safe to show.
//
// It imports only the standard library, package store (the domain's
// sentinel errors) and package csvimport (the file-limit errors), so every
// HTTP package of the kit — the JSON API, the team page, authflow and
// middleware — can use it without importing one another.
package httpx
