package rules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/validation"
)

// ImportLimits bound one CSV import, so that a file made to be expensive
// is refused, and a preview is never many times larger than its file.
type ImportLimits struct {
	MaxColumns int // columns of the header, the email column included
	MaxRows    int // rows after the header
	MaxErrors  int // problems one preview reports; past them it stops
}

// DefaultImportLimits are the limits of a new Service.
var DefaultImportLimits = ImportLimits{MaxColumns: 200, MaxRows: 10000, MaxErrors: 100}

// ImportTooLargeError: the file has more columns or rows than an import
// takes; nothing of it was previewed or applied. The message says which
// limit, in words for the admin.
type ImportTooLargeError struct{ Message string }

func (e *ImportTooLargeError) Error() string { return e.Message }

// ErrStaleImport: a confirmation does not match the previewed file.
var ErrStaleImport = errors.New("rules: the import confirmation does not match this file; preview it again")

// ErrImportInvalid: a confirmed import still has errors, so nothing was
// applied. The report lists them.
var ErrImportInvalid = errors.New("rules: the import has errors; nothing was applied")

// ImportRow is what one CSV row would change, or why it cannot.
type ImportRow struct {
	Line    int                  `json:"line"` // 1-based line of the file (the header is line 1)
	Email   string               `json:"email"`
	Account string               `json:"account,omitempty"`
	Changes map[string]Change    `json:"changes,omitempty"`
	Errors  []validation.Problem `json:"errors,omitempty"`

	values map[string][]string
}

// Change is one value before and after an import.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// ImportReport is the preview (or result) of a CSV import.
type ImportReport struct {
	Company string `json:"company"`
	// Confirm is the token to send back to apply exactly this file.
	Confirm string               `json:"confirm"`
	Valid   bool                 `json:"valid"`
	Applied bool                 `json:"applied"`
	Errors  []validation.Problem `json:"errors"` // problems with the file itself (header)
	Rows    []ImportRow          `json:"rows"`
}

// confirmToken binds a confirmation to one company and one file.
func confirmToken(company string, data []byte) string {
	h := sha256.New()
	h.Write([]byte(company))
	h.Write([]byte{0})
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// PreviewImport reads a CSV of property values and reports, row by row,
// what it would change and every error, changing nothing.
//
// The first line names the columns: "email" (the account), then one
// property key per column. A cell holds the value; several values of a
// multi_choice or relation property are separated by ";"; an empty cell
// clears the value.
func (s *Service) PreviewImport(ctx context.Context, company string, data []byte) (ImportReport, error) {
	rep := ImportReport{Company: company, Confirm: confirmToken(company, data), Errors: []validation.Problem{}, Rows: []ImportRow{}}
	defs, err := s.defMap(ctx, company)
	if err != nil {
		return rep, err
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		p := validation.Problems{}
		p.Add("file", "invalid", "the file is not CSV with a header line: %v", err)
		rep.Errors = p
		return rep, nil
	}
	lim := s.Import
	if len(header) > lim.MaxColumns {
		return rep, &ImportTooLargeError{Message: fmt.Sprintf("the file has %d columns; an import takes at most %d", len(header), lim.MaxColumns)}
	}
	var fileProblems validation.Problems
	emailCol := -1
	keys := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		field := fmt.Sprintf("header[%d]", i)
		switch {
		case strings.EqualFold(h, "email"):
			if emailCol >= 0 {
				fileProblems.Add(field, "duplicate", "the email column appears twice")
			}
			emailCol = i
		case h == "":
			fileProblems.Add(field, "required", "a column has no name")
		default:
			if _, ok := defs[h]; !ok {
				fileProblems.Add(field, "unknown", "no property %q in this company", h)
			} else if slices.Contains(keys, h) {
				fileProblems.Add(field, "duplicate", "property %q appears twice", h)
			}
			keys[i] = h
		}
	}
	if emailCol < 0 {
		fileProblems.Add("header", "required", "an email column is needed to find the accounts")
	}
	if len(fileProblems) > 0 {
		rep.Errors = capProblems(fileProblems, lim.MaxErrors)
		return rep, nil
	}
	seen := map[string]int{}
	reported, rows, stopped := 0, 0, false
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		// Rows are counted to the end, stopped or not: a file over the
		// limit is refused whatever its problems.
		if rows++; rows > lim.MaxRows {
			return ImportReport{Company: company, Errors: []validation.Problem{}, Rows: []ImportRow{}},
				&ImportTooLargeError{Message: fmt.Sprintf("the file has more than %d rows; split it into several imports", lim.MaxRows)}
		}
		if stopped {
			continue
		}
		row := ImportRow{Line: line}
		var ps validation.Problems
		if err != nil {
			ps.Add("row", "invalid", "not a CSV row: %v", err)
		} else {
			if len(rec) != len(header) {
				ps.Add("row", "invalid", "%d cells where the header has %d", len(rec), len(header))
			}
			if err := s.previewRow(ctx, &row, &ps, rec, emailCol, keys, defs, company, seen); err != nil {
				return rep, err
			}
		}
		if reported+len(ps) > lim.MaxErrors {
			// The preview stops: a file with this many problems needs
			// fixing first, and listing them all would let a small file
			// ask for a huge answer.
			row.Errors = ps[:lim.MaxErrors-reported]
			rep.Rows = append(rep.Rows, row)
			fileProblems.Add("file", "too_many_errors", "more than %d problems; the preview stops at line %d: correct these and preview again", lim.MaxErrors, line)
			rep.Errors = fileProblems
			stopped = true
			continue
		}
		reported += len(ps)
		row.Errors = ps
		rep.Rows = append(rep.Rows, row)
	}
	rep.Valid = len(rep.Errors) == 0
	for _, row := range rep.Rows {
		if len(row.Errors) > 0 {
			rep.Valid = false
		}
	}
	return rep, nil
}

