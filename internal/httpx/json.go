package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// ErrorBody is the body of every JSON error response:
// {"error": {"code", "message", "field"}}.
type ErrorBody struct {
	Error ErrorJSON `json:"error"`
}

// ErrorJSON is the error object of ErrorBody.
type ErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// ErrorJSONOf renders err's Problem as the JSON error object.
func ErrorJSONOf(err error) ErrorJSON {
	p := ProblemOf(err)
	return ErrorJSON{Code: p.Code, Message: p.Message, Field: p.Field}
}

// WriteJSON writes v with status. Responses are never cached: they carry
// personal data and sometimes an accept link.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("invitekit: encode response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteError writes err as JSON: the status of ProblemOf(err) and
// {"error": {"code", "message", "field"}}, with Retry-After on a 429 or
// 503 (see RetryError). The message never reveals
// internals (unknown errors are "internal error").
func WriteError(w http.ResponseWriter, err error) {
	p := ProblemOf(err)
	SetRetryAfter(w, err)
	_ = WriteJSON(w, p.Status, ErrorBody{ErrorJSON{Code: p.Code, Message: p.Message, Field: p.Field}})
}
