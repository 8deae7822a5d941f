// Command gatehouse-bench runs the helper processes of `make bench`
// (scripts/bench.sh): the upstream, the bare proxy, seeding and sign-ins.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/tools/bench"
)

const usage = `usage: gatehouse-bench <command> [flags]

commands:
  upstream --listen ADDR [--jwks URL --issuer ISS --audience AUD --sample N]
  proxy    --listen ADDR --upstream URL
  seed     --config FILE --email E --sessions N   prints the last session's cookie (name=value)
  login    --url BASE --email E --password P      prints the session cookie (name=value)
  storm    --url BASE --email E --password P --concurrency N --duration D`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-bench:", err)
		stop()
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("gatehouse-bench "+args[0], flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	jwks := fs.String("jwks", "", "JWKS URL to verify assertions against")
	issuer := fs.String("issuer", "", "expected assertion issuer")
	audience := fs.String("audience", "", "expected assertion audience")
	sample := fs.Uint64("sample", 1000, "verify one assertion in this many requests")
	upstream := fs.String("upstream", "", "upstream URL")
	cfgPath := fs.String("config", "", "gatehouse config file")
	email := fs.String("email", "", "account email")
	password := fs.String("password", "", "account password")
	sessions := fs.Int("sessions", 100000, "sessions to seed")
	base := fs.String("url", "", "gateway base URL")
	concurrency := fs.Int("concurrency", 50, "concurrent sign-ins")
	duration := fs.Duration("duration", 10*time.Second, "how long the storm lasts")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	switch args[0] {
	case "upstream":
		u := &bench.Upstream{JWKSURL: *jwks, Issuer: *issuer, Audience: *audience, SampleEvery: *sample}
		return serve(ctx, *listen, u)
	case "proxy":
		target, err := url.Parse(*upstream)
		if err != nil || target.Host == "" {
			return fmt.Errorf("--upstream: not an absolute URL: %q", *upstream)
		}
		return serve(ctx, *listen, bench.NewBareProxy(target, logger))
	case "seed":
		cfg, err := config.Load(*cfgPath, os.Environ())
		if err != nil {
			return err
		}
		st, err := server.OpenStore(ctx, cfg.Store, os.Environ())
		if err != nil {
			return err
		}
		defer st.Close()
		a, err := st.GetAccountByEmail(ctx, *email)
		if err != nil {
			return fmt.Errorf("account %s: %w", *email, err)
		}
		// The gateway as `gatehouse serve` assembles it, so the sessions
		// are keyed and stored exactly as its sign-ins make them. It
		// listens for changes until seeding ends, before the store closes.
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		srv, err := server.New(sctx, cfg, st, server.Options{Logger: logger, Environ: os.Environ()})
		if err != nil {
			return err
		}
		m := srv.Sessions
		ck, err := bench.SeedSessions(ctx, m, a.ID, *sessions)
		if err != nil {
			return err
		}
		if err := m.Flush(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, ck)
		return nil
	case "login":
		ck, err := bench.Login(ctx, *base, *email, *password)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, ck)
		return nil
	case "storm":
		sctx, cancel := context.WithTimeout(ctx, *duration)
		defer cancel()
		res := bench.LoginStorm(sctx, *base, *email, *password, *concurrency)
		out := map[string]any{"ok": res.OK, "failed": res.Failed}
		if res.FirstErr != nil {
			out["first_error"] = res.FirstErr.Error()
		}
		return json.NewEncoder(stdout).Encode(out)
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
}

func serve(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
