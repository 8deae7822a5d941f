package panel

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/admin/adminsvc"
	"github.com/gatehouse/gatehouse/internal/store"
)

// companyRow is one company with what the page shows about it.
type companyRow struct {
	adminsvc.CompanyJSON
	Created string
	Members int
	Sites   int
}

// companiesBody is the companies page.
type companiesBody struct {
	Rows []companyRow
	// CanCreate: only full administrators create companies.
	CanCreate bool
	NewID     string
	NewName   string
}

func (h *Handler) companiesBody(x *call) (companiesBody, error) {
	cos, err := h.d.Service.ListCompanies(x.ctx(), x.c)
	if err != nil {
		return companiesBody{}, err
	}
	b := companiesBody{CanCreate: h.d.Service.CreatesCompanies(x.c)}
	for _, co := range cos {
		members, err := h.d.Service.CompanyMembers(x.ctx(), x.c, co.ID)
		if err != nil {
			return companiesBody{}, err
		}
		sites, err := h.d.Service.ListSites(x.ctx(), x.c, co.ID)
		if err != nil {
			return companiesBody{}, err
		}
		b.Rows = append(b.Rows, companyRow{CompanyJSON: co, Created: x.date(co.CreatedAt), Members: len(members), Sites: len(sites)})
	}
	return b, nil
}

func (h *Handler) companies(x *call) error {
	b, err := h.companiesBody(x)
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "companies", "admin.companies.title", b, nil)
	return nil
}

func (h *Handler) createCompany(x *call) error {
	id, name := formValue(x, "id"), formValue(x, "name")
	_, err := h.d.Service.CreateCompany(x.ctx(), x.c, id, name)
	return h.companiesSaved(x, err, "company_created", func(b *companiesBody) { b.NewID, b.NewName = id, name })
}

func (h *Handler) renameCompany(x *call) error {
	_, err := h.d.Service.RenameCompany(x.ctx(), x.c, x.r.PathValue("id"), formValue(x, "name"))
	return h.companiesSaved(x, err, "saved", nil)
}

// companiesSaved answers a change to a company: the companies page again
// with the problems of a refused form (edit keeps what was typed), or back
// to it with notice.
func (h *Handler) companiesSaved(x *call, err error, notice string, edit func(*companiesBody)) error {
	if ps, ok := h.problems(x, err); ok {
		b, err := h.companiesBody(x)
		if err != nil {
			return err
		}
		if edit != nil {
			edit(&b)
		}
		h.render(x, http.StatusUnprocessableEntity, "companies", "admin.companies.title", b, ps)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"companies", notice)
	return nil
}

// sitesBody is the sites page: every site of the managed companies.
type sitesBody struct {
	Company   string // filter
	Rows      []siteRow
	Companies []adminsvc.CompanyJSON
	NewName   string
}

type siteRow struct {
	adminsvc.SiteJSON
	Created string
}

func (h *Handler) sitesBody(x *call, company string) (sitesBody, error) {
	b := sitesBody{Company: company}
	var err error
	if b.Companies, err = h.d.Service.ListCompanies(x.ctx(), x.c); err != nil {
		return sitesBody{}, err
	}
	sites, err := h.d.Service.ListSites(x.ctx(), x.c, company)
	if err != nil {
		return sitesBody{}, err
	}
	for _, s := range sites {
		b.Rows = append(b.Rows, siteRow{SiteJSON: s, Created: x.date(s.CreatedAt)})
	}
	return b, nil
}

func (h *Handler) sites(x *call) error {
	b, err := h.sitesBody(x, x.r.URL.Query().Get("company"))
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "sites", "admin.sites.title", b, nil)
	return nil
}

func (h *Handler) createSite(x *call) error {
	company, name := formValue(x, "company"), formValue(x, "name")
	site, err := h.d.Service.CreateSite(x.ctx(), x.c, company, name)
	if ps, ok := h.siteProblems(x, err); ok {
		b, err := h.sitesBody(x, "")
		if err != nil {
			return err
		}
		b.NewName = name
		h.render(x, http.StatusUnprocessableEntity, "sites", "admin.sites.title", b, ps)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"sites/"+site.ID, "site_created")
	return nil
}

// siteBody is one site with every member of its company and whether each
// reaches the site.
type siteBody struct {
	Site    adminsvc.SiteJSON
	Company string // its name
	Members []adminsvc.MemberJSON
}

func (h *Handler) siteBody(x *call, id string) (siteBody, error) {
	sites, err := h.d.Service.ListSites(x.ctx(), x.c, "")
	if err != nil {
		return siteBody{}, err
	}
	b := siteBody{}
	found := false
	for _, s := range sites {
		if s.ID == id {
			b.Site, found = s, true
		}
	}
	// SiteMembers answers not found or forbidden for a site outside the
	// caller's companies, before the page says anything about it.
	if b.Members, err = h.d.Service.SiteMembers(x.ctx(), x.c, id); err != nil {
		return siteBody{}, err
	}
	if !found {
		return siteBody{}, store.ErrNotFound
	}
	b.Company = b.Site.Company
	cos, err := h.d.Service.ListCompanies(x.ctx(), x.c)
	if err != nil {
		return siteBody{}, err
	}
	for _, co := range cos {
		if co.ID == b.Site.Company {
			b.Company = co.Name
		}
	}
	return b, nil
}

func (h *Handler) sitePage(x *call) error {
	b, err := h.siteBody(x, x.r.PathValue("id"))
	if err != nil {
		return err
	}
	h.render(x, http.StatusOK, "site", "admin.site.title", b, nil)
	return nil
}

func (h *Handler) renameSite(x *call) error {
	id := x.r.PathValue("id")
	_, err := h.d.Service.RenameSite(x.ctx(), x.c, id, formValue(x, "name"))
	return h.siteSaved(x, id, err, "saved")
}

// setSiteMembers grants the site to exactly the checked accounts. Roles
// that see every site are shown checked and disabled, so they are never
// sent and never need a grant.
func (h *Handler) setSiteMembers(x *call) error {
	id := x.r.PathValue("id")
	accounts := x.r.PostForm["account"]
	if accounts == nil {
		accounts = []string{}
	}
	_, err := h.d.Service.SetSiteMembers(x.ctx(), x.c, id, accounts)
	return h.siteSaved(x, id, err, "access_saved")
}

// siteSaved answers a change to site id: its page again with the
// problems of a refused form, or back to it with notice.
func (h *Handler) siteSaved(x *call, id string, err error, notice string) error {
	if ps, ok := h.siteProblems(x, err); ok {
		b, err := h.siteBody(x, id)
		if err != nil {
			return err
		}
		h.render(x, http.StatusUnprocessableEntity, "site", "admin.site.title", b, ps)
		return nil
	}
	if err != nil {
		return err
	}
	redirect(x, Prefix+"sites/"+id, notice)
	return nil
}

// siteProblems are the problems of a refused site form. The one conflict
// a site has is its name, already used in the company: say so, rather
// than the generic "already taken".
func (h *Handler) siteProblems(x *call, err error) ([]string, bool) {
	if errors.Is(err, store.ErrConflict) {
		return []string{h.d.Renderer.Catalog.T(x.lang, "admin.problem.site_name_taken")}, true
	}
	return h.problems(x, err)
}
