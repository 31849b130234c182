package httpx

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/invitekit/invitekit/store"
)

// ReadJSONBody checks that r's body is application/json (or +json) and at
// most limit bytes, and returns it: ErrUnsupportedMediaType (415),
// ErrBodyTooLarge (413), or a 400 malformed_request when it cannot be
// read.
func ReadJSONBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, ErrUnsupportedMediaType
	}
	if r.ContentLength > limit {
		return nil, ErrBodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, ErrBodyTooLarge
		}
		return nil, store.Malformed("", "could not read the request body")
	}
	return body, nil
}
