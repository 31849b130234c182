package authflow

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/invitekit/invitekit/internal/httpx"
	"github.com/invitekit/invitekit/internal/ratelimit"
	"github.com/invitekit/invitekit/internal/sessionkeys"
	"github.com/invitekit/invitekit/invite"
	"github.com/invitekit/invitekit/store"
)

// Requests to join and domain auto-join on sign-in.
//
// When a sign-in finds no membership (invitation_required), the callback
// first tries invite.Service.JoinByDomain: a verified email at a domain an
// organization verified with the AUTO_JOIN policy makes the person a member
// at once, and the sign-in goes on as a member's. Otherwise, with
// Config.JoinPath set, it keeps the verified email in the session (never a
// user id: the person is not signed in to the app) and the refusal page
// offers "Ask to join an organization", which leads to the join page.

// DefaultJoinRateLimit is the default of Config.JoinRateLimit: 5 requests
// an hour per person and organization, bursts of 3.
var DefaultJoinRateLimit = RateLimit{Events: 5, Per: time.Hour, Burst: 3}

// JoinView is what the join page shows (Page.Join).
type JoinView struct {
	Email string // the person, as their provider asserted it
	// OrgID and OrgName are the organization asked ("" when the page
	// names none and no verified domain offers one).
	OrgID, OrgName string
	// Offered: the organization comes from the email's verified domain
	// (its MAY_REQUEST policy), not from a link.
	Offered bool
	// Request is the person's newest request to the organization, if any.
	Request *store.JoinRequest
	// CanAsk shows the form; Member says they have a membership there
	// already; Unverified that their email is not verified; Again is when
	// a declined person may ask again.
	CanAsk, Member, Unverified bool
	Again                      time.Time
	// Action is where the form posts; Continue where an approved person
	// goes on (sign in again).
	Action, Continue string
	// Flash is a refusal of the last POST (rate limit, cool-down).
	Flash string
}

// JoinHandler serves the join page at Config.JoinPath (GET, and POST to
// ask) and at an app path naming the organization, such as
// /orgs/{orgID}/join (the app mounts it there too; the {orgID} wildcard
// picks the organization). The person is who the session says: the
// signed-in user, or the verified email kept by a sign-in that found no
// membership. Nobody there: it redirects to the login route, which comes
// back here. POST is cross-origin protected and rate-limited per person and
// organization (Config.JoinRateLimit) and per person (four times that);
// a refusal is the page again with its words, nothing written.
func (f *Flow) JoinHandler() http.Handler {
	post := func(w http.ResponseWriter, r *http.Request) { f.joinPost(w, r, f.join.allow(f.cfg)) }
	return f.methods(httpx.WithHead(map[string]http.HandlerFunc{
		http.MethodGet:  func(w http.ResponseWriter, r *http.Request) { f.joinGet(w, r, "", http.StatusOK) },
		http.MethodPost: f.cop.Handler(http.HandlerFunc(post)).ServeHTTP,
	}))
}

// joinLimits are the join page's limiters, made on first use from
// Config.JoinRateLimit (checked by New): per person and organization, and
// per person (four times that). Every JoinHandler of a Flow shares them,
// so mounting the page twice does not double anyone's budget.
type joinLimits struct {
	once              sync.Once
	perOrg, perPerson *ratelimit.Keyed
}

// allow returns the check of one request of email to orgID.
func (j *joinLimits) allow(cfg Config) func(email, orgID string) (bool, time.Duration) {
	j.once.Do(func() {
		lim, _ := cfg.JoinRateLimit.WithDefault(DefaultJoinRateLimit)
		j.perOrg = ratelimit.NewKeyed(lim, 0, cfg.Now)
		j.perPerson = ratelimit.NewKeyed(ratelimit.Limit{Events: 4 * lim.Events, Per: lim.Per, Burst: 4 * lim.Burst, Off: lim.Off}, 0, cfg.Now)
	})
	return func(email, orgID string) (bool, time.Duration) {
		if ok, after := j.perPerson.Allow(email); !ok {
			return false, after
		}
		return j.perOrg.Allow(email + "\x00" + orgID)
	}
}

