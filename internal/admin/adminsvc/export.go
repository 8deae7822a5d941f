package adminsvc

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/admin/authz"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ExportHeader is the first row of the accounts export.
var ExportHeader = []string{"First Name", "Last Name", "Email", "User Creation Date", "Status",
	"Terms of Use version", "Language", "Location", "Company", "Role"}

// ExportCSV writes every (account, company role) pair in the companies
// where the caller holds `exports`, as UTF-8 CSV with a byte-order mark.
// Location is the account's granted site names in that company, joined
// with ", ". Cells that a spreadsheet would read as a formula are defused.
func (s *Service) ExportCSV(ctx context.Context, c authz.Caller, w io.Writer) (err error) {
	if err = s.Permit(c, OpAccountExport); err != nil {
		return
	}
	companies := s.Policy.Companies(c, account.CapExports)
	if len(companies) == 0 {
		return authz.ErrForbidden
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true // RFC 4180 line breaks
	if err := cw.Write(ExportHeader); err != nil {
		return err
	}
	for _, co := range companies {
		sites, err := s.Store.ListSites(ctx, co)
		if err != nil {
			return err
		}
		members, err := s.Store.ListCompanyMembers(ctx, co)
		if err != nil {
			return err
		}
		accs := make([]store.Account, 0, len(members))
		roles := map[string]string{}
		for _, m := range members {
			a, err := s.Store.GetAccount(ctx, m.AccountID)
			if err != nil {
				continue // deleted between the two reads
			}
			accs = append(accs, a)
			roles[a.ID] = m.Role
		}
		slices.SortFunc(accs, func(a, b store.Account) int {
			return strings.Compare(strings.ToLower(a.Email), strings.ToLower(b.Email))
		})
		for _, a := range accs {
			granted, err := s.Store.ListSiteAccess(ctx, a.ID)
			if err != nil {
				return err
			}
			var names []string
			for _, site := range sites {
				if slices.Contains(granted, site.ID) {
					names = append(names, site.Name)
				}
			}
			row := []string{a.FirstName, a.LastName, a.Email, a.CreatedAt.UTC().Format(time.DateOnly), a.Status,
				a.TermsVersion, a.Language, strings.Join(names, ", "), co, roles[a.ID]}
			for i := range row {
				row[i] = DefuseCell(row[i])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return s.Store.AppendAudit(ctx, s.event(ctx, c, "account.export", "", "ok", map[string]any{"companies": companies}).In(companies...))
}

// DefuseCell keeps a spreadsheet from reading a cell as a formula: a value
// starting with =, +, -, @, tab or carriage return gets a leading '.
func DefuseCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
