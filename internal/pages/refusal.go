package pages

import (
	"bytes"
	"html/template"
	"io"
	"strconv"
)

// Links are where a refusal page's next steps lead; a step whose link is
// empty is not offered.
type Links struct {
	Home          string // the app's home page ("/" when empty)
	SignIn        string // start signing in (again)
	SignOut       string // the sign-out page
	Organizations string // "My organizations" (switch organization)
	Retry         string // the page to try again (the request's own URL)
	Join          string // ask to join an organization (authflow's join page)
}

// Step is one next step on a refusal page.
type Step struct {
	Kind  string // home, signin, signout, signout_other, orgs, retry, restart, join
	Label string
	Href  string
}

// Refusal is a refusal page: chosen by the error table's Code (see
// internal/httpx), in Lang.
type Refusal struct {
	Lang   string
	Status int
	Code   string
	// Key, when set, is the catalog entry to use instead of Code's (a
	// variant of the same code, such as provider_invalid for a provider
	// that answered garbage rather than not at all).
	Key string
	// Message is the error table's message; it is shown only for a code
	// the catalog has no words for.
	Message string
	Links   Links
}

// nextSteps are the steps each code offers, in order (the first is the
// primary button). Codes not listed offer steps by status class.
var nextSteps = map[string][]string{
	"unauthenticated":      {"signin", "home"},
	"not_member":           {"orgs", "signout_other", "home"},
	"invitation_pending":   {"orgs", "signout_other", "home"},
	"membership_inactive":  {"orgs", "signout", "home"},
	"missing_role":         {"orgs", "home"},
	"permission_denied":    {"orgs", "home"},
	"no_organization":      {"orgs", "home"},
	"not_found":            {"home"},
	"invitation_required":  {"join", "signout_other", "home"},
	"invalid_token":        {"home"},
	"missing_token":        {"home"},
	"invite_expired":       {"home"},
	"invite_revoked":       {"home"},
	"invite_used":          {"home", "orgs", "signout_other"},
	"email_mismatch":       {"signout_other", "home"},
	"email_not_verified":   {"restart", "home"},
	"identity_taken":       {"signout_other", "home"},
	"identity_bound":       {"signout_other", "home"},
	"email_link_untrusted": {"restart", "home"},
	"access_denied":        {"restart", "home"},
	"provider_error":       {"restart", "home"},
	"provider_unavailable": {"retry", "home"},
	"provider_invalid":     {"restart", "home"},
	"login_expired":        {"restart", "home"},
	"login_not_started":    {"restart", "home"},
	"rate_limited":         {"retry", "home"},
	"session_unavailable":  {"home"},
	"internal":             {"retry", "home"},
	"unavailable":          {"retry", "home"},
	"signin_pending":       {"signout_other", "home"},
	"signin_inactive":      {"signout_other", "home"},
	"provider_unreachable": {"restart", "home"},
}

// sameAs are codes that share the words of another: the sign-in
// failures where the provider answered, but not usably ("provider_invalid",
// never "could not be reached"), and the codes only the JSON API or a
// form shows (their pages are the generic refusal with the table's
// message in English).
var sameAs = map[string]string{
	// Enterprise SSO: the middleware sends HTML requests to sign in
	// through the organization's connection; the page is the fallback.
	"sso_required":               "unauthenticated",
	"sso_wrong_organization":     "unauthenticated",
	"sso_unsupported":            "generic4",
	"approval_decided":           "generic4",
	"approval_expired":           "generic4",
	"decision_stale":             "generic4",
	"not_approver":               "generic4",
	"approvals_unsupported":      "generic4",
	"webhook_endpoint_conflict":  "generic4",
	"precondition_failed":        "generic4",
	"state_missing":              "login_not_started",
	"state_mismatch":             "login_not_started",
	"return_to_invalid":          "generic4",
	"bad_request":                "generic4",
	"issuer_mismatch":            "provider_invalid",
	"code_missing":               "provider_invalid",
	"code_rejected":              "login_expired",
	"token_exchange_failed":      "provider_invalid",
	"id_token_missing":           "provider_invalid",
	"id_token_expired":           "provider_invalid",
	"id_token_audience":          "provider_invalid",
	"id_token_issuer":            "provider_invalid",
	"id_token_signature":         "provider_invalid",
	"id_token_invalid":           "provider_invalid",
	"id_token_claims":            "provider_invalid",
	"id_token_azp_missing":       "provider_invalid",
	"id_token_azp_mismatch":      "provider_invalid",
	"id_token_iat_missing":       "provider_invalid",
	"id_token_iat_future":        "provider_invalid",
	"id_token_too_old":           "provider_invalid",
	"id_token_not_yet_valid":     "provider_invalid",
	"id_token_auth_time_missing": "provider_invalid",
	"id_token_auth_time_too_old": "login_expired",
	"nonce_mismatch":             "provider_invalid",
	"userinfo_failed":            "provider_invalid",
	"userinfo_subject_mismatch":  "provider_invalid",
	"email_missing":              "provider_invalid",
	"already_invited":            "generic4",
	"already_member":             "generic4",
	"external_id_taken":          "generic4",
	"organization_exists":        "generic4",
	"wrong_status":               "generic4",
	"last_admin":                 "generic4",
	"invalid_argument":           "generic4",
	"cross_origin":               "generic4",
	"body_too_large":             "generic4",
	"unsupported_media_type":     "generic4",
	"method_not_allowed":         "generic4",
	"too_many_imports":           "rate_limited",
	// Requests to join and email domains: the JSON API, the team page
	// and the join page show these.
	"join_request_pending":      "generic4",
	"join_request_cooldown":     "generic4",
	"domain_claimed":            "generic4",
	"domain_unavailable":        "generic4",
	"domain_record_missing":     "generic4",
	"domain_lookup_failed":      "unavailable",
	"join_requests_unsupported": "generic4",
	"domains_unsupported":       "generic4",
}

