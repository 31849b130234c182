package mailer

import "errors"

// PermanentError marks a delivery failure that retrying cannot fix: a
// malformed address, a header injection attempt, an unsealing error, a
// missing accept link, a recipient the server rejected for good. The
// dispatcher dead-letters such a message at once instead of retrying it. (A
// template that fails is not permanent: see Dispatcher.)
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError (nil stays nil). A Mailer returns
// Permanent(err) to tell the dispatcher not to retry.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	var pe *PermanentError
	if errors.As(err, &pe) {
		return err
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or an error it wraps) is a PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}
