package panel

import (
	"encoding/base64"
	"errors"
	htmltemplate "html/template"
	"net/http"
	"strconv"
	"strings"

	"rsc.io/qr"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/auth/passkey"
	"github.com/gatehouse/gatehouse/internal/store"
)

// passkeyRow is one passkey on the user page.
type passkeyRow struct {
	ID, Name, Created, LastUsed string
	Workstation, Synced         bool
}

// passkeyRows lists the account's passkeys for the user page.
func (h *Handler) passkeyRows(x *call, accountID string) ([]passkeyRow, error) {
	creds, err := h.d.Service.ListCredentials(x.ctx(), x.c, accountID)
	if err != nil {
		return nil, err
	}
	rows := make([]passkeyRow, 0, len(creds))
	for _, c := range creds {
		row := passkeyRow{ID: c.ID, Name: c.Name, Created: x.date(c.CreatedAt), Workstation: c.Workstation, Synced: c.BackupEligible}
		if c.LastUsedAt != nil {
			row.LastUsed = x.time(*c.LastUsedAt)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (h *Handler) revokePasskey(x *call) error {
	id := x.r.PathValue("id")
	n, err := h.d.Service.RevokeCredential(x.ctx(), x.c, id, x.r.PathValue("cred"))
	if errors.Is(err, passkey.ErrNoCredential) {
		redirectError(x, Prefix+"users/"+id, "no_passkey")
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"users/"+id, "passkey_revoked", "n", strconv.Itoa(n))
	return nil
}

// enrolmentBody is the page that shows a new enrolment link, once.
type enrolmentBody struct {
	Account adminsvc.AccountJSON
	Name    string
	URL     string
	Expires string
	QR      htmltemplate.URL // data: URL of a PNG of URL
}

// createEnrolment shows the link in its answer rather than after a
// redirect: only its hash is stored, so it can never be shown again.
func (h *Handler) createEnrolment(x *call) error {
	id := x.r.PathValue("id")
	name := formValue(x, "name")
	e, err := h.d.Service.CreateEnrolment(x.ctx(), x.c, id, name, nil)
	if code, ok := passkeyRefusal(err); ok {
		redirectError(x, Prefix+"users/"+id, code)
		return nil
	}
	if ps, ok := h.problems(x, err); ok {
		return h.userProblems(x, id, ps, nil)
	}
	if err != nil {
		return err
	}
	a, err := h.d.Service.GetAccount(x.ctx(), x.c, id)
	if err != nil {
		return err
	}
	png, err := qrPNG(e.URL)
	if err != nil {
		return err
	}
	x.w.Header().Set("Cache-Control", "no-store")
	h.render(x, http.StatusCreated, "enrolment", "admin.enrolment.title", enrolmentBody{
		Account: a, Name: name, URL: e.URL, Expires: x.time(e.ExpiresAt),
		// A data: URL of our own PNG, so html/template may trust it.
		QR: htmltemplate.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
	}, nil)
	return nil
}

// qrPNG draws text as a QR code, with medium error correction so a
// screen's glare does not defeat a phone camera.
func qrPNG(text string) ([]byte, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, err
	}
	code.Scale = 6
	return code.PNG(), nil
}

func (h *Handler) setNetworks(x *call) error {
	id := x.r.PathValue("id")
	raw := x.r.PostFormValue("allowed_networks")
	var cidrs []string
	for _, f := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' || r == ' ' || r == '\t' }) {
		cidrs = append(cidrs, f)
	}
	_, err := h.d.Service.SetAllowedNetworks(x.ctx(), x.c, id, cidrs)
	if code, ok := passkeyRefusal(err); ok {
		redirectError(x, Prefix+"users/"+id, code)
		return nil
	}
	if ps, ok := h.problems(x, err); ok {
		return h.userProblems(x, id, ps, func(b *userBody) { b.Networks = raw })
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"users/"+id, "networks_saved")
	return nil
}

// passkeyRefusal maps the passkey package's refusals to a flash error.
func passkeyRefusal(err error) (string, bool) {
	switch {
	case errors.Is(err, passkey.ErrNotSharedComputer):
		return "not_shared_computer", true
	case errors.Is(err, passkey.ErrAccountStatus):
		return "account_status", true
	case errors.Is(err, passkey.ErrOff):
		return "passkeys_off", true
	}
	return "", false
}

// isShared reports whether the account is a shared-computer account.
func isShared(a adminsvc.AccountJSON) bool { return a.Kind == store.KindSharedComputer }
