package pages

import "net/http"

// RequestLang is the one language negotiation of every page the kit
// serves (team page, import, accept, sign-in errors, refusals, "My
// organizations"): the person's own locale — userLocale(r), when the app
// gives one (its Config.Locale) — then the request's Accept-Language,
// then the organization's default (orgDefault), then DefaultLang. A
// locale that is not one of Langs is passed over ("fr" → the next
// choice); region and script are ignored ("de-AT" → "de").
func RequestLang(r *http.Request, userLocale func(*http.Request) string, orgDefault string) string {
	user := ""
	if userLocale != nil {
		user = userLocale(r)
	}
	return Negotiate(user, r.Header.Get("Accept-Language"), orgDefault)
}

// SetLangHeaders marks a response as being in lang and as depending on
// Accept-Language (for caches).
func SetLangHeaders(h http.Header, lang string) {
	h.Set("Content-Language", lang)
	h.Add("Vary", "Accept-Language")
}
