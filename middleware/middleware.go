package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/internal/sessionkeys"
	"github.com/invitekit/invitekit/store"
)

// SessionKeyUserID is the scs session key holding the signed-in user's id
// (a store.User ID). Package authflow puts it there after a login. It is
// an alias of the kit's one list of session keys (internal/sessionkeys).
const SessionKeyUserID = sessionkeys.UserID

// DefaultLoginURL is Config.LoginURL when it is empty.
const DefaultLoginURL = "/login"

// MembershipReader is what the middleware reads on each request (or cache
// miss). Every store.Store implements it.
type MembershipReader interface {
	// GetMembership returns userID's membership in orgID, or an error
	// wrapping store.ErrNotFound when there is none; any other error is a
	// failure of the store (500).
	GetMembership(ctx context.Context, orgID, userID string) (store.Membership, error)
	// GetUser returns the user, or an error wrapping store.ErrNotFound.
	GetUser(ctx context.Context, userID string) (store.User, error)
}

// Config holds the optional settings of a Middleware. The zero value is
// usable: the organization comes from the path wildcard {orgID}, login is
// at /login and nothing is cached.
type Config struct {
	// Resolver finds the request's organization (default PathValue("orgID")).
	Resolver OrgResolver
	// LoginURL is where HTML requests without a signed-in user are sent,
	// with return_to=<the request's relative URI> added to its query
	// (default "/login").
	LoginURL string
	// ErrorHandler, when set, renders every refusal instead of the default
	// (see the package documentation); err wraps one of the package's
	// errors, or is an internal failure. It may call Middleware.RenderError
	// to fall back to the default.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// CacheTTL, when > 0, caches membership lookups in process for that
	// long. It must not exceed MaxCacheTTL (1s): that is the most a
	// revocation made by another process can be late. Zero (the default)
	// reads the store on every request.
	CacheTTL time.Duration
	// CacheSize bounds the number of cached (organization, user) entries
	// (default 10000). Ignored without CacheTTL.
	CacheSize int
	// Now returns the current time (default time.Now); used for cache
	// expiry.
	Now func() time.Time
	// Logger receives internal failures and refusals at debug level
	// (never session tokens); default discards.
	Logger *slog.Logger
}

// Middleware guards routes. Create it with New; it is safe for concurrent use.
type Middleware struct {
	st       MembershipReader
	sessions *scs.SessionManager
	resolver OrgResolver
	login    *url.URL
	onError  func(w http.ResponseWriter, r *http.Request, err error)
	cache    *memberCache
	now      func() time.Time
	log      *slog.Logger
}

