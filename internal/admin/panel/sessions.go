package panel

import (
	"errors"

	"github.com/gatehouse/gatehouse/internal/device"
	"github.com/gatehouse/gatehouse/internal/session"
)

// sessionRow is one live session on the user page.
type sessionRow struct {
	ID, Device, UserAgent, Method, IP, Created, LastSeen string
}

// sessionRows lists the account's live sessions through the admin service,
// worded as on the person's own account page.
func (h *Handler) sessionRows(x *call, accountID string) ([]sessionRow, error) {
	list, err := h.d.Service.ListAccountSessions(x.ctx(), x.c, accountID)
	if err != nil {
		return nil, err
	}
	t := func(key string) string { return h.d.Renderer.Catalog.T(x.lang, key) }
	names := map[string]string{}
	if h.d.Service.Providers != nil {
		for _, p := range h.d.Service.Providers() {
			names[p.ID] = p.DisplayName
		}
	}
	rows := make([]sessionRow, 0, len(list))
	for _, s := range list {
		rows = append(rows, sessionRow{
			ID: s.ID, Device: device.Label(t, s.Device), UserAgent: s.UserAgent,
			Method: session.MethodLabel(t, s.Method, s.IDP, func(id string) string { return names[id] }),
			IP:     s.IP, Created: x.time(s.CreatedAt), LastSeen: x.time(s.LastSeenAt),
		})
	}
	return rows, nil
}

func (h *Handler) endSession(x *call) error {
	id := x.r.PathValue("id")
	err := h.d.Service.EndAccountSession(x.ctx(), x.c, id, x.r.PathValue("sid"))
	if errors.Is(err, session.ErrNotAccountSession) {
		redirectError(x, Prefix+"users/"+id, "no_session")
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"users/"+id, "session_ended")
	return nil
}
