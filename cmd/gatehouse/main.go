// Command gatehouse runs the Gatehouse identity gateway and its operator
// tools. It parses flags and wires parts together; the logic lives in
// internal/.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/cmd/gatehouse/internal/gcfloor"
	"github.com/gatehouse/gatehouse/cmd/gatehouse/internal/logbuf"
	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError is bad input: a one-line reason and exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `usage: gatehouse <command> [flags]

commands:
  serve [--config FILE]        run the gateway
  demo [--listen ADDR]         run a demo gateway with a demo app and a seeded admin
  migrate [--config FILE]      apply schema migrations
  user create ...              create an account (see: gatehouse user create --help)
  token create --email ADMIN --name NAME [--config FILE]
                               create an admin API token (printed once)
  keys rotate [--config FILE]  create a new assertion signing key
  secrets rotate [--config FILE]
                               seal every stored secret again under secrets.key
                               (after moving the old key to secrets.previous_keys)
  config check [--config FILE] validate a config file
  health [--url URL]           exit 0 when an ops endpoint answers 200 (a
                               container health check; default /readyz on 127.0.0.1:9091)
  version                      print the version`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	err := dispatch(ctx, args, stdin, stdout, stderr, environ)
	var ue usageError
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue), errors.Is(err, flag.ErrHelp):
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "gatehouse:", oneLine(err.Error()))
		}
		return 2
	default:
		fmt.Fprintln(stderr, "gatehouse:", oneLine(err.Error()))
		return 1
	}
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		sub = rest[0]
	}
	switch {
	case cmd == "version" || cmd == "--version":
		fmt.Fprintln(stdout, "gatehouse", version)
		return nil
	case cmd == "serve":
		return cmdServe(ctx, rest, stderr, environ)
	case cmd == "demo":
		return cmdDemo(ctx, rest, stdout, stderr, environ)
	case cmd == "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr, environ)
	case cmd == "health":
		return cmdHealth(ctx, rest, stdout, stderr)
	case cmd == "config" && sub == "check":
		return cmdConfigCheck(rest[1:], stdout, stderr, environ)
	case cmd == "keys" && sub == "rotate":
		return cmdKeysRotate(ctx, rest[1:], stdout, stderr, environ)
	case cmd == "secrets" && sub == "rotate":
		return cmdSecretsRotate(ctx, rest[1:], stdout, stderr, environ)
	case cmd == "token" && sub == "create":
		return cmdTokenCreate(ctx, rest[1:], stdout, stderr, environ)
	case cmd == "user" && sub == "create":
		return cmdUserCreate(ctx, rest[1:], stdin, stdout, stderr, environ)
	case cmd == "help" || cmd == "--help" || cmd == "-h":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return usagef("unknown command %q", strings.TrimSpace(cmd+" "+sub))
	}
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// loadConfig loads and validates; any problem is bad input.
func loadConfig(path string, environ []string) (config.Config, error) {
	cfg, err := config.Load(path, environ)
	if err != nil {
		return cfg, usageError{err.Error()}
	}
	if problems := cfg.Validate(); len(problems) > 0 {
		return cfg, usageError{config.Problems(problems).Error()}
	}
	return cfg, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer, environ []string) error {
	fs := newFlags("serve", stderr)
	path := fs.String("config", "", "config file (default: embedded defaults)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, environ)
	if err != nil {
		return err
	}
	// Logs are buffered and flushed every 100 ms: one write per request to
	// stderr costs more than the rest of the access log line.
	logs := logbuf.New(stderr, 64<<10, 100*time.Millisecond, nil)
	defer logs.Close()
	logger := newLogger(cfg, logs)
	// Collect garbage by a heap floor rather than at every doubling of a
	// small live heap (limits.gc_heap_floor_bytes).
	defer gcfloor.Start(uint64(cfg.Limits.GCHeapFloorBytes)).Stop()
	st, err := server.OpenStore(ctx, cfg.Store, environ)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := server.Options{Logger: logger, Environ: environ}
	if cfg.Log.Format == "json" {
		opts.AccessLog = logs
	}
	srv, err := server.New(ctx, cfg, st, opts)
	if err != nil {
		return err
	}
	pub, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	ops, err := net.Listen("tcp", cfg.OpsListen)
	if err != nil {
		pub.Close()
		return err
	}
	return srv.Run(ctx, pub, ops)
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlags("demo", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the gateway")
	opsListen := fs.String("ops-listen", "127.0.0.1:9091", "address of health and metrics")
	dataDir := fs.String("data", "./gatehouse-data", "directory of the demo store and outbox")
	if err := parse(fs, args); err != nil {
		return err
	}
	return demo.Run(ctx, demo.Options{
		Listen: *listen, OpsListen: *opsListen, DataDir: *dataDir,
		Stdout: stdout, Stderr: stderr, Environ: environ,
	})
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	// Opening a store applies its migrations.
	_, st, err := storeCommand(ctx, "migrate", args, stderr, environ)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// storeCommand parses a command whose only flag is --config, then loads
// the config and opens (and migrates) the store.
func storeCommand(ctx context.Context, name string, args []string, stderr io.Writer, environ []string) (config.Config, store.Store, error) {
	fs := newFlags(name, stderr)
	path := fs.String("config", "", "config file")
	if err := parse(fs, args); err != nil {
		return config.Config{}, nil, err
	}
	return openConfigured(ctx, *path, environ)
}

func openConfigured(ctx context.Context, path string, environ []string) (config.Config, store.Store, error) {
	cfg, err := loadConfig(path, environ)
	if err != nil {
		return cfg, nil, err
	}
	st, err := server.OpenStore(ctx, cfg.Store, environ)
	return cfg, st, err
}

func cmdConfigCheck(args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlags("config check", stderr)
	path := fs.String("config", "", "config file")
	if err := parse(fs, args); err != nil {
		// Allow `gatehouse config check FILE` as well.
		if fs.NArg() == 1 && *path == "" {
			*path = fs.Arg(0)
		} else {
			return err
		}
	}
	cfg, err := config.Load(*path, environ)
	var problems config.Problems
	if err != nil {
		if !errors.As(err, &problems) {
			return usageError{err.Error()}
		}
	} else {
		problems = cfg.Validate()
	}
	// Warnings are printed as well but are not problems: alone they leave
	// the exit status 0.
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stdout, w.String())
	}
	if len(problems) == 0 {
		fmt.Fprintln(stdout, "config ok")
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, p.String())
	}
	return exitError{code: 1}
}

