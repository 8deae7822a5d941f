package api

import (
	"context"
	"github.com/gatehouse/gatehouse/internal/httpapi"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/device"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SessionJSON is a live session as the API shows it. The token and its
// hash never leave the store; the id is the assertion's sid.
type SessionJSON struct {
	ID         string        `json:"id"`
	CreatedAt  time.Time     `json:"created_at"`
	LastSeenAt time.Time     `json:"last_seen_at"`
	ExpiresAt  time.Time     `json:"expires_at"`
	Method     string        `json:"method"` // password, passkey, sso, or "" when unknown
	AMR        []string      `json:"amr"`
	IDP        string        `json:"idp"`
	IP         string        `json:"ip"`
	UserAgent  string        `json:"user_agent"`
	Device     device.Device `json:"device"`
}

// SessionView is how the API and the panel show a session.
func SessionView(s store.Session) SessionJSON {
	amr := s.AMR
	if amr == nil {
		amr = []string{}
	}
	return SessionJSON{
		ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
		Method: session.Method(s), AMR: amr, IDP: s.IDP, IP: s.IP, UserAgent: s.UserAgent, Device: device.Parse(s.UserAgent),
	}
}

// ListAccountSessions lists the live sessions of an account the caller
// manages, oldest first.
func (s *Service) ListAccountSessions(ctx context.Context, c authz.Caller, id string) ([]SessionJSON, error) {
	if _, err := s.target(ctx, c, id); err != nil {
		return nil, err
	}
	var list []store.Session
	var err error
	if s.ListSessions != nil {
		list, err = s.ListSessions(ctx, id)
	} else {
		list, err = s.Store.ListAccountSessions(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	out := make([]SessionJSON, 0, len(list))
	for _, sess := range list {
		out = append(out, SessionView(sess))
	}
	return out, nil
}

// EndAccountSession ends one session of an account the caller manages.
// A session id that is not that account's is not found, like a missing one.
func (s *Service) EndAccountSession(ctx context.Context, c authz.Caller, id, sessionID string) error {
	if _, err := s.target(ctx, c, id); err != nil {
		return err
	}
	if s.EndSession != nil {
		if err := s.EndSession(ctx, id, sessionID); err != nil {
			return err
		}
	} else if err := s.deleteAccountSession(ctx, id, sessionID); err != nil {
		return err
	}
	return s.audit(ctx, c, "account.session.end", id, map[string]any{"session": sessionID})
}

// deleteAccountSession is EndAccountSession on the bare store, for a
// service built without a session manager.
func (s *Service) deleteAccountSession(ctx context.Context, accountID, sessionID string) error {
	list, err := s.Store.ListAccountSessions(ctx, accountID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(list, func(x store.Session) bool { return x.ID == sessionID }) {
		return session.ErrNotAccountSession
	}
	return s.Store.DeleteSession(ctx, sessionID)
}

func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	out, err := h.Service.ListAccountSessions(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, c authz.Caller) error {
	if err := emptyBody(w, r); err != nil {
		return err
	}
	if err := h.Service.EndAccountSession(r.Context(), c, r.PathValue("id"), r.PathValue("sid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
