package httpx

import "net/http"

// CrossOrigin is the one cross-origin option of every handler config in
// the kit, embedded by value:
//
//	CrossOrigin: httpx.CrossOrigin{Protection: cop}
//
// Its zero value is safe: state-changing requests from other origins are
// refused with http.NewCrossOriginProtection's rules.
type CrossOrigin struct {
	// Protection replaces the default http.NewCrossOriginProtection(), for
	// example to add trusted origins with AddTrustedOrigin.
	Protection *http.CrossOriginProtection
	// InsecureSkipCheck turns the protection off. Only for APIs whose
	// authorization never relies on cookies.
	InsecureSkipCheck bool
}

// Checker returns the protection to apply (nil when turned off).
func (c CrossOrigin) Checker() *http.CrossOriginProtection {
	if c.InsecureSkipCheck {
		return nil
	}
	if c.Protection != nil {
		return c.Protection
	}
	return http.NewCrossOriginProtection()
}

// Check refuses a cross-origin state-changing request with
// ErrCrossOrigin. A nil protection allows everything.
func Check(cop *http.CrossOriginProtection, r *http.Request) error {
	if cop == nil {
		return nil
	}
	if cop.Check(r) != nil {
		return ErrCrossOrigin
	}
	return nil
}
