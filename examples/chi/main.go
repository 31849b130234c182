// Command chi shows how to mount invitekit on a github.com/go-chi/chi/v5
// router: the login and accept-link routes (authflow), the JSON API under
// /api, the team page and a dashboard guarded by middleware.RequireRole and
// middleware.RequireMember. See routes in app.go; the rest is wiring.
//
//	go -C examples run ./chi
//
// It keeps everything in memory (store/memstore), shows sent mail at
// /dev/inbox and, unless INVITEKIT_OIDC_ISSUER, INVITEKIT_OIDC_CLIENT_ID,
// INVITEKIT_OIDC_CLIENT_SECRET and INVITEKIT_OIDC_REDIRECT_URL name a real
// provider, runs the development OpenID provider (any email, password
// "dev"; development only). The organization "Acme" (org_acme) is seeded
// with the admin admin@example.com.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
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
		MailLog:      os.Stdout,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	flag.StringVar(&cfg.Addr, "addr", "localhost:8090", "listen address")
	flag.StringVar(&cfg.BaseURL, "base-url", "", "public URL of the app (default http://<addr>)")
	flag.StringVar(&cfg.DevIdPAddr, "dev-idp-addr", "localhost:8091", "listen address of the development OpenID provider")
	flag.Parse()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + cfg.Addr
	}
	if err := run(cfg); err != nil {
		cfg.Logger.Error("chi example", "err", err)
		os.Exit(1)
	}
}

func run(cfg config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	go a.Dispatcher.Run(ctx)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	cfg.Logger.Info("invitekit on chi is running", "url", cfg.BaseURL, "admin", seedAdminEmail)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
