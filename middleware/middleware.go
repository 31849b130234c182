package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/invitekit/invitekit/internal/sessionkeys"
	"github.com/invitekit/invitekit/store"
)

// SessionKeyUserID is the scs session key holding the signed-in user's id
// (a store.User ID). Package authflow puts it there after a login. It is
// an alias of the kit's one list of session keys (internal/sessionkeys).
const SessionKeyUserID = sessionkeys.UserID

// SessionKeyGeneration is the scs session key holding the user's session
// generation (store.User.SessionGeneration, in decimal) when the session
// was made. authflow puts it there at login; the middleware refuses a
// session whose generation is older than the user's (ErrSessionRevoked)
// and reads a missing one as 0.
const SessionKeyGeneration = sessionkeys.SessionGeneration

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
	// Pages are the links the default refusal pages offer as next steps
	// (home, sign out, my organizations); see PageLinks.
	Pages PageLinks
	// Locale returns the signed-in person's own locale (for example from
	// the app's user settings), "" when unknown. The refusal pages' language
	// is negotiated the one way of every kit page (the same as authflow's
	// and teampage's Config.Locale): this locale, then the request's
	// Accept-Language, then Pages.OrgDefaultLang, then English. Default:
	// nil (no own locale).
	Locale func(r *http.Request) string
	// CacheTTL, when > 0, caches membership lookups in process (at most
	// MaxCacheTTL, 10 minutes). It is how long an entry lives while push
	// invalidation is healthy (a ChangeNotifier and Start, see Start): a
	// committed change then reaches every replica's cache within the push
	// latency, and the TTL is only a safety net. Whenever push is not
	// healthy — no notifier, Start not called, the subscription lost —
	// entries live at most FallbackTTL, which bounds how late a change
	// made by another process is seen. Zero (the default) reads the store
	// on every request.
	CacheTTL time.Duration
	// FallbackTTL is the TTL while push invalidation is not healthy
	// (default DefaultFallbackTTL, 1s; at most MaxFallbackTTL, 1s; never
	// more than CacheTTL). When a subscription is lost, entries cached
	// before are served at most FallbackTTL longer.
	FallbackTTL time.Duration
	// NegativeCacheTTL is how long a "not a member" answer (no such
	// membership or user) is cached (default DefaultNegativeCacheTTL, 1s;
	// never more than the TTL in force); negative: not cached. Negative
	// answers get a sixteenth of CacheBytes, so requests naming many
	// organizations cannot push members out.
	NegativeCacheTTL time.Duration
	// CacheBytes bounds the cache's memory, as estimated per entry (default
	// DefaultCacheBytes, 192 MiB: room for 100,000 active members with
	// some to spare; CacheStats reports the bytes in use). A full cache
	// evicts one entry at a time (CLOCK), never everything.
	CacheBytes int64
	// CacheSize, when > 0, also bounds the number of cached entries
	// (rounded up to a multiple of the number of shards). Ignored without
	// CacheTTL.
	CacheSize int
	// Notifier, when set, pushes committed membership changes and session
	// revocations into the cache (see Start). Default: the reader itself
	// when it implements store.ChangeNotifier (pgstore does).
	Notifier store.ChangeNotifier
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
	getter   store.MemberGetter // st, when it reads membership and user in one read
	sessions *scs.SessionManager
	resolver OrgResolver
	login    *url.URL
	onError  func(w http.ResponseWriter, r *http.Request, err error)
	pages    PageLinks
	locale   func(*http.Request) string
	cache    *memberCache
	now      func() time.Time
	log      *slog.Logger

	notifier store.ChangeNotifier
	push     pushState
	sso      *ssoGuard // organizations' SSO policies (sso.go)
}

