package adminsvc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/apperr"
	"github.com/gatehouse/gatehouse/internal/auth/sso"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/idp"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
	"github.com/gatehouse/gatehouse/providers"
)

const capIntegrations = account.CapManageIntegrations

// The identity provider operations. Reading needs the panel; changing
// needs manage_integrations too.
var (
	OpProviderGet     = read("provider.get", capPanel)
	OpProviderCreate  = write("provider.create", capPanel, capIntegrations)
	OpProviderUpdate  = write("provider.update", capPanel, capIntegrations)
	OpProviderDisable = write("provider.disable", capPanel, capIntegrations)
	OpProviderEnable  = write("provider.enable", capPanel, capIntegrations)
	OpProviderDelete  = write("provider.delete", capPanel, capIntegrations)
	OpProviderTest    = write("provider.test", capPanel, capIntegrations)
)

// providerOps are the operations of this file, listed by Ops.
func providerOps() []Op {
	return []Op{OpProviderGet, OpProviderCreate, OpProviderUpdate, OpProviderDisable, OpProviderEnable, OpProviderDelete, OpProviderTest}
}

// Integrations is what the identity provider operations work with.
type Integrations struct {
	Registry *idp.Registry
	// Check fetches what an entry points at (providers.Check).
	Check func(ctx context.Context, cfg providers.Config) providers.CheckResult
	// EndSessions ends every session of a provider, on every replica.
	EndSessions func(ctx context.Context, providerID string) ([]string, error)
	// EndSessionsOnDisable: sso.on_disable is "end".
	EndSessionsOnDisable bool
	// PublicURL is public_url without a trailing slash, for the URIs to
	// register at the provider.
	PublicURL string
	// Health reports a provider's recent sign-ins; nil: none known.
	Health func(id string) ProviderHealth
	// StartTest starts a test sign-in for the account and returns where
	// to send its browser; TestResult reads what it found.
	StartTest  func(ctx context.Context, accountID, providerID string) (string, error)
	TestResult func(ctx context.Context, accountID, resultID string) (sso.TrialResult, error)
}

// ProviderHealth is how a provider has fared lately, as this process saw it.
type ProviderHealth struct {
	LastSuccess   time.Time `json:"last_success,omitzero"`
	LastFailure   time.Time `json:"last_failure,omitzero"`
	FailureReason string    `json:"failure_reason,omitempty"`
	DiscoveryOK   bool      `json:"discovery_ok"`
	JWKSOK        bool      `json:"jwks_ok"`
}

// ProviderView is one provider as the providers page and the API show
// it: what to register at the provider, where it comes from, its
// settings (the client secret only as "set"), and how it fares.
type ProviderView struct {
	ProviderStatus
	Source   string `json:"source"` // "config" (read-only) or "admin"
	ReadOnly bool   `json:"read_only"`
	Enabled  bool   `json:"enabled"`
	// ClientSecret is "set" when one is stored, "" otherwise; never the value.
	ClientSecret         string         `json:"client_secret"`
	Settings             idp.Settings   `json:"settings"`
	RedirectURI          string         `json:"redirect_uri"`
	BackchannelLogoutURI string         `json:"backchannel_logout_uri"`
	Guide                string         `json:"guide"`
	Problem              string         `json:"problem,omitempty"`
	Health               ProviderHealth `json:"health"`
	CreatedAt            time.Time      `json:"created_at,omitzero"`
	UpdatedAt            time.Time      `json:"updated_at,omitzero"`
}

// ProviderInput is a provider as an administrator submits it.
// ClientSecret nil keeps the stored one (an update); "" removes it.
type ProviderInput struct {
	ID           string
	Settings     idp.Settings
	ClientSecret *string
	Enabled      bool
}

// ProviderList is the providers page: the providers, and whether
// providers can be added here (Off says why not).
type ProviderList struct {
	Providers []ProviderView `json:"providers"`
	Off       string         `json:"runtime_providers_off,omitempty"`
}

func (s *Service) integrations() (*Integrations, error) {
	if s.Integrations == nil || s.Integrations.Registry == nil {
		return nil, fmt.Errorf("%w: identity providers cannot be managed here", apperr.ErrUnavailable)
	}
	return s.Integrations, nil
}

// ListProviderViews lists every identity provider.
func (s *Service) ListProviderViews(ctx context.Context, c authz.Caller) (ProviderList, error) {
	if err := s.Permit(c, OpProviderList); err != nil {
		return ProviderList{}, err
	}
	in, err := s.integrations()
	if err != nil {
		return ProviderList{}, err
	}
	out := ProviderList{Providers: []ProviderView{}}
	if in.Registry.Keyring() == nil {
		out.Off = idp.ErrNoKey.Error()
	}
	for _, e := range in.Registry.Entries() {
		out.Providers = append(out.Providers, in.View(e))
	}
	return out, nil
}

