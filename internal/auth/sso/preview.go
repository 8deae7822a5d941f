package sso

import (
	"context"

	"github.com/gatehouse/gatehouse/providers"
)

// Decision is what MapAccount would do with an identity, told without
// doing it (a test sign-in from the admin panel).
type Decision struct {
	// Outcome is MappedLogin, MappedLink, MappedJIT or "refused".
	Outcome      string `json:"outcome"`
	AccountID    string `json:"account_id,omitempty"`
	AccountEmail string `json:"account_email,omitempty"`
	// Company and Role: where a just-in-time account would be created, or
	// the role role_map would keep in sync there.
	Company string `json:"company,omitempty"`
	Role    string `json:"role,omitempty"`
	Reason  string `json:"reason"`
	// refusal is the error MapAccount answers a Refused decision with.
	refusal error
}

// Outcome of a Decision that maps to no account.
const Refused = "refused"

// Preview tells what MapAccount would do with an identity, from the same
// rules, but only reads: no link is made, no account created or refreshed,
// no session started.
func (h *Handler) Preview(ctx context.Context, providerID string, id *providers.Identity) (Decision, error) {
	d, _, err := h.decide(ctx, providerID, id)
	return d, err
}