// Known reports whether the refusal pages decided how code is shown: it
// has words of its own, or shares another's (generic included).
func Known(code string) bool {
	if _, ok := sameAs[code]; ok {
		return true
	}
	return Has(DefaultLang, code+".title")
}

func (r Refusal) key() string {
	for _, c := range []string{r.Key, r.Code} {
		if c == "" {
			continue
		}
		if Has(DefaultLang, c+".title") {
			return c
		}
		if k, ok := sameAs[c]; ok {
			if k == "generic4" && r.Status >= 500 {
				return "generic5"
			}
			return k
		}
	}
	if r.Status >= 500 {
		return "generic5"
	}
	return "generic4"
}

// HasWords reports whether the page has words of its own for r (not the
// generic refusal with the table's message).
func (r Refusal) HasWords() bool { k := r.key(); return k != "generic4" && k != "generic5" }

// Title is the page's heading.
func (r Refusal) Title() string { return T(r.Lang, r.key()+".title") }

// Body says what happened and what to do next.
func (r Refusal) Body() string {
	k := r.key()
	if (k == "generic4" || k == "generic5") && r.Message != "" && supported(r.Lang) == DefaultLang {
		m := r.Message
		if len(m) > 0 && m[0] >= 'a' && m[0] <= 'z' {
			m = string(m[0]-'a'+'A') + m[1:]
		}
		return m + "."
	}
	return T(r.Lang, k+".body")
}

// Steps are the next steps offered, those without a link left out; "go
// home" is always offered.
func (r Refusal) Steps() []Step {
	kinds, ok := nextSteps[r.key()]
	if !ok {
		kinds = []string{"home"}
		if r.Status >= 500 {
			kinds = []string{"retry", "home"}
		}
	}
	home := r.Links.Home
	if home == "" {
		home = "/"
	}
	var out []Step
	for _, k := range kinds {
		href := ""
		switch k {
		case "home":
			href = home
		case "signin", "restart":
			href = r.Links.SignIn
		case "signout", "signout_other":
			href = r.Links.SignOut
		case "orgs":
			href = r.Links.Organizations
		case "retry":
			href = r.Links.Retry
		case "join":
			href = r.Links.Join
		}
		if href == "" {
			continue
		}
		out = append(out, Step{Kind: k, Label: T(r.Lang, "step."+k), Href: href})
	}
	return out
}

var refusalBody = template.Must(template.New("refusal").Parse(`<div class="ik-box">
<h1>{{.R.Title}}</h1>
<p class="ik-lead" role="alert">{{.R.Body}}</p>
{{with .Steps}}<h2>{{$.Next}}</h2>
<ul class="ik-steps">{{range $i, $s := .}}
<li><a class="ik-btn{{if $i}} ik-secondary{{end}}" data-step="{{$s.Kind}}" href="{{$s.Href}}">{{$s.Label}}</a></li>{{end}}
</ul>{{end}}
<p class="ik-code">{{.CodeLabel}}: <code id="error-code">{{.R.Code}}</code> · HTTP {{.R.Status}}</p>
</div>`))

// Content is the refusal's markup for a page's body (an app's own layout
// can place it).
func (r Refusal) Content() template.HTML {
	var b bytes.Buffer
	_ = refusalBody.Execute(&b, struct {
		R               Refusal
		Steps           []Step
		Next, CodeLabel string
	}{r, r.Steps(), T(r.Lang, "refusal.next"), T(r.Lang, "refusal.code")})
	return template.HTML(b.String())
}

// WriteRefusal renders r as a whole page. The caller sets the headers and
// the status.
func WriteRefusal(w io.Writer, r Refusal, brand string) error {
	return Write(w, Page{Lang: supported(r.Lang), Title: r.Title() + " (" + strconv.Itoa(r.Status) + ")", Brand: brand, Body: r.Content()})
}
