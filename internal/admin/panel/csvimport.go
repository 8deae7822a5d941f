package panel

import (
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/rules"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// importRow is one row of a preview.
type importRow struct {
	Line    int
	Email   string
	Changes []string // "key: before → after"
	Errors  []string
}

// importBody is the import page: the upload form, or a preview.
type importBody struct {
	scope
	Previewed bool
	Valid     bool
	Data      string // the previewed file, base64, sent back to apply it
	Confirm   string
	FileErrs  []string
	Rows      []importRow
	BadRows   int
}

func (h *Handler) importPage(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpValuesImportPreview)
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "import", "admin.import.title", importBody{scope: sc}, nil)
	return nil
}

// uploaded reads the CSV from the file input, or the text area when no
// file was chosen.
func uploaded(x *call) ([]byte, error) {
	if x.r.MultipartForm != nil {
		if fhs := x.r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			f, err := fhs[0].Open()
			if err != nil {
				return nil, err
			}
			defer f.Close()
			// The whole form was read within the upload limit, so the
			// file is too.
			return io.ReadAll(f)
		}
	}
	return []byte(x.r.FormValue("csv")), nil
}

func problemText(p validation.Problem) string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

func importView(sc scope, data []byte, rep rules.ImportReport) importBody {
	b := importBody{scope: sc, Previewed: true, Valid: rep.Valid, Confirm: rep.Confirm,
		Data: base64.StdEncoding.EncodeToString(data)}
	for _, p := range rep.Errors {
		b.FileErrs = append(b.FileErrs, problemText(p))
	}
	for _, r := range rep.Rows {
		row := importRow{Line: r.Line, Email: r.Email}
		for _, k := range slices.Sorted(maps.Keys(r.Changes)) {
			c := r.Changes[k]
			row.Changes = append(row.Changes, k+": "+showValue(c.Before)+" → "+showValue(c.After))
		}
		for _, p := range r.Errors {
			row.Errors = append(row.Errors, problemText(p))
		}
		if len(row.Errors) > 0 {
			b.BadRows++
		}
		b.Rows = append(b.Rows, row)
	}
	return b
}

func showValue(v any) string {
	vals := valueStrings(v)
	if len(vals) == 0 {
		return "∅"
	}
	return strings.Join(vals, ", ")
}

func (h *Handler) importPreview(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpValuesImportPreview)
	if err != nil {
		return err
	}
	data, err := uploaded(x)
	if err != nil {
		return err
	}
	rep, err := h.d.Service.PreviewImport(x.ctx(), x.c, sc.Company, data)
	if tl := (*rules.ImportTooLargeError)(nil); errors.As(err, &tl) {
		h.render(x, http.StatusUnprocessableEntity, "import", "admin.import.title", importBody{scope: sc}, []string{tl.Message})
		return nil
	}
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "import", "admin.import.title", importView(sc, data, rep), nil)
	return nil
}

func (h *Handler) importApply(x *call) error {
	sc, err := h.companyScope(x, adminsvc.OpValuesImport)
	if err != nil {
		return err
	}
	data, err := base64.StdEncoding.DecodeString(x.r.PostFormValue("data"))
	if err != nil {
		redirectError(x, Prefix+"import?company="+sc.Company, "stale_import")
		return nil
	}
	rep, err := h.d.Service.ApplyImport(x.ctx(), x.c, sc.Company, data, x.r.PostFormValue("confirm"))
	switch {
	case errors.Is(err, rules.ErrStaleImport):
		redirectError(x, Prefix+"import?company="+sc.Company, "stale_import")
		return nil
	case errors.Is(err, rules.ErrImportInvalid):
		// The data changed since the preview: show what is wrong now.
		h.render(x, http.StatusUnprocessableEntity, "import", "admin.import.title", importView(sc, data, rep), nil)
		return nil
	case err != nil:
		return err
	}
	n := 0
	for _, r := range rep.Rows {
		if len(r.Changes) > 0 {
			n++
		}
	}
	redirect(x, Prefix+"properties", "imported", "company", sc.Company, "n", strconv.Itoa(n))
	return nil
}