// JoinPath is the join page's route (Config.JoinPath; "" when there is none).
func (f *Flow) JoinPath() string { return f.cfg.JoinPath }

// joiner is who asks: their email and whether it is verified.
type joiner struct {
	email    string
	verified bool
}

// whoJoins reads the person from the session: the signed-in user (whose
// session is current), else the email a sign-in without membership kept.
func (f *Flow) whoJoins(r *http.Request) (joiner, error) {
	ctx := r.Context()
	userID, err := f.sess.getString(ctx, sessionkeys.UserID)
	if err != nil {
		return joiner{}, err
	}
	if userID != "" && f.sessionCurrent(r, userID) {
		if email, verified, err := f.svc.UserEmail(ctx, userID); err == nil {
			return joiner{email: email, verified: verified}, nil
		}
	}
	email, err := f.sess.getString(ctx, sessionkeys.JoinEmail)
	if err != nil || email == "" {
		return joiner{}, err
	}
	return joiner{email: email, verified: true}, nil
}

// joinOrg is the organization the page is about: the path's {orgID}, the
// form's or query's "org", or the one an app link put in the session.
func (f *Flow) joinOrg(r *http.Request) (string, error) {
	orgID := httpx.OrgID(r)
	if orgID == "" {
		orgID = r.FormValue("org")
	}
	if orgID == "" {
		id, err := f.sess.getString(r.Context(), sessionkeys.JoinOrg)
		if err != nil {
			return "", err
		}
		orgID = id
	}
	if err := httpx.CheckPathValue("org", orgID); err != nil {
		return "", err
	}
	return orgID, nil
}

func (f *Flow) joinGet(w http.ResponseWriter, r *http.Request, flash string, status int) {
	ctx := r.Context()
	if err := httpx.CheckQuery(r.URL.Query()); err != nil {
		pr := httpx.ProblemOf(err)
		f.renderError(w, r, pageError(err, pr.Field, pr.Message, err))
		return
	}
	orgID, err := f.joinOrg(r)
	if err != nil {
		f.renderJoinError(w, r, err)
		return
	}
	who, err := f.whoJoins(r)
	if err != nil {
		f.renderError(w, r, err)
		return
	}
	if who.email == "" {
		// Nobody: sign in first, and come back to this page (the
		// organization kept in the session, as the sign-in may end on the
		// "invitation required" page whose "Ask to join" leads here).
		if orgID != "" {
			if err := f.sess.put(ctx, sessionkeys.JoinOrg, orgID); err != nil {
				f.renderError(w, r, err)
				return
			}
		}
		http.Redirect(w, r, f.LoginURL(r.URL.Path), http.StatusSeeOther)
		return
	}
	v := &JoinView{Email: who.email, Unverified: !who.verified, Action: r.URL.Path, Flash: flash, Continue: f.cfg.LoginPath}
	var org store.Organization
	if orgID != "" {
		if org, err = f.svc.Organization(ctx, orgID); err != nil {
			f.renderJoinError(w, r, err)
			return
		}
	} else if org, err = f.svc.RequestableOrganization(ctx, who.email); err == nil {
		v.Offered = true
	} else if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrDomainsUnsupported) {
		f.renderError(w, r, internalError(err))
		return
	}
	v.OrgID, v.OrgName = org.ID, org.Name
	if org.ID != "" && who.verified {
		if err := f.joinState(ctx, v); err != nil {
			f.renderError(w, r, internalError(err))
			return
		}
	}
	p := f.page("")
	p.Lang = f.lang(r, org.Locale)
	p.Title = p.T("join.title")
	if org.Name != "" {
		p.Title = p.Tf("join.title_org", org.Name)
	}
	p.Join = v
	p.Status = status
	f.render(w, r, "join", p)
}