// capProblems keeps the first max problems and says how many more there were.
func capProblems(ps validation.Problems, max int) validation.Problems {
	if len(ps) <= max {
		return ps
	}
	more := len(ps) - max
	ps = ps[:max:max]
	ps.Add("file", "too_many_errors", "%d more problems not shown", more)
	return ps
}

func (s *Service) previewRow(ctx context.Context, row *ImportRow, ps *validation.Problems, rec []string, emailCol int, keys []string, defs map[string]store.PropertyDef, company string, seen map[string]int) error {
	if emailCol < len(rec) {
		row.Email = strings.TrimSpace(rec[emailCol])
	}
	if row.Email == "" {
		ps.Add("email", "required", "the row names no account")
		return nil
	}
	if first, dup := seen[strings.ToLower(row.Email)]; dup {
		ps.Add("email", "duplicate", "this account is already on line %d", first)
	} else {
		seen[strings.ToLower(row.Email)] = row.Line
	}
	row.values = map[string][]string{}
	for i, key := range keys {
		if key == "" || i >= len(rec) {
			continue
		}
		vals := splitCell(rec[i], defs[key])
		validateValues(ps, defs[key], key, vals)
		row.values[key] = vals
	}
	acc, err := s.dir.GetAccountByEmail(ctx, row.Email)
	if errors.Is(err, store.ErrNotFound) {
		ps.Add("email", "unknown", "no account with this email")
		return nil
	}
	if err != nil {
		return err
	}
	row.Account = acc.ID
	if err := s.checkMember(ctx, ps, acc.ID, company); err != nil {
		return err
	}
	old, err := s.props.ListPropertyValues(ctx, acc.ID, company)
	if err != nil {
		return err
	}
	before := shapeValues(defs, old)
	row.Changes = map[string]Change{}
	for key, vals := range row.values {
		var after any
		if len(vals) > 0 {
			after = shapeValue(defs[key], vals)
		}
		if fmt.Sprint(before[key]) != fmt.Sprint(after) {
			row.Changes[key] = Change{Before: before[key], After: after}
		}
	}
	return nil
}

// splitCell reads a cell: one trimmed value, or ";"-separated values for
// list properties; empty means none.
func splitCell(cell string, d store.PropertyDef) []string {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return nil
	}
	if d.Type == store.PropertyText || d.Type == store.PropertyChoice {
		return []string{cell}
	}
	var out []string
	for _, v := range strings.Split(cell, ";") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Transactor is the optional capability of a Properties store to run
// several calls in one transaction (store.Store has it).
type Transactor interface {
	InTx(ctx context.Context, fn func(store.Store) error) error
}

// ApplyImport applies a previewed file. confirm must be the token of its
// preview; the file is validated again, and when any row has an error
// nothing is applied (ErrImportInvalid, with the report). When the store
// is a Transactor the whole file is validated and applied in one
// transaction, so a failure part-way changes nothing and no concurrent
// change slips between the check and the writes.
func (s *Service) ApplyImport(ctx context.Context, actor Actor, company string, data []byte, confirm string) (ImportReport, error) {
	if confirm != confirmToken(company, data) {
		return ImportReport{}, ErrStaleImport
	}
	tx, ok := s.props.(Transactor)
	if !ok {
		return s.applyImport(ctx, actor, company, data)
	}
	var rep ImportReport
	err := tx.InTx(ctx, func(st store.Store) error {
		// A service bound to the transaction: every read and write of the
		// import, audit lines included, commits together or not at all.
		// Its caches are its own and die with it.
		inner := NewService(st, st, st, s.roles, s.now, s.rand, s.logger)
		inner.GrantBudget, inner.CacheTTL, inner.Import = s.GrantBudget, s.CacheTTL, s.Import
		var err error
		rep, err = inner.applyImport(ctx, actor, company, data)
		return err
	})
	if err != nil {
		return rep, err
	}
	s.changed()
	return rep, nil
}

func (s *Service) applyImport(ctx context.Context, actor Actor, company string, data []byte) (ImportReport, error) {
	rep, err := s.PreviewImport(ctx, company, data)
	if err != nil {
		return rep, err
	}
	if !rep.Valid {
		return rep, ErrImportInvalid
	}
	defs, err := s.defMap(ctx, company)
	if err != nil {
		return rep, err
	}
	for _, row := range rep.Rows {
		if len(row.Changes) == 0 {
			continue
		}
		changed := make(map[string][]string, len(row.Changes))
		for k := range row.Changes {
			changed[k] = row.values[k]
		}
		if err := s.applyValues(ctx, actor, row.Account, company, defs, changed, "property.values.import"); err != nil {
			return rep, err
		}
	}
	rep.Applied = true
	return rep, nil
}
