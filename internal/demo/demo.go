package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Options of the demo.
type Options struct {
	Listen    string // the gateway, e.g. 127.0.0.1:8080
	OpsListen string
	DataDir   string
	Stdout    io.Writer
	Stderr    io.Writer
	Environ   []string
}

// Seeded names, shown to the newcomer.
const (
	CompanyID  = "acme"
	SiteID     = "toulouse"
	AdminEmail = "admin@example.com"
)

// Run seeds the demo store and serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return err
	}
	pub, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w (use --listen to move the demo)", o.Listen, err)
	}
	defer pub.Close()
	ops, err := net.Listen("tcp", o.OpsListen)
	if err != nil {
		return fmt.Errorf("listen %s: %w (use --ops-listen to move it)", o.OpsListen, err)
	}
	defer ops.Close()
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer appLn.Close()

	publicURL := browserURL(pub.Addr().(*net.TCPAddr))
	cfg := Config(publicURL, o.DataDir, "http://"+appLn.Addr().String())
	cfg.Listen, cfg.OpsListen = pub.Addr().String(), ops.Addr().String()
	if problems := cfg.Validate(); len(problems) > 0 {
		return config.Problems(problems)
	}
	st, err := server.OpenStore(ctx, cfg.Store, o.Environ)
	if err != nil {
		return err
	}
	defer st.Close()
	pw, err := Seed(ctx, cfg, st)
	if err != nil {
		return fmt.Errorf("seeding the demo: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(o.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(ctx, cfg, st, server.Options{Logger: logger, Environ: o.Environ})
	if err != nil {
		return err
	}
	app := &App{JWKSURL: "http://" + pub.Addr().String() + "/.gatehouse/jwks.json", Issuer: publicURL, Audience: "demo"}
	appSrv := &http.Server{Handler: app, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = appSrv.Serve(appLn) }()
	defer appSrv.Close()

	password := pw + "   (printed this once: the demo keeps it from now on)"
	if pw == "" {
		password = `the one printed at the first start (forgotten? "Forgot password?" on the sign-in page; the link appears below)`
	}
	fmt.Fprintf(o.Stdout, `
Gatehouse demo is running.

  Open:      %s/
  Email:     %s
  Password:  %s
  Admin panel: %s/.gatehouse/admin/   Your account: %s/.gatehouse/account/

  Company %q with site %q; the app behind the gateway shows the identity it verified.
  Mail (password resets, invitations) is written to %s;
  the links each message carries are printed here too.
  Health and metrics: http://%s/readyz  http://%s/metrics
  Start afresh: stop, delete %s, start again. Stop with Ctrl-C.

`, publicURL, AdminEmail, password, publicURL, publicURL, CompanyID, SiteID, cfg.Mail.OutboxDir, ops.Addr(), ops.Addr(), o.DataDir)
	go watchOutbox(ctx, cfg.Mail.OutboxDir, o.Stdout, time.Second)
	return srv.Run(ctx, pub, ops)
}

// browserURL is the address a browser on this machine uses: localhost for
// loopback and unspecified addresses, because a passkey relying party must
// be a host name.
func browserURL(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsLoopback() || a.IP.IsUnspecified() {
		host = "localhost"
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(a.Port)))
}

// Config is the demo's configuration: the embedded defaults, a store and a
// mail outbox under dataDir, and one route to the demo app.
func Config(publicURL, dataDir, appURL string) config.Config {
	cfg := config.Default()
	cfg.PublicURL = publicURL
	cfg.Store = config.Store{Driver: "sqlite", DSN: config.Secret(filepath.Join(dataDir, "demo.db"))}
	cfg.Mail.From = "gatehouse@localhost"
	cfg.Mail.OutboxDir = filepath.Join(dataDir, "outbox")
	cfg.Log.Access = false
	cfg.Routes = []config.Route{{
		PathPrefix: "/", Upstream: appURL, Audience: "demo", Company: CompanyID,
		Timeout: config.Duration(30 * time.Second), MaxIdleConns: 256,
	}}
	return cfg
}

// Seed makes sure the demo company, site and admin exist. It gives the
// admin a generated password when it creates the account, and returns it
// to be printed that once; on later starts it returns "" and leaves the
// password alone, as Keycloak and authentik do with their bootstrap admin:
// resetting it at every start would undo a password the newcomer chose
// (through "Forgot password?") without a word.
func Seed(ctx context.Context, cfg config.Config, st store.Store) (string, error) {
	svc, err := server.NewAccountService(cfg, st)
	if err != nil {
		return "", err
	}
	pw, err := password.Generate(rand.Reader)
	if err != nil {
		return "", err
	}
	if _, err := st.GetCompany(ctx, CompanyID); errors.Is(err, store.ErrNotFound) {
		if err := st.CreateCompany(ctx, store.Company{ID: CompanyID, Name: "Acme Manufacturing", CreatedAt: time.Now().UTC()}); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	if _, err := st.GetSite(ctx, SiteID); errors.Is(err, store.ErrNotFound) {
		if err := st.CreateSite(ctx, store.Site{ID: SiteID, CompanyID: CompanyID, Name: "Toulouse", CreatedAt: time.Now().UTC()}); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	_, err = st.GetAccountByEmail(ctx, AdminEmail)
	if errors.Is(err, store.ErrNotFound) {
		_, err = svc.Create(ctx, account.NewAccount{
			Email: AdminEmail, FirstName: "Ada", LastName: "Admin", Language: "en",
			Kind: store.KindPersonal, SignIn: "password", Password: pw,
			CompanyID: CompanyID, Role: "admin", Sites: []string{SiteID}, Actor: "demo",
		})
		return pw, err
	}
	return "", err
}
