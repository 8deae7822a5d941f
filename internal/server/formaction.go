package server

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// formActionSources are the CSP sources, besides the gateway's own origin,
// that its forms lead to through the redirect answering them: the hosts of
// host routes (signing in returns to an app there) and the origins of the
// identity providers (signing out continues at the provider's end-session
// endpoint, on its issuer's origin).
func formActionSources(cfg config.Config) []string {
	var out []string
	for _, rt := range cfg.Routes {
		// Validated config holds host names only; anything that could end
		// the directive is left out all the same.
		if h := strings.TrimSuffix(strings.ToLower(rt.Host), "."); h != "" && !strings.ContainsAny(h, " ;,'\"") {
			out = append(out, h)
		}
	}
	for _, p := range cfg.Providers {
		issuer := p.Issuer
		if !strings.Contains(issuer, "://") {
			issuer = "https://" + issuer
		}
		if u, err := url.Parse(issuer); err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http") {
			out = append(out, u.Scheme+"://"+strings.ToLower(u.Host))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
