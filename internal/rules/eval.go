package rules

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/account"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// neverShared are the capabilities no rule can give a shared-computer
// account, the same the role model withholds: a workstation is not a person.
var neverShared = []string{account.CapBeAssignedTasks, account.CapBeResponsible, account.CapReceiveNotifications}

// companyRules is a company's definitions and parsed enabled-or-not rules,
// read once per version.
type companyRules struct {
	version uint64
	read    time.Time
	defs    map[string]store.PropertyDef
	rules   []compiledRule
}

type compiledRule struct {
	store.AccessRule
	cond Condition
}

type evalKey struct{ account, company, kind, role string }

type evalEntry struct {
	version uint64
	read    time.Time
	result  Result
}

// Result is what the rules say about an account in a company.
type Result struct {
	Props  map[string]any
	Grants []identity.Grant
	// Compact: grants were merged per capability to stay within the
	// budget (see Evaluate).
	Compact bool
}

// Enrich implements the gate's Enricher: the props and grants claims.
func (s *Service) Enrich(ctx context.Context, accountID, company, kind, role string) (map[string]any, []identity.Grant, error) {
	r, err := s.Evaluate(ctx, accountID, company, kind, role)
	if err != nil {
		return nil, nil, err
	}
	return r.Props, r.Grants, nil
}

// Evaluate returns the account's props and grants in company. Results are
// cached per (account, company, kind, role) until anything changes through
// this service, or CacheTTL passes.
//
// Grants are deduplicated and listed in rule order. When props and grants
// together would take more than GrantBudget bytes of JSON (so the signed
// header could pass 4 KB), grants are sent in the compact form: one entry
// per capability and tag namespace whose tag is the first tag in full and
// then the others without their namespace, space-separated ("site:Lyon
// Paris" = site:Lyon and site:Paris). Tags never contain spaces, so a tag
// with a space is always compact; ExpandGrants shows how to read both.
func (s *Service) Evaluate(ctx context.Context, accountID, company, kind, role string) (Result, error) {
	key := evalKey{accountID, company, kind, role}
	now := s.now()
	s.mu.Lock()
	version := s.version
	if e, ok := s.results[key]; ok && e.version == version && now.Sub(e.read) < s.CacheTTL {
		s.mu.Unlock()
		return e.result, nil
	}
	s.mu.Unlock()

	cr, err := s.companyRules(ctx, company, version, now)
	if err != nil {
		return Result{}, err
	}
	vals, err := s.props.ListPropertyValues(ctx, accountID, company)
	if err != nil {
		return Result{}, err
	}
	res := evaluate(cr, vals, kind, role, s.GrantBudget)

	s.mu.Lock()
	if s.version == version {
		if len(s.results) >= maxCachedResults {
			clear(s.results)
		}
		s.results[key] = &evalEntry{version: version, read: now, result: res}
	}
	s.mu.Unlock()
	return res, nil
}

func (s *Service) companyRules(ctx context.Context, company string, version uint64, now time.Time) (*companyRules, error) {
	s.mu.Lock()
	cr, ok := s.compiled[company]
	s.mu.Unlock()
	if ok && cr.version == version && now.Sub(cr.read) < s.CacheTTL {
		return cr, nil
	}
	return s.loadCompanyRules(ctx, company, version, now)
}

// loadCompanyRules reads the company's definitions and rules from the store.
func (s *Service) loadCompanyRules(ctx context.Context, company string, version uint64, now time.Time) (*companyRules, error) {
	defs, err := s.defMap(ctx, company)
	if err != nil {
		return nil, err
	}
	stored, err := s.props.ListAccessRules(ctx, company)
	if err != nil {
		return nil, err
	}
	cr := &companyRules{version: version, read: now, defs: defs}
	for _, r := range stored {
		cond, err := ParseCondition(r.Condition)
		if err != nil {
			// Rules are validated when saved; a damaged one grants nothing.
			s.logger.Error("access rule condition unreadable", "rule", r.ID, "err", err)
			continue
		}
		cr.rules = append(cr.rules, compiledRule{AccessRule: r, cond: cond})
	}
	s.mu.Lock()
	if s.version == version {
		s.compiled[company] = cr
	}
	s.mu.Unlock()
	return cr, nil
}

func factsOf(vals []store.PropertyValue, role string) Facts {
	f := Facts{Role: role, Values: make(map[string][]string, len(vals))}
	for _, v := range vals {
		f.Values[v.Key] = v.Values
	}
	return f
}

func evaluate(cr *companyRules, vals []store.PropertyValue, kind, role string, budget int) Result {
	res := Result{Props: shapeValues(cr.defs, vals), Grants: []identity.Grant{}}
	if role == "" {
		// No membership in the company: rules describe members only.
		return res
	}
	f := factsOf(vals, role)
	seen := map[identity.Grant]bool{}
	for _, r := range cr.rules {
		if !r.Enabled {
			continue
		}
		if kind == store.KindSharedComputer && slices.Contains(neverShared, r.Capability) {
			continue
		}
		g := identity.Grant{Capability: r.Capability, Tag: r.Tag}
		if seen[g] || !r.cond.Match(f, nil) {
			continue
		}
		seen[g] = true
		res.Grants = append(res.Grants, g)
	}
	if budget > 0 && jsonSize(res.Props)+jsonSize(res.Grants) > budget {
		res.Grants = compact(res.Grants)
		res.Compact = true
	}
	return res
}

