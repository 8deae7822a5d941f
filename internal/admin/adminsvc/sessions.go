package adminsvc

import (
	"context"
	"errors"
	"net/http"
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
func (s *Service) ListAccountSessions(ctx context.Context, c authz.Caller, id string) (_ []SessionJSON, err error) {
	if err = s.Permit(c, OpSessionList); err != nil {
		return
	}
	if _, _, err := s.target(ctx, c, id); err != nil {
		return nil, err
	}
	list, err := s.Sessions.List(ctx, id)
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
func (s *Service) EndAccountSession(ctx context.Context, c authz.Caller, id, sessionID string) (err error) {
	defer s.finish(ctx, c, OpSessionEnd, id, &err)
	if err = s.Permit(c, OpSessionEnd); err != nil {
		return
	}
	if _, err := s.wholeAccount(ctx, c, id); err != nil {
		return err
	}
	if err := s.Sessions.EndAccountSession(ctx, id, sessionID); err != nil {
		return err
	}
	return s.audit(ctx, c, "account.session.end", id, map[string]any{"session": sessionID})
}

// SessionCaller is the caller signed in with the request's browser
// session.
func (s *Service) SessionCaller(r *http.Request) (authz.Caller, error) {
	ctx := r.Context()
	sess, err := s.Sessions.Lookup(ctx, r)
	if errors.Is(err, session.ErrNoSession) {
		return authz.Caller{}, authz.ErrUnauthenticated
	}
	if err != nil {
		return authz.Caller{}, err
	}
	return s.LoadCaller(ctx, sess.AccountID, authz.ViaSession, "")
}