// New returns a Middleware reading memberships from st and the signed-in
// user from sessions. st and sessions are required; routes it guards must
// run inside sessions.LoadAndSave.
func New(st MembershipReader, sessions *scs.SessionManager, cfg Config) (*Middleware, error) {
	if st == nil {
		return nil, errors.New("middleware: New: nil MembershipReader")
	}
	if sessions == nil {
		return nil, errors.New("middleware: New: nil scs.SessionManager")
	}
	if cfg.CacheTTL < 0 || cfg.CacheTTL > MaxCacheTTL {
		return nil, fmt.Errorf("middleware: Config.CacheTTL must be between 0 and %v, got %v", MaxCacheTTL, cfg.CacheTTL)
	}
	if cfg.CacheSize < 0 {
		return nil, errors.New("middleware: Config.CacheSize must not be negative")
	}
	if cfg.LoginURL == "" {
		cfg.LoginURL = DefaultLoginURL
	}
	login, err := url.Parse(cfg.LoginURL)
	if err != nil {
		return nil, fmt.Errorf("middleware: Config.LoginURL: %w", err)
	}
	m := &Middleware{
		st:       st,
		sessions: sessions,
		resolver: cfg.Resolver,
		login:    login,
		onError:  cfg.ErrorHandler,
		now:      cfg.Now,
		log:      cfg.Logger,
	}
	if m.resolver == nil {
		m.resolver = PathValue("orgID")
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheTTL > 0 {
		size := cfg.CacheSize
		if size == 0 {
			size = defaultCacheSize
		}
		m.cache = newMemberCache(cfg.CacheTTL, size)
	}
	return m, nil
}

// Check decides whether the request comes from an ACTIVE member of the
// request's organization, without writing anything. It returns the member,
// or an error wrapping ErrNoSession, ErrNoOrg, ErrNotMember (and
// ErrPendingInvite), ErrInactive or ErrNoSessionManager, or a store
// failure.
func (m *Middleware) Check(r *http.Request) (Member, error) {
	mem, err := m.check(r)
	if err != nil {
		return Member{}, err
	}
	return *mem, nil
}

// CheckRole is Check plus: the member must have at least one of roles
// (ErrMissingRole otherwise). With no roles it is Check.
func (m *Middleware) CheckRole(r *http.Request, roles ...string) (Member, error) {
	mem, err := m.checkRole(r, roles)
	if err != nil {
		return Member{}, err
	}
	return *mem, nil
}

// RequireMember lets only ACTIVE members of the request's organization
// reach next, with the Member in the request context.
func (m *Middleware) RequireMember(next http.Handler) http.Handler {
	return m.RequireRole()(next)
}

// RequireRole returns middleware that lets only ACTIVE members having at
// least one of roles reach next (any member when roles is empty), with the
// Member in the request context. It need not be nested in RequireMember.
func (m *Middleware) RequireRole(roles ...string) func(http.Handler) http.Handler {
	roles = append([]string(nil), roles...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mem, err := m.checkRole(r, roles)
			if err != nil {
				m.handleError(w, r, err)
				return
			}
			if cur, ok := r.Context().Value(memberKey{}).(*Member); !ok || cur != mem {
				r = r.WithContext(context.WithValue(r.Context(), memberKey{}, mem))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Invalidate drops the cached membership of userID in orgID, so the next
// request reads the store. Wire it to invite.Config.OnMembershipChange.
// An empty orgID drops all of userID's entries; both empty drop everything.
// It is a no-op without a cache.
func (m *Middleware) Invalidate(orgID, userID string) {
	if m.cache == nil {
		return
	}
	switch {
	case orgID == "" && userID == "":
		m.cache.invalidateAll()
	case orgID == "":
		m.cache.invalidateUser(userID)
	default:
		m.cache.invalidate(cacheKey{orgID, userID})
	}
}

func (m *Middleware) checkRole(r *http.Request, roles []string) (*Member, error) {
	mem, err := m.check(r)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return mem, nil
	}
	for _, role := range roles {
		if mem.Membership.HasRole(role) {
			return mem, nil
		}
	}
	return nil, ErrMissingRole
}

func (m *Middleware) check(r *http.Request) (*Member, error) {
	ctx := r.Context()
	userID, err := m.sessionUserID(ctx)
	if err != nil {
		return nil, err
	}
	if userID == "" {
		return nil, ErrNoSession
	}
	orgID, err := m.resolver.OrgID(r)
	if err != nil {
		if errors.Is(err, ErrNoOrg) {
			return nil, err
		}
		return nil, fmt.Errorf("middleware: resolve organization: %w", err)
	}
	if orgID == "" {
		return nil, ErrNoOrg
	}
	// An outer RequireMember/RequireRole already checked this very pair.
	if cur, ok := ctx.Value(memberKey{}).(*Member); ok && cur != nil &&
		cur.Membership.OrganizationID == orgID && cur.User.ID == userID {
		return cur, nil
	}
	mem, err := m.lookup(ctx, orgID, userID)
	if err != nil {
		return nil, err
	}
	switch mem.Membership.Status {
	case store.StatusActive:
		return mem, nil
	case store.StatusInactive:
		return nil, ErrInactive
	case store.StatusPendingInvite, store.StatusInviteExpired:
		return nil, ErrPendingInvite
	}
	return nil, ErrNotMember
}

// sessionUserID reads the user id from the session. scs panics when the
// request did not pass through LoadAndSave; that becomes ErrNoSessionManager.
func (m *Middleware) sessionUserID(ctx context.Context) (id string, err error) {
	defer func() {
		if recover() != nil {
			id, err = "", ErrNoSessionManager
		}
	}()
	return m.sessions.GetString(ctx, SessionKeyUserID), nil
}

// lookup reads (or takes from the cache) the membership and, for an
// ACTIVE one, the user. The returned Member is shared: never modify it.
func (m *Middleware) lookup(ctx context.Context, orgID, userID string) (*Member, error) {
	key := cacheKey{orgID, userID}
	var gen uint64
	if m.cache != nil {
		mem, ok, g := m.cache.get(key, m.now())
		if ok {
			return mem, nil
		}
		gen = g
	}
	ms, err := m.st.GetMembership(ctx, orgID, userID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotMember
		}
		return nil, fmt.Errorf("middleware: get membership: %w", err)
	}
	mem := &Member{Membership: ms}
	if ms.Status == store.StatusActive {
		u, err := m.st.GetUser(ctx, userID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, ErrNotMember
			}
			return nil, fmt.Errorf("middleware: get user: %w", err)
		}
		mem.User = u
	} else {
		mem.User.ID = userID
	}
	if m.cache != nil {
		m.cache.put(key, mem, m.now(), gen)
	}
	return mem, nil
}