// GetProvider returns one provider.
func (s *Service) GetProvider(ctx context.Context, c authz.Caller, id string) (ProviderView, error) {
	if err := s.Permit(c, OpProviderGet); err != nil {
		return ProviderView{}, err
	}
	in, err := s.integrations()
	if err != nil {
		return ProviderView{}, err
	}
	e, ok := in.Registry.Entry(id)
	if !ok {
		return ProviderView{}, fmt.Errorf("provider %q: %w", id, store.ErrNotFound)
	}
	return in.View(e), nil
}

// View is how the providers page shows e.
func (in *Integrations) View(e idp.Entry) ProviderView {
	st := ProviderStatus{ID: e.Config.ID, Type: e.Config.Type, DisplayName: e.Config.DisplayName, Issuer: e.Config.Issuer, JIT: e.Config.JIT.Enabled}
	switch {
	case !e.Enabled:
		st.Status = "disabled"
	case e.Provider == nil:
		st.Status, st.Detail = "off", e.Problem
	default:
		ps := e.Provider.Status()
		st.Status, st.Detail = ps.State, ps.LastError
	}
	v := ProviderView{
		ProviderStatus: st, Source: e.Source, ReadOnly: e.Source == idp.SourceConfig, Enabled: e.Enabled,
		Settings: idp.SettingsOf(e.Config), Problem: e.Problem, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		RedirectURI:          in.PublicURL + "/.gatehouse/sso/" + url.PathEscape(e.Config.ID) + "/callback",
		BackchannelLogoutURI: in.PublicURL + "/.gatehouse/sso/" + url.PathEscape(e.Config.ID) + "/backchannel-logout",
		Guide:                "docs/providers/" + guideOf(e.Config.Type) + ".md",
	}
	if e.SecretSet {
		v.ClientSecret = "set"
	}
	if in.Health != nil {
		v.Health = in.Health(e.Config.ID)
	}
	return v
}

func guideOf(typ string) string {
	if slices.Contains(providers.Types(), typ) {
		return typ
	}
	return "oidc"
}

// CreateProvider adds a provider after checking it as the configuration
// file's are checked and against the provider itself (discovery, issuer,
// key set); every problem is returned at once and nothing is stored.
func (s *Service) CreateProvider(ctx context.Context, c authz.Caller, pi ProviderInput) (_ ProviderView, err error) {
	defer s.finish(ctx, c, OpProviderCreate, pi.ID, &err)
	if err = s.Permit(c, OpProviderCreate); err != nil {
		return ProviderView{}, err
	}
	in, err := s.integrations()
	if err != nil {
		return ProviderView{}, err
	}
	if err := s.runtimeOn(in); err != nil {
		return ProviderView{}, err
	}
	pi.ID = strings.TrimSpace(pi.ID)
	cfg := pi.Settings.Config(pi.ID)
	if err := s.checkProvider(ctx, c, in, cfg, true); err != nil {
		return ProviderView{}, err
	}
	rec := store.ProviderRecord{ID: pi.ID, Enabled: pi.Enabled, CreatedAt: s.Now(), UpdatedAt: s.Now()}
	if rec.Config, err = idp.SettingsOf(cfg).Encode(); err != nil {
		return ProviderView{}, err
	}
	if pi.ClientSecret != nil && *pi.ClientSecret != "" {
		if rec.Secret, err = in.Registry.Seal(*pi.ClientSecret, pi.ID); err != nil {
			return ProviderView{}, err
		}
	}
	details := providerDetails(cfg, rec.Enabled)
	details["client_secret"] = secretState(rec.Secret != "")
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateProvider(ctx, rec); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return validation.One("id", "conflict", "a provider with this id exists")
			}
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, c, OpProviderCreate.Action, pi.ID, "ok", details).In(s.Policy.Companies(c, capIntegrations)...))
	})
	if err != nil {
		return ProviderView{}, err
	}
	return s.providerAfter(in, pi.ID)
}