// New returns a Middleware reading memberships from st and the signed-in
// user from sessions. st and sessions are required; routes it guards must
// run inside sessions.LoadAndSave. New does no I/O and starts nothing:
// push invalidation starts with Start.
func New(st MembershipReader, sessions *scs.SessionManager, cfg Config) (*Middleware, error) {
	if st == nil {
		return nil, errors.New("middleware: New: nil MembershipReader")
	}
	if sessions == nil {
		return nil, errors.New("middleware: New: nil scs.SessionManager")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	login, err := url.Parse(cfg.LoginURL)
	if err != nil {
		return nil, fmt.Errorf("middleware: Config.LoginURL: %w", err)
	}
	m := &Middleware{
		st:       st,
		sessions: sessions,
		resolver: cfg.Resolver,
		pages:    cfg.Pages,
		locale:   cfg.Locale,
		login:    login,
		onError:  cfg.ErrorHandler,
		now:      cfg.Now,
		log:      cfg.Logger,
		notifier: cfg.Notifier,
	}
	m.getter, _ = st.(store.MemberGetter)
	m.sso = newSSOGuard(st, m.now, cfg.CacheTTL, cfg.FallbackTTL)
	if m.notifier == nil {
		m.notifier, _ = st.(store.ChangeNotifier)
	}
	if cfg.CacheTTL > 0 {
		m.cache = newMemberCache(cacheConfig{
			ttl:        cfg.CacheTTL,
			fallback:   cfg.FallbackTTL,
			negTTL:     cfg.NegativeCacheTTL,
			maxBytes:   cfg.CacheBytes,
			maxEntries: cfg.CacheSize,
			push:       m.notifier != nil,
			now:        m.now,
		})
	}
	return m, nil
}

// withDefaults checks cfg and fills its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.CacheTTL < 0 || cfg.CacheTTL > MaxCacheTTL:
		return cfg, fmt.Errorf("middleware: Config.CacheTTL must be between 0 and %v, got %v", MaxCacheTTL, cfg.CacheTTL)
	case cfg.FallbackTTL < 0 || cfg.FallbackTTL > MaxFallbackTTL:
		return cfg, fmt.Errorf("middleware: Config.FallbackTTL must be between 0 and %v, got %v", MaxFallbackTTL, cfg.FallbackTTL)
	case cfg.CacheSize < 0:
		return cfg, errors.New("middleware: Config.CacheSize must not be negative")
	case cfg.CacheBytes < 0:
		return cfg, errors.New("middleware: Config.CacheBytes must not be negative")
	}
	if cfg.FallbackTTL == 0 {
		cfg.FallbackTTL = DefaultFallbackTTL
	}
	switch {
	case cfg.NegativeCacheTTL == 0:
		cfg.NegativeCacheTTL = DefaultNegativeCacheTTL
	case cfg.NegativeCacheTTL < 0:
		cfg.NegativeCacheTTL = 0
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.LoginURL == "" {
		cfg.LoginURL = DefaultLoginURL
	}
	if cfg.Resolver == nil {
		cfg.Resolver = PathValue("orgID")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// CacheStats returns the cache's size and push state (the zero value
// without a cache). It locks each shard briefly: for metrics, not for
// every request.
func (m *Middleware) CacheStats() CacheStats {
	if m.cache == nil {
		return CacheStats{Push: "off"}
	}
	return m.cache.stats()
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
	if orgID == "" && userID == "" {
		m.sso.invalidateAll()
	}
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
	userID, gen, err := m.session(ctx)
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
		if gen < mem.User.SessionGeneration {
			return nil, ErrSessionRevoked
		}
		if err := m.checkSSO(ctx, orgID); err != nil {
			return nil, err
		}
		return mem, nil
	case store.StatusInactive:
		return nil, ErrInactive
	case store.StatusPendingInvite, store.StatusInviteExpired:
		return nil, ErrPendingInvite
	}
	return nil, ErrNotMember
}

// session reads the user id and the session generation from the session.
// A session without a generation (made before sign-out-everywhere existed,
// or by a login that did not record it) is generation 0; one that cannot
// be parsed is refused. scs panics when the request did not pass through
// LoadAndSave; that becomes ErrNoSessionManager.
func (m *Middleware) session(ctx context.Context) (id string, gen int64, err error) {
	defer func() {
		if recover() != nil {
			id, gen, err = "", 0, ErrNoSessionManager
		}
	}()
	id = m.sessions.GetString(ctx, SessionKeyUserID)
	if id == "" {
		return "", 0, nil
	}
	if s := m.sessions.GetString(ctx, SessionKeyGeneration); s != "" {
		gen, err = strconv.ParseInt(s, 10, 64)
		if err != nil || gen < 0 {
			return "", 0, ErrSessionRevoked
		}
	}
	return id, gen, nil
}

// lookup reads (or takes from the cache) the membership and its user. The
// returned Member is shared: never modify it.
func (m *Middleware) lookup(ctx context.Context, orgID, userID string) (*Member, error) {
	if m.cache == nil {
		return m.read(ctx, orgID, userID)
	}
	return m.cache.lookup(ctx, cacheKey{orgID, userID}, m.read)
}

// read reads the membership and the user: in one read when the store is a
// store.MemberGetter, else GetMembership and, for an ACTIVE membership,
// GetUser. A missing membership or user is ErrNotMember. For a membership
// that is not ACTIVE only the user's id and session generation are kept.
func (m *Middleware) read(ctx context.Context, orgID, userID string) (*Member, error) {
	if m.cache != nil {
		m.push.warnNotStarted(m)
	}
	if m.getter != nil {
		sm, err := m.getter.GetMember(ctx, orgID, userID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, ErrNotMember
			}
			return nil, fmt.Errorf("middleware: get member: %w", err)
		}
		mem := &Member{User: sm.User, Membership: sm.Membership}
		if sm.Membership.Status != store.StatusActive {
			mem.User = store.User{ID: sm.Membership.UserID, SessionGeneration: sm.User.SessionGeneration}
		}
		return mem, nil
	}
	ms, err := m.st.GetMembership(ctx, orgID, userID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotMember
		}
		return nil, fmt.Errorf("middleware: get membership: %w", err)
	}
	mem := &Member{Membership: ms}
	if ms.Status != store.StatusActive {
		mem.User.ID = ms.UserID
		return mem, nil
	}
	u, err := m.st.GetUser(ctx, userID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNotMember
		}
		return nil, fmt.Errorf("middleware: get user: %w", err)
	}
	mem.User = u
	return mem, nil
}
