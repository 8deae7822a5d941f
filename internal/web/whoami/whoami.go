// Package whoami answers GET /.gatehouse/whoami: the signed-in person's
// identity and memberships as JSON, for apps and scripts.
package whoami

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Deps is what whoami reads from, given to New at once.
type Deps struct {
	Sessions interface {
		Lookup(ctx context.Context, r *http.Request) (store.Session, error)
	}
	Identities interface {
		Identity(ctx context.Context, accountID, companyID string) (account.Identity, error)
	}
	Logger *slog.Logger
}

// Handler answers with the signed-in identity as JSON.
type Handler struct{ d Deps }

// New builds the whoami endpoint, complete.
func New(d Deps) *Handler { return &Handler{d: d} }

type whoamiMembership struct {
	Company      string   `json:"company"`
	Role         string   `json:"role"`
	Capabilities []string `json:"capabilities"`
	Sites        []string `json:"sites"`
}

type whoamiBody struct {
	Sub            string             `json:"sub"`
	Email          string             `json:"email"`
	GivenName      string             `json:"given_name"`
	FamilyName     string             `json:"family_name"`
	Name           string             `json:"name"`
	Locale         string             `json:"locale"`
	SharedComputer bool               `json:"shared_computer"`
	AMR            []string           `json:"amr"`
	IDP            string             `json:"idp"`
	Memberships    []whoamiMembership `json:"memberships"`
}

// Mount registers GET /.gatehouse/whoami.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /.gatehouse/whoami", h.serve)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess, err := h.d.Sessions.Lookup(ctx, r)
	if errors.Is(err, session.ErrNoSession) {
		httpapi.WriteError(w, http.StatusUnauthorized, "unauthenticated", "not signed in")
		return
	}
	if err != nil {
		httpapi.WriteError(w, http.StatusServiceUnavailable, "unavailable", "the session store is unavailable")
		return
	}
	id, err := h.d.Identities.Identity(ctx, sess.AccountID, "")
	if errors.Is(err, store.ErrNotFound) {
		httpapi.WriteError(w, http.StatusUnauthorized, "unauthenticated", "not signed in")
		return
	}
	if err != nil {
		h.d.Logger.Error("whoami", "err", err)
		httpapi.WriteError(w, http.StatusServiceUnavailable, "unavailable", "the account store is unavailable")
		return
	}
	a := id.Account
	body := whoamiBody{
		Sub: a.ID, Email: a.Email, GivenName: a.FirstName, FamilyName: a.LastName,
		Name: account.DisplayName(a), Locale: a.Language,
		SharedComputer: a.Kind == store.KindSharedComputer,
		AMR:            sess.AMR, IDP: sess.IDP, Memberships: []whoamiMembership{},
	}
	for _, m := range id.Memberships {
		body.Memberships = append(body.Memberships, whoamiMembership{
			Company: m.Company, Role: m.Role, Capabilities: nonNilStrings(m.Capabilities), Sites: nonNilStrings(m.Sites),
		})
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
