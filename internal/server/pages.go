package server

import (
	"github.com/gatehouse/gatehouse/internal/auth/login"
	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/auth/throttle"
	accountpage "github.com/gatehouse/gatehouse/internal/web/account" // not the domain's account
	"github.com/gatehouse/gatehouse/internal/web/terms"
	"github.com/gatehouse/gatehouse/internal/web/whoami"
)

// newLoginGuard builds the throttling of password sign-in (per account and
// per client, sparing browsers that signed in before); reset uses it too,
// to limit how often one client asks for mail.
func newLoginGuard(d *deps) *throttle.Guard {
	lockout := throttle.OptionsFrom(d.cfg.Password.Lockout)
	lockout.Devices = d.devices
	return throttle.New(d.store, lockout, d.clientIP, d.now, d.logger)
}

// newLogin builds password sign-in, with everything the other features
// contribute to it: the throttle, the workstation binding of shared
// accounts (an enrolled one may no longer use its password), whether the
// passkey button shows, and the provider buttons.
func (s *Server) newLogin(d *deps, guard login.Guard, passkeys *passkey.Handler) *login.Handler {
	return login.New(login.Deps{
		Renderer: d.renderer, CSRF: d.csrf, Accounts: d.store, Audit: d.store, Passwords: d.hasher, Sessions: s.Sessions,
		Guard: guard, PasswordBlocked: passkeys.PasswordBlocked, PasskeysOff: !passkeys.Enabled(), Providers: s.loginButtons(),
		Redirect: d.redirect, MaxFormBytes: d.cfg.Limits.MaxFormBytes, ClientIP: d.clientIP, Logger: d.logger,
		OnResult: func(r string) { s.Metrics.Login("password", r) },
	})
}

// newLogout builds sign-out, which continues at the provider's end-session
// endpoint for SSO sessions.
func (s *Server) newLogout(d *deps) *login.Logout {
	return login.NewLogout(login.LogoutDeps{
		Renderer: d.renderer, CSRF: d.csrf, Sessions: s.Sessions, Audit: d.store, EndSessionURL: s.endSessionURL(d),
		MaxFormBytes: d.cfg.Limits.MaxFormBytes, ClientIP: d.clientIP, Logger: d.logger,
	})
}

// newWhoami builds GET /.gatehouse/whoami.
func (s *Server) newWhoami(d *deps) *whoami.Handler {
	return whoami.New(whoami.Deps{Sessions: s.Sessions, Identities: s.Accounts, Logger: d.logger})
}

// newAccountPage builds the signed-in person's own page; passkeys lists,
// renames and revokes their passkeys.
func (s *Server) newAccountPage(d *deps, passkeys *passkey.Handler) *accountpage.Handler {
	return accountpage.New(accountpage.Deps{
		Accounts: d.store, Credentials: d.store, Audit: d.store, Passkeys: passkeys, Sessions: s.Sessions,
		Renderer: d.renderer, CSRF: d.csrf, ClientIP: d.clientIP, ProviderName: s.providerName, Now: d.now, Logger: d.logger,
	})
}

// newTerms builds the terms-of-use interstitial the gate sends people to.
func (s *Server) newTerms(d *deps) *terms.Handler {
	return terms.New(terms.Deps{
		Version: d.cfg.Terms.Version, URL: d.cfg.Terms.URL,
		Sessions: s.Sessions, Accounts: d.store, Audit: d.store, Renderer: d.renderer, CSRF: d.csrf,
		Redirect: d.redirect, MaxFormBytes: d.cfg.Limits.MaxFormBytes, ClientIP: d.clientIP,
		Now: d.now, Logger: d.logger,
	})
}