// cmdHealth is the health check of a container image that has no shell
// or HTTP client of its own: it asks the operations listener and exits 0
// on 200, 1 on any other answer or none.
func cmdHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("health", stderr)
	target := fs.String("url", "http://127.0.0.1:9091/readyz", "ops endpoint to ask")
	if err := parse(fs, args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--url: not an absolute http(s) URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return usageError{err.Error()}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %d", u.Path, resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

func cmdKeysRotate(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	_, st, err := storeCommand(ctx, "keys rotate", args, stderr, environ)
	if err != nil {
		return err
	}
	defer st.Close()
	kr := identity.NewKeyring(st, time.Now, rand.Reader, slog.New(slog.DiscardHandler))
	if err := kr.Load(ctx); err != nil {
		return err
	}
	kid, err := kr.Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s published; it takes over signing once verifiers have had time to fetch it\n", kid)
	return nil
}

func cmdSecretsRotate(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	cfg, st, err := storeCommand(ctx, "secrets rotate", args, stderr, environ)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := server.SecretsKeyring(cfg.Secrets, environ)
	if err != nil {
		return usageError{err.Error()}
	}
	if keys == nil {
		return usagef("secrets.key is not set: there is no key to seal with")
	}
	n, err := server.RotateSecrets(ctx, st, keys)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d stored secret(s) sealed again under key %s; keys in secrets.previous_keys can now be removed\n", n, keys.CurrentID())
	return nil
}

func cmdUserCreate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) error {
	fs := newFlags("user create", stderr)
	path := fs.String("config", "", "config file")
	email := fs.String("email", "", "email address (required)")
	first := fs.String("first-name", "", "first name (required)")
	last := fs.String("last-name", "", "last name (required)")
	role := fs.String("role", "", "role in the company (required)")
	company := fs.String("company", "", "company id (default: the only company, or a new one on an empty store)")
	createCompany := fs.Bool("create-company", false, "create the company when it does not exist")
	shared := fs.Bool("shared", false, "a shared-computer account")
	signIn := fs.String("sign-in", "password", "sign-in method: password or sso:PROVIDER")
	invite := fs.Bool("invite", false, "mail a set-password link instead of setting a password")
	lang := fs.String("language", "en", "language: en, fr or ja")
	if err := parse(fs, args); err != nil {
		return err
	}
	var missing []string
	for name, v := range map[string]string{"--email": *email, "--first-name": *first, "--last-name": *last, "--role": *role} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return usagef("missing %s", strings.Join(missing, ", "))
	}
	cfg, err := loadConfig(*path, environ)
	if err != nil {
		return err
	}
	if *invite && *signIn != "password" {
		return usagef("--invite is for password accounts only")
	}
	if *invite && cfg.Mail.OutboxDir == "" && cfg.Mail.SMTP.Host == "" {
		return usagef("--invite needs mail: set mail.smtp or mail.outbox_dir in the config")
	}
	pw, generated := "", false
	if *signIn == "password" && !*invite {
		if pw, err = readPassword(stdin); err != nil {
			return err
		}
		if pw == "" {
			if pw, err = password.Generate(rand.Reader); err != nil {
				return err
			}
			generated = true
		}
	}
	st, err := server.OpenStore(ctx, cfg.Store, environ)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := server.NewAccountService(cfg, st)
	if err != nil {
		return err
	}
	kind := "personal"
	if *shared {
		kind = "shared_computer"
	}
	acct, err := svc.Create(ctx, account.NewAccount{
		Email: *email, FirstName: *first, LastName: *last, Language: *lang,
		Kind: kind, SignIn: *signIn, Password: pw,
		CompanyID: *company, Role: *role, CreateCompany: *createCompany, Actor: "cli",
	})
	if err != nil {
		var ve *validation.Error
		if errors.As(err, &ve) || errors.Is(err, store.ErrConflict) {
			return usageError{err.Error()}
		}
		return err
	}
	if *invite {
		if err := server.SendInvitation(ctx, cfg, st, acct, environ); err != nil {
			return fmt.Errorf("account %s created (invited), but the invitation mail failed: %w", acct.ID, err)
		}
		fmt.Fprintf(stdout, "created %s (%s), invitation sent to %s\n", acct.ID, acct.Status, acct.Email)
		return nil
	}
	fmt.Fprintf(stdout, "created %s (%s)\n", acct.ID, acct.Status)
	if generated {
		fmt.Fprintf(stdout, "one-time password: %s\n", pw)
	}
	return nil
}

func cmdTokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlags("token create", stderr)
	path := fs.String("config", "", "config file")
	email := fs.String("email", "", "email of the admin the token acts as (required)")
	name := fs.String("name", "", "what the token is for (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" || *name == "" {
		return usagef("--email and --name are required")
	}
	cfg, st, err := openConfigured(ctx, *path, environ)
	if err != nil {
		return err
	}
	defer st.Close()
	roles, err := account.LoadModel(cfg.Roles)
	if err != nil {
		return err
	}
	secret, err := adminsvc.CreateToken(ctx, st, st, roles, *email, *name, time.Now(), rand.Reader)
	var ve *validation.Error
	switch {
	case errors.Is(err, adminsvc.ErrNotAdmin), errors.Is(err, store.ErrNotFound), errors.As(err, &ve):
		return usageError{err.Error()}
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "API token (shown once): %s\n", secret)
	return nil
}

// readPassword takes the first line of stdin when stdin is not a terminal.
func readPassword(stdin io.Reader) (string, error) {
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return "", nil
		}
	}
	if stdin == nil {
		return "", nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 8192)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// exitError ends the process with a status and no further message.
type exitError struct{ code int }

func (e exitError) Error() string { return "" }
