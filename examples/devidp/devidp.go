// Package devidp runs a development OpenID provider in-process, built on
// zitadel's certified OP library (github.com/zitadel/oidc/v3/pkg/op) through
// its example server. It is for local development and tests ONLY: it accepts
// any email address as the username with one shared password, marks every
// email verified and keeps everything in memory.
//
// Never point a production app at it.
package devidp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"
)

// Password is the one password every dev account uses.
const Password = "dev"

// Config configures the dev provider.
type Config struct {
	Addr         string   // listen address; default "127.0.0.1:0"
	Host         string   // host name in the issuer URL; default the listener's IP. Use the app's host name (localhost or 127.0.0.1), not both.
	ClientID     string   // default "invitekit-dev"
	ClientSecret string   // default "invitekit-dev-secret"
	RedirectURIs []string // the app's callback URL(s); required
	// AppName names the app on the login page ("Sign in to Acme Quickstart";
	// default "the app").
	AppName string
	// AppURL is the app's home page, linked from the signed-out page.
	AppURL string
	// PostLogoutRedirectURIs are the app's registered post-logout redirect
	// URIs (authflow's Config.EndSessionRedirect): sign-out at the provider
	// returns there.
	PostLogoutRedirectURIs []string
}

// Provider is a running dev OpenID provider.
type Provider struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	srv          *http.Server
	ln           net.Listener
}

// Start listens and serves the provider until Close.
func Start(cfg Config) (*Provider, error) {
	if len(cfg.RedirectURIs) == 0 {
		return nil, errors.New("devidp: at least one redirect URI is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "invitekit-dev"
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = "invitekit-dev-secret"
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if cfg.Host != "" {
		host = cfg.Host
	}
	issuer := "http://" + net.JoinHostPort(host, port) + "/"
	client := storage.WebClient(cfg.ClientID, cfg.ClientSecret, cfg.RedirectURIs...)
	st := storage.NewStorageWithClients(newUsers(), map[string]*storage.Client{cfg.ClientID: client})
	router := exampleop.SetupServer(issuer, devStorage{st, cfg.PostLogoutRedirectURIs}, nil, false)
	if cfg.AppName == "" {
		cfg.AppName = "the app"
	}
	h := &pagesHandler{next: router, st: st, appName: cfg.AppName, appURL: cfg.AppURL}
	p := &Provider{
		Issuer:       issuer,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		srv:          &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		ln:           ln,
	}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the provider.
func (p *Provider) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
}

// users is a storage.UserStore that creates an account for any email
// address on first sight, so every invitee can sign in during development.
type users struct {
	mu   sync.Mutex
	byID map[string]*storage.User
}

func newUsers() *users { return &users{byID: map[string]*storage.User{}} }

func (u *users) ExampleClientID() string { return storage.ServiceUserID }

func (u *users) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.byID[id]
}

func (u *users) GetUserByUsername(username string) *storage.User {
	email := strings.ToLower(strings.TrimSpace(username))
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at == len(email)-1 {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	id := "dev-" + email
	if usr, ok := u.byID[id]; ok {
		return usr
	}
	local := email[:at]
	usr := &storage.User{
		ID:                id,
		Username:          email,
		Password:          Password,
		FirstName:         strings.ToUpper(local[:1]) + local[1:],
		LastName:          "Dev",
		Email:             email,
		EmailVerified:     true,
		PreferredLanguage: language.English,
	}
	u.byID[id] = usr
	return usr
}