// UpdateProvider replaces a stored provider's settings (and its client
// secret, when one is given), checked as CreateProvider checks them.
func (s *Service) UpdateProvider(ctx context.Context, c authz.Caller, pi ProviderInput) (_ ProviderView, err error) {
	defer s.finish(ctx, c, OpProviderUpdate, pi.ID, &err)
	in, prev, err := s.storedProvider(ctx, c, OpProviderUpdate, pi.ID)
	if err != nil {
		return ProviderView{}, err
	}
	cfg := pi.Settings.Config(pi.ID)
	if err := s.checkProvider(ctx, c, in, cfg, false); err != nil {
		return ProviderView{}, err
	}
	rec := prev
	rec.UpdatedAt = s.Now()
	if rec.Config, err = idp.SettingsOf(cfg).Encode(); err != nil {
		return ProviderView{}, err
	}
	details := providerDetails(cfg, rec.Enabled)
	details["client_secret"] = "kept"
	if pi.ClientSecret != nil {
		rec.Secret, details["client_secret"] = "", "removed"
		if *pi.ClientSecret != "" {
			if rec.Secret, err = in.Registry.Seal(*pi.ClientSecret, pi.ID); err != nil {
				return ProviderView{}, err
			}
			details["client_secret"] = "changed"
		}
	}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.UpdateProvider(ctx, rec); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, c, OpProviderUpdate.Action, pi.ID, "ok", details).In(s.Policy.Companies(c, capIntegrations)...))
	})
	if err != nil {
		return ProviderView{}, err
	}
	return s.providerAfter(in, pi.ID)
}

// SetProviderEnabled disables or enables a stored provider. Disabling
// ends its running sessions when sso.on_disable is "end".
func (s *Service) SetProviderEnabled(ctx context.Context, c authz.Caller, id string, enabled bool) (_ ProviderView, err error) {
	op := OpProviderDisable
	if enabled {
		op = OpProviderEnable
	}
	defer s.finish(ctx, c, op, id, &err)
	in, rec, err := s.storedProvider(ctx, c, op, id)
	if err != nil {
		return ProviderView{}, err
	}
	rec.Enabled, rec.UpdatedAt = enabled, s.Now()
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.UpdateProvider(ctx, rec); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, c, op.Action, id, "ok", map[string]any{"sessions": s.sessionsOnDisable(in, enabled)}).In(s.Policy.Companies(c, capIntegrations)...))
	})
	if err != nil {
		return ProviderView{}, err
	}
	if !enabled {
		s.endProviderSessions(ctx, in, id)
	}
	return s.providerAfter(in, id)
}

// DeleteProvider removes a stored provider; its identity links stay, so
// the provider added again under the same id finds its people.
func (s *Service) DeleteProvider(ctx context.Context, c authz.Caller, id string) (err error) {
	defer s.finish(ctx, c, OpProviderDelete, id, &err)
	in, _, err := s.storedProvider(ctx, c, OpProviderDelete, id)
	if err != nil {
		return err
	}
	err = s.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.DeleteProvider(ctx, id); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.event(ctx, c, OpProviderDelete.Action, id, "ok", map[string]any{"sessions": s.sessionsOnDisable(in, false)}).In(s.Policy.Companies(c, capIntegrations)...))
	})
	if err != nil {
		return err
	}
	s.endProviderSessions(ctx, in, id)
	return nil
}

func (s *Service) sessionsOnDisable(in *Integrations, enabled bool) string {
	switch {
	case enabled:
		return "unchanged"
	case in.EndSessionsOnDisable:
		return "ended"
	default:
		return "kept"
	}
}

func (s *Service) endProviderSessions(ctx context.Context, in *Integrations, id string) {
	if !in.EndSessionsOnDisable || in.EndSessions == nil {
		return
	}
	if _, err := in.EndSessions(ctx, id); err != nil {
		s.Logger.Error("ending the sessions of a disabled provider", "provider", id, "err", err)
	}
}

// runtimeOn refuses changes while secrets.key is not set, saying how to
// set it.
func (s *Service) runtimeOn(in *Integrations) error {
	if in.Registry.Keyring() == nil {
		return fmt.Errorf("%w: %s", apperr.ErrUnavailable, idp.ErrNoKey.Error())
	}
	return nil
}

// storedProvider finds a provider an operation may change: one added
// here (those of the configuration file are read-only), whose JIT company
// the caller holds manage_integrations in.
func (s *Service) storedProvider(ctx context.Context, c authz.Caller, op Op, id string) (*Integrations, store.ProviderRecord, error) {
	if err := s.Permit(c, op); err != nil {
		return nil, store.ProviderRecord{}, err
	}
	in, err := s.integrations()
	if err != nil {
		return nil, store.ProviderRecord{}, err
	}
	if in.Registry.IsStatic(id) {
		return nil, store.ProviderRecord{}, fmt.Errorf("%w: provider %s comes from the configuration file and is read-only there", authz.ErrForbidden, id)
	}
	if err := s.runtimeOn(in); err != nil {
		return nil, store.ProviderRecord{}, err
	}
	rec, err := s.Store.GetProvider(ctx, id)
	if err != nil {
		return nil, store.ProviderRecord{}, err
	}
	if set, err := idp.Decode(rec.Config); err == nil && set.JIT.Enabled && !s.Policy.HasIn(c, set.JIT.Company, capIntegrations) {
		return nil, store.ProviderRecord{}, fmt.Errorf("%w: the provider creates accounts in %s, where you do not manage integrations", authz.ErrForbidden, set.JIT.Company)
	}
	return in, rec, nil
}