// joinState fills what the person may do about v.OrgID.
func (f *Flow) joinState(ctx context.Context, v *JoinView) error {
	r, err := f.svc.MyJoinRequest(ctx, v.OrgID, v.Email)
	switch {
	case err == nil && r.Status == store.JoinRequestApproved:
		v.Request = &r // approved: "continue", whatever became of the membership since
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrJoinRequestsUnsupported):
		return err
	}
	if ok, err := f.svc.HasMembership(ctx, v.OrgID, v.Email); err != nil {
		return err
	} else if ok {
		v.Member = true
		return nil
	}
	if err != nil {
		v.CanAsk = errors.Is(err, store.ErrNotFound)
		return nil
	}
	v.Request = &r
	if r.Status == store.JoinRequestDeclined && r.DecideTime != nil {
		v.Again = r.DecideTime.Add(f.svc.JoinCooldown())
		v.CanAsk = !f.cfg.Now().Before(v.Again)
	}
	return nil
}

func (f *Flow) joinPost(w http.ResponseWriter, r *http.Request, allow func(email, orgID string) (bool, time.Duration)) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		f.renderError(w, r, pageError(httpx.ErrBadRequest, "", "The form could not be read.", err))
		return
	}
	orgID, err := f.joinOrg(r)
	if err != nil || orgID == "" {
		f.renderJoinError(w, r, cmpErr(err, store.ErrNotFound))
		return
	}
	who, err := f.whoJoins(r)
	if err != nil {
		f.renderError(w, r, err)
		return
	}
	if who.email == "" {
		http.Redirect(w, r, f.LoginURL(r.URL.Path), http.StatusSeeOther)
		return
	}
	if ok, after := allow(strings.ToLower(who.email), orgID); !ok {
		httpx.SetRetryAfter(w, httpx.RateLimited(after))
		f.joinGet(w, r, "join.limited", http.StatusTooManyRequests)
		return
	}
	_, err = f.svc.RequestToJoin(ctx, orgID, invite.JoinRequestInput{
		Email: who.email, EmailVerified: who.verified, Name: r.PostForm.Get("name"), Message: r.PostForm.Get("message"),
	})
	var fe *invite.FieldError
	switch {
	case err == nil, errors.Is(err, store.ErrJoinRequestPending), errors.Is(err, store.ErrJoinCooldown),
		errors.Is(err, store.ErrAlreadyMember), errors.Is(err, store.ErrEmailNotVerified):
		// The page says where the person stands.
		_ = f.sess.put(ctx, sessionkeys.JoinOrg, orgID)
		target := r.URL.Path
		if httpx.OrgID(r) == "" {
			target += "?org=" + orgID
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	case errors.As(err, &fe):
		pr := httpx.ProblemOf(err)
		f.renderError(w, r, pageError(err, pr.Field, pr.Message, err))
	default:
		f.renderJoinError(w, r, err)
	}
}

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// renderJoinError renders a refusal of the join page: an unknown
// organization is not_found, like any address that names nothing.
func (f *Flow) renderJoinError(w http.ResponseWriter, r *http.Request, err error) {
	pr := httpx.ProblemOf(err)
	if pr.Status >= 500 {
		f.renderError(w, r, internalError(err))
		return
	}
	f.renderError(w, r, pageError(err, pr.Field, "There is no organization at this address.", err))
}

// noMembership is the callback's turn when a sign-in finds no membership
// (ErrNoMembership): a verified domain with AUTO_JOIN makes the person a
// member and signs them in; otherwise, with a join page, the verified email
// is kept in the session for it, and err is returned.
func (f *Flow) noMembership(ctx context.Context, id invite.AcceptIdentity, err error) (store.User, []store.Membership, error) {
	if _, jerr := f.svc.JoinByDomain(ctx, id); jerr == nil {
		return f.svc.SignIn(ctx, id)
	} else if !errors.Is(jerr, invite.ErrNoMembership) {
		f.log.ErrorContext(ctx, "authflow: join by domain", "err", jerr)
	}
	if f.cfg.JoinPath != "" && id.EmailVerified && id.Organization == "" { // a connection's email is its organization's only
		if email, nerr := invite.NormalizeEmail(id.Email); nerr == nil {
			if rerr := f.sess.renew(ctx); rerr == nil {
				_ = f.sess.put(ctx, sessionkeys.JoinEmail, email)
			}
		}
	}
	return store.User{}, nil, err
}
