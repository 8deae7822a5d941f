package server

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth/device"
	"github.com/gatehouse/gatehouse/internal/auth/password"
	"github.com/gatehouse/gatehouse/internal/clientip"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// mounter is a built feature that serves routes of its own.
type mounter interface{ Mount(mux *http.ServeMux) }

// deps is what Server.assemble has built for every feature, handed to each
// feature's constructor so features are wired in files of their own.
type deps struct {
	cfg       config.Config
	store     store.Store
	logger    *slog.Logger
	now       func() time.Time
	publicURL *url.URL // public_url without a trailing slash
	renderer  *web.Renderer
	csrf      *web.CSRF
	hasher    *password.Hasher
	devices   *device.Cookies // browsers that signed in before, for the lockout
	ips       *clientip.Resolver
	clientIP  func(*http.Request) string
	redirect  func(rd string) string // a safe target for rd, "/" otherwise
}