func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

// compact merges grants per capability and tag namespace (the part of
// the tag up to its first ":"), in order of first appearance. The merged
// tag is the first tag in full, then the others without the namespace,
// separated by spaces: edit_objects "site:Lyon Paris" stands for
// site:Lyon and site:Paris.
func compact(grants []identity.Grant) []identity.Grant {
	var out []identity.Grant
	index := map[[2]string]int{}
	for _, g := range grants {
		ns := ""
		if i := strings.IndexByte(g.Tag, ':'); i >= 0 {
			ns = g.Tag[:i+1]
		}
		k := [2]string{g.Capability, ns}
		i, ok := index[k]
		if !ok {
			index[k] = len(out)
			out = append(out, g)
			continue
		}
		out[i].Tag += " " + strings.TrimPrefix(g.Tag, ns)
	}
	return out
}

// ExpandGrants turns grants in either form back into one grant per tag:
// what an app does with the grants claim (see Evaluate).
func ExpandGrants(grants []identity.Grant) []identity.Grant {
	var out []identity.Grant
	for _, g := range grants {
		fields := strings.Fields(g.Tag)
		if len(fields) == 0 {
			continue
		}
		ns := ""
		if i := strings.IndexByte(fields[0], ':'); i >= 0 {
			ns = fields[0][:i+1]
		}
		out = append(out, identity.Grant{Capability: g.Capability, Tag: fields[0]})
		for _, f := range fields[1:] {
			out = append(out, identity.Grant{Capability: g.Capability, Tag: ns + f})
		}
	}
	return out
}

// RuleMatch is one rule in an explanation.
type RuleMatch struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Position   int    `json:"position"`
	Enabled    bool   `json:"enabled"`
	Capability string `json:"capability"`
	Tag        string `json:"tag"`
	// Matched: the condition holds for the account.
	Matched bool `json:"matched"`
	// MatchedOn: the account's values each satisfied comparison matched
	// ("role" for the role), for matched rules.
	MatchedOn map[string][]string `json:"matched_on,omitempty"`
	// Why the rule gives nothing although it matched, or does not match.
	Reason string `json:"reason,omitempty"`
}

// Explanation says why an account has, or does not have, a grant.
type Explanation struct {
	Account    string              `json:"account"`
	Company    string              `json:"company"`
	Capability string              `json:"capability"`
	Tag        string              `json:"tag"`
	Role       string              `json:"role"`
	Kind       string              `json:"kind"`
	Values     map[string][]string `json:"values"`
	Granted    bool                `json:"granted"`
	Rules      []RuleMatch         `json:"rules"`
}

// Explain evaluates, without the cache, every rule of the company that
// grants capability (any when empty) on tag (any when empty) for the
// account, and says which matched and on what.
func (s *Service) Explain(ctx context.Context, accountID, company, capability, tag string) (Explanation, error) {
	acc, err := s.dir.GetAccount(ctx, accountID)
	if err != nil {
		return Explanation{}, err
	}
	ms, err := s.dir.ListMemberships(ctx, accountID)
	if err != nil {
		return Explanation{}, err
	}
	var role string
	for _, m := range ms {
		if m.CompanyID == company {
			role = m.Role
		}
	}
	s.mu.Lock()
	version := s.version
	s.mu.Unlock()
	// Read fresh: an explanation must show what is stored now.
	cr, err := s.loadCompanyRules(ctx, company, version, s.now())
	if err != nil {
		return Explanation{}, err
	}
	vals, err := s.props.ListPropertyValues(ctx, accountID, company)
	if err != nil {
		return Explanation{}, err
	}
	f := factsOf(vals, role)
	ex := Explanation{
		Account: acc.ID, Company: company, Capability: capability, Tag: tag, Role: role, Kind: acc.Kind,
		Values: f.Values, Rules: []RuleMatch{},
	}
	for _, r := range cr.rules {
		if (capability != "" && r.Capability != capability) || (tag != "" && r.Tag != tag) {
			continue
		}
		m := RuleMatch{ID: r.ID, Name: r.Name, Position: r.Position, Enabled: r.Enabled, Capability: r.Capability, Tag: r.Tag}
		on := map[string][]string{}
		m.Matched = role != "" && r.cond.Match(f, on)
		switch {
		case role == "":
			m.Reason = "the account is not a member of this company"
		case !m.Matched:
			m.Reason = "the condition does not hold for the account's values"
		case !r.Enabled:
			m.MatchedOn, m.Reason = on, "the rule is disabled"
		case acc.Kind == store.KindSharedComputer && slices.Contains(neverShared, r.Capability):
			m.MatchedOn, m.Reason = on, "a shared-computer account can never hold this capability"
		default:
			m.MatchedOn = on
			ex.Granted = true
		}
		ex.Rules = append(ex.Rules, m)
	}
	return ex, nil
}