// checkProvider is every rule a provider added here meets: the
// configuration file's (config.ValidateProvider, the one home of those
// rules), an id of its own, a JIT company and role the caller may give,
// and what only the provider can tell (Check). All problems at once.
func (s *Service) checkProvider(ctx context.Context, c authz.Caller, in *Integrations, cfg providers.Config, creating bool) error {
	var problems []validation.Problem
	seen := map[string]bool{}
	add := func(field, message string) {
		if seen[field] {
			return
		}
		seen[field] = true
		problems = append(problems, validation.Problem{Field: field, Code: "invalid", Message: message})
	}
	for _, p := range config.ValidateProvider(cfg) {
		add(p.Path, p.Message)
	}
	if creating && in.Registry.IsStatic(cfg.ID) {
		add("id", "the configuration file has a provider with this id")
	}
	if cfg.JIT.Enabled && cfg.JIT.Company != "" {
		switch {
		case !s.Policy.HasIn(c, cfg.JIT.Company, capIntegrations):
			add("jit.company", "you do not manage integrations in this company")
		case cfg.JIT.Role != "" && !s.Policy.Grants(c, cfg.JIT.Company, cfg.JIT.Role):
			add("jit.role", "not a role you may give in this company")
		}
	}
	for from, to := range cfg.RoleMap {
		if _, ok := s.Policy.Roles.Role(to); !ok && to != "" {
			add("role_map", fmt.Sprintf("%q maps to %q, which is not a role", from, to))
		}
	}
	if in.Check != nil && !seen["issuer"] && !seen["type"] {
		for _, p := range in.Check(ctx, cfg).Problems {
			add(p.Key, p.Message)
		}
	}
	if len(problems) > 0 {
		return &validation.Error{Problems: problems}
	}
	return nil
}

// providerAfter is the provider as this process runs it once the write
// has been announced (the registry reloads before the write returns).
func (s *Service) providerAfter(in *Integrations, id string) (ProviderView, error) {
	e, ok := in.Registry.Entry(id)
	if !ok {
		return ProviderView{}, fmt.Errorf("provider %q: %w", id, store.ErrNotFound)
	}
	return in.View(e), nil
}

// providerDetails is what the audit log records of a provider's settings:
// never the client secret.
func providerDetails(cfg providers.Config, enabled bool) map[string]any {
	return map[string]any{
		"type": cfg.Type, "issuer": cfg.Issuer, "client_id": cfg.ClientID, "display_name": cfg.DisplayName,
		"allowed_domains": cfg.AllowedDomains, "allowed_tenants": cfg.AllowedTenants,
		"jit": cfg.JIT.Enabled, "jit_company": cfg.JIT.Company, "jit_role": cfg.JIT.Role, "enabled": enabled,
	}
}

func secretState(set bool) string {
	if set {
		return "set"
	}
	return "none"
}

// StartProviderTest starts a test sign-in with a provider in the
// caller's browser and returns where to send it. It is recorded when it
// comes back (provider.test), with what it found.
func (s *Service) StartProviderTest(ctx context.Context, c authz.Caller, id string) (_ string, err error) {
	defer s.finish(ctx, c, OpProviderTest, id, &err)
	if err = s.Permit(c, OpProviderTest); err != nil {
		return "", err
	}
	in, err := s.integrations()
	if err != nil {
		return "", err
	}
	if in.StartTest == nil {
		return "", fmt.Errorf("%w: test sign-ins", apperr.ErrUnavailable)
	}
	target, err := in.StartTest(ctx, c.Account.ID, id)
	if errors.Is(err, providers.ErrUnavailable) {
		// The provider's state, not the request's: said at its issuer.
		return "", validation.One("issuer", "unavailable", "the provider is not answering: %v", err)
	}
	return target, err
}

// ProviderTestResult is what the caller's test sign-in found; another
// administrator's is not found.
func (s *Service) ProviderTestResult(ctx context.Context, c authz.Caller, resultID string) (sso.TrialResult, error) {
	if err := s.Permit(c, OpProviderTest); err != nil {
		return sso.TrialResult{}, err
	}
	in, err := s.integrations()
	if err != nil {
		return sso.TrialResult{}, err
	}
	if in.TestResult == nil {
		return sso.TrialResult{}, fmt.Errorf("test sign-in result: %w", store.ErrNotFound)
	}
	return in.TestResult(ctx, c.Account.ID, resultID)
}
