// Command quickstart is a zero-config invitekit app: SQLite in
// ./quickstart-data (the -data flag), a
// development OpenID provider (zitadel's OP library; for development only),
// a dev inbox that shows every sent mail (at /dev/inbox, to this machine
// only), a seeded organization "Acme" with the admin admin@example.com, a
// team page and a protected dashboard.
//
//	go -C examples run ./quickstart
//
// Open http://localhost:8080. To use a real provider instead of the dev one,
// set INVITEKIT_OIDC_ISSUER, INVITEKIT_OIDC_CLIENT_ID,
// INVITEKIT_OIDC_CLIENT_SECRET and INVITEKIT_OIDC_REDIRECT_URL (the app's
// /auth/callback URL, registered at the provider); the dev inbox page is
// then not served (mail is still printed to the log).
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg := config{
		Issuer:       os.Getenv("INVITEKIT_OIDC_ISSUER"),
		ClientID:     os.Getenv("INVITEKIT_OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("INVITEKIT_OIDC_CLIENT_SECRET"),
		RedirectURL:  os.Getenv("INVITEKIT_OIDC_REDIRECT_URL"),
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	flag.StringVar(&cfg.Addr, "addr", "localhost:8080", "listen address")
	flag.StringVar(&cfg.BaseURL, "base-url", "", "public URL of the app (default http://<addr>)")
	flag.StringVar(&cfg.DataDir, "data", "quickstart-data", "folder for the SQLite database and the secret key")
	flag.StringVar(&cfg.DevIdPAddr, "dev-idp-addr", "localhost:8081", "listen address of the development OpenID provider")
	flag.Parse()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + cfg.Addr
	}
	if err := run(cfg); err != nil {
		cfg.Logger.Error("quickstart", "err", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The ports come first: nothing is written while one is busy.
	ln, err := checkPorts(cfg)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.Close()
	go a.Dispatcher.Run(ctx)
	// Verified email domains are checked again on a schedule: a domain
	// whose TXT record is gone stops letting people join.
	go func() {
		if err := a.Service.RunDomainChecks(ctx, 0); err != nil && ctx.Err() == nil {
			cfg.Logger.Error("domain checks stopped", "err", err)
		}
	}()

	srv := &http.Server{Addr: cfg.Addr, Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second}
	cfg.Logger.Info("invitekit quickstart is running", "url", cfg.BaseURL, "admin", seedAdminEmail, "data", cfg.DataDir)
	if a.IdP != nil {
		cfg.Logger.Info("development OpenID provider (not for production)", "issuer", a.IdP.Issuer, "password", "dev")
	}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// hostOf returns the host name of a URL ("localhost" for http://localhost:8080).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
