package storetest

import (
	"bytes"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func samePropertyDef(t *testing.T, got, want store.PropertyDef) {
	t.Helper()
	sameTime(t, "PropertyDef.CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "PropertyDef.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	if got.CompanyID != want.CompanyID || got.Key != want.Key || got.Type != want.Type ||
		!maps.Equal(got.Labels, want.Labels) || !slices.Equal(got.Choices, want.Choices) {
		t.Fatalf("property definition:\n got %+v\nwant %+v", got, want)
	}
}

func testPropertyDefs(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "acme")
	mustCompany(t, s, "globex")

	dept := store.PropertyDef{CompanyID: "acme", Key: "department",
		Labels: map[string]string{"en": "Department", "fr": "Service", "ja": "部署"},
		Type:   store.PropertyChoice, Choices: []string{"sales", "ops", "R&D \"lab\""}, CreatedAt: t0}
	badge := store.PropertyDef{CompanyID: "acme", Key: "badge", Type: store.PropertyText, CreatedAt: t0}
	same := store.PropertyDef{CompanyID: "globex", Key: "department", Type: store.PropertyText, CreatedAt: t0}
	for _, d := range []store.PropertyDef{dept, badge, same} {
		noErr(t, "CreatePropertyDef "+d.CompanyID+"/"+d.Key, s.CreatePropertyDef(c, d))
	}
	wantErr(t, "CreatePropertyDef(same key)", s.CreatePropertyDef(c, store.PropertyDef{CompanyID: "acme", Key: "badge", Type: store.PropertyText}), store.ErrConflict)
	wantErr(t, "CreatePropertyDef(unknown company)", s.CreatePropertyDef(c, store.PropertyDef{CompanyID: "nope", Key: "k", Type: store.PropertyText}), store.ErrNotFound)

	badge.UpdatedAt = t0 // a missing UpdatedAt is CreatedAt
	got, err := s.GetPropertyDef(c, "acme", "department")
	noErr(t, "GetPropertyDef", err)
	dept.UpdatedAt = t0
	samePropertyDef(t, got, dept)
	got, err = s.GetPropertyDef(c, "acme", "badge")
	noErr(t, "GetPropertyDef", err)
	samePropertyDef(t, got, badge)
	if got.Labels != nil || got.Choices != nil {
		t.Fatalf("a definition created without labels or choices came back with %#v %#v", got.Labels, got.Choices)
	}
	_, err = s.GetPropertyDef(c, "acme", "Department")
	wantErr(t, "GetPropertyDef(key is case-sensitive)", err, store.ErrNotFound)
	_, err = s.GetPropertyDef(c, "globex", "badge")
	wantErr(t, "GetPropertyDef(other company)", err, store.ErrNotFound)

	list, err := s.ListPropertyDefs(c, "acme")
	noErr(t, "ListPropertyDefs", err)
	if len(list) != 2 || list[0].Key != "badge" || list[1].Key != "department" {
		t.Fatalf("ListPropertyDefs(acme) = %+v, want badge then department", list)
	}

	later := t0.Add(time.Hour)
	upd := dept
	upd.Labels = map[string]string{"en": "Team"}
	upd.Type, upd.Choices, upd.UpdatedAt = store.PropertyMultiChoice, []string{"a", "b"}, later
	upd.CreatedAt = later // ignored: creation time is kept
	noErr(t, "UpdatePropertyDef", s.UpdatePropertyDef(c, upd))
	wantErr(t, "UpdatePropertyDef(missing)", s.UpdatePropertyDef(c, store.PropertyDef{CompanyID: "acme", Key: "nope"}), store.ErrNotFound)
	got, err = s.GetPropertyDef(c, "acme", "department")
	noErr(t, "GetPropertyDef after update", err)
	upd.CreatedAt = t0
	samePropertyDef(t, got, upd)
	got, err = s.GetPropertyDef(c, "globex", "department")
	noErr(t, "GetPropertyDef(other company untouched)", err)
	same.UpdatedAt = t0
	samePropertyDef(t, got, same)

	noErr(t, "DeletePropertyDef", s.DeletePropertyDef(c, "acme", "badge"))
	wantErr(t, "DeletePropertyDef(again)", s.DeletePropertyDef(c, "acme", "badge"), store.ErrNotFound)
	list, err = s.ListPropertyDefs(c, "acme")
	noErr(t, "ListPropertyDefs after delete", err)
	if len(list) != 1 || list[0].Key != "department" {
		t.Fatalf("ListPropertyDefs(acme) after delete = %+v", list)
	}
	list, err = s.ListPropertyDefs(c, "nope")
	noErr(t, "ListPropertyDefs(unknown company)", err)
	if len(list) != 0 {
		t.Fatalf("ListPropertyDefs(unknown company) = %+v", list)
	}
}

func testPropertyValues(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "acme")
	mustCompany(t, s, "globex")
	mustAccounts(t, s, "u1", "u2", "u3")
	for _, d := range []store.PropertyDef{
		{CompanyID: "acme", Key: "department", Type: store.PropertyChoice, Choices: []string{"sales", "ops"}},
		{CompanyID: "acme", Key: "manages", Type: store.PropertyRelation},
		{CompanyID: "globex", Key: "manages", Type: store.PropertyRelation},
	} {
		noErr(t, "CreatePropertyDef", s.CreatePropertyDef(c, d))
	}
	set := func(account, company, key string, at time.Time, values ...string) {
		t.Helper()
		noErr(t, "SetPropertyValue", s.SetPropertyValue(c, store.PropertyValue{AccountID: account, CompanyID: company,
			Key: key, Values: values, UpdatedAt: at}))
	}
	set("u1", "acme", "department", t0, "sales")
	set("u1", "acme", "manages", t0, "u3", "u2") // order is kept
	set("u2", "acme", "manages", t0, "u3")
	set("u1", "globex", "manages", t0.Add(time.Second), "u3")
	wantErr(t, "SetPropertyValue(undefined key)", s.SetPropertyValue(c, store.PropertyValue{AccountID: "u1", CompanyID: "acme",
		Key: "nope", Values: []string{"x"}}), store.ErrNotFound)
	wantErr(t, "SetPropertyValue(unknown account)", s.SetPropertyValue(c, store.PropertyValue{AccountID: "nope", CompanyID: "acme",
		Key: "department", Values: []string{"ops"}}), store.ErrNotFound)

	vals, err := s.ListPropertyValues(c, "u1", "acme")
	noErr(t, "ListPropertyValues", err)
	if len(vals) != 2 || vals[0].Key != "department" || !slices.Equal(vals[0].Values, []string{"sales"}) ||
		vals[1].Key != "manages" || !slices.Equal(vals[1].Values, []string{"u3", "u2"}) {
		t.Fatalf("ListPropertyValues(u1, acme) = %+v", vals)
	}
	for _, v := range vals {
		if v.AccountID != "u1" || v.CompanyID != "acme" {
			t.Fatalf("ListPropertyValues(u1, acme) value %+v", v)
		}
		sameTime(t, "PropertyValue.UpdatedAt", v.UpdatedAt, t0)
	}
	// No company: every company's values, company by company.
	vals, err = s.ListPropertyValues(c, "u1", "")
	noErr(t, "ListPropertyValues(every company)", err)
	if len(vals) != 3 || vals[2].CompanyID != "globex" || vals[2].Key != "manages" {
		t.Fatalf("ListPropertyValues(u1, any) = %+v", vals)
	}
	sameTime(t, "PropertyValue.UpdatedAt", vals[2].UpdatedAt, t0.Add(time.Second))

	ids, err := s.FindAccountsByValue(c, "acme", "manages", "u3")
	noErr(t, "FindAccountsByValue", err)
	if !slices.Equal(ids, []string{"u1", "u2"}) {
		t.Fatalf("FindAccountsByValue(acme, manages, u3) = %v", ids)
	}
	ids, err = s.FindAccountsByValue(c, "globex", "manages", "u3")
	noErr(t, "FindAccountsByValue(other company)", err)
	if !slices.Equal(ids, []string{"u1"}) {
		t.Fatalf("FindAccountsByValue(globex, manages, u3) = %v", ids)
	}
	ids, err = s.FindAccountsByValue(c, "acme", "manages", "U3")
	noErr(t, "FindAccountsByValue(case)", err)
	if len(ids) != 0 {
		t.Fatalf("FindAccountsByValue is case-insensitive: %v", ids)
	}

	// Replacing: the old values are gone, also from the reverse lookup;
	// a value repeated is found once.
	set("u1", "acme", "manages", t0.Add(time.Minute), "u2", "u2")
	vals, err = s.ListPropertyValues(c, "u1", "acme")
	noErr(t, "ListPropertyValues after replace", err)
	if len(vals) != 2 || !slices.Equal(vals[1].Values, []string{"u2", "u2"}) {
		t.Fatalf("ListPropertyValues after replace = %+v", vals)
	}
	sameTime(t, "PropertyValue.UpdatedAt after replace", vals[1].UpdatedAt, t0.Add(time.Minute))
	ids, err = s.FindAccountsByValue(c, "acme", "manages", "u3")
	noErr(t, "FindAccountsByValue after replace", err)
	if !slices.Equal(ids, []string{"u2"}) {
		t.Fatalf("FindAccountsByValue after replace = %v", ids)
	}
	ids, err = s.FindAccountsByValue(c, "acme", "manages", "u2")
	noErr(t, "FindAccountsByValue(repeated)", err)
	if !slices.Equal(ids, []string{"u1"}) {
		t.Fatalf("FindAccountsByValue(repeated value) = %v", ids)
	}

	// Empty Values deletes, and deleting what is not set is no error.
	set("u1", "acme", "department", t0)
	set("u3", "acme", "department", t0)
	vals, err = s.ListPropertyValues(c, "u1", "acme")
	noErr(t, "ListPropertyValues after clearing", err)
	if len(vals) != 1 || vals[0].Key != "manages" {
		t.Fatalf("ListPropertyValues after clearing department = %+v", vals)
	}

	// Deleting a definition deletes its values, in that company only.
	noErr(t, "DeletePropertyDef", s.DeletePropertyDef(c, "acme", "manages"))
	vals, err = s.ListPropertyValues(c, "u1", "")
	noErr(t, "ListPropertyValues after DeletePropertyDef", err)
	if len(vals) != 1 || vals[0].CompanyID != "globex" {
		t.Fatalf("ListPropertyValues after DeletePropertyDef = %+v", vals)
	}
	ids, err = s.FindAccountsByValue(c, "acme", "manages", "u2")
	noErr(t, "FindAccountsByValue after DeletePropertyDef", err)
	if len(ids) != 0 {
		t.Fatalf("FindAccountsByValue after DeletePropertyDef = %v", ids)
	}
	// A definition created again under the same key starts empty.
	noErr(t, "CreatePropertyDef(again)", s.CreatePropertyDef(c, store.PropertyDef{CompanyID: "acme", Key: "manages", Type: store.PropertyRelation}))
	vals, err = s.ListPropertyValues(c, "u2", "acme")
	noErr(t, "ListPropertyValues", err)
	if len(vals) != 0 {
		t.Fatalf("values survived their definition: %+v", vals)
	}

	// An account's values go with it.
	set("u2", "acme", "manages", t0, "u1")
	noErr(t, "DeleteAccount", s.DeleteAccount(c, "u1"))
	vals, err = s.ListPropertyValues(c, "u1", "")
	noErr(t, "ListPropertyValues after DeleteAccount", err)
	if len(vals) != 0 {
		t.Fatalf("ListPropertyValues after DeleteAccount = %+v", vals)
	}
	ids, err = s.FindAccountsByValue(c, "globex", "manages", "u3")
	noErr(t, "FindAccountsByValue after DeleteAccount", err)
	if len(ids) != 0 {
		t.Fatalf("FindAccountsByValue after DeleteAccount = %v", ids)
	}
	// A value pointing at the deleted account is the domain's to clean up:
	// relation values are object ids, not foreign keys.
	ids, err = s.FindAccountsByValue(c, "acme", "manages", "u1")
	noErr(t, "FindAccountsByValue(relation to a deleted account)", err)
	if !slices.Equal(ids, []string{"u2"}) {
		t.Fatalf("FindAccountsByValue(acme, manages, u1) = %v", ids)
	}
}

func sameAccessRule(t *testing.T, got, want store.AccessRule) {
	t.Helper()
	sameTime(t, "AccessRule.CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "AccessRule.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	if got.ID != want.ID || got.CompanyID != want.CompanyID || got.Name != want.Name || got.Position != want.Position ||
		got.Enabled != want.Enabled || !bytes.Equal(got.Condition, want.Condition) ||
		got.Capability != want.Capability || got.Tag != want.Tag {
		t.Fatalf("access rule:\n got %+v\nwant %+v", got, want)
	}
}

func testAccessRules(t *testing.T, s store.Store) {
	c := ctx(t)
	mustCompany(t, s, "acme")
	mustCompany(t, s, "globex")

	// The condition is kept byte for byte, spacing and key order included.
	r1 := store.AccessRule{ID: "r1", CompanyID: "acme", Name: "Sales see sales", Position: 2, Enabled: true,
		Condition:  []byte(`{"all":[{"property":"department","equals":"sales"}],  "z":1, "a":"é"}`),
		Capability: "exports", Tag: "sales", CreatedAt: t0}
	r2 := store.AccessRule{ID: "r2", CompanyID: "acme", Name: "Managers", Position: 1, Enabled: false,
		Condition: []byte(`{}`), Capability: "reports", Tag: "team", CreatedAt: t0.Add(time.Second)}
	r3 := store.AccessRule{ID: "r0", CompanyID: "acme", Name: "Tie", Position: 2, Enabled: true,
		Condition: []byte(`{}`), Capability: "reports", Tag: "x", CreatedAt: t0}
	r4 := store.AccessRule{ID: "r4", CompanyID: "globex", Name: "Other", Position: 0, Enabled: true,
		Condition: []byte(`{}`), Capability: "reports", Tag: "y", CreatedAt: t0}
	for _, r := range []store.AccessRule{r1, r2, r3, r4} {
		noErr(t, "CreateAccessRule "+r.ID, s.CreateAccessRule(c, r))
	}
	r1.UpdatedAt, r2.UpdatedAt, r3.UpdatedAt, r4.UpdatedAt = r1.CreatedAt, r2.CreatedAt, r3.CreatedAt, r4.CreatedAt
	wantErr(t, "CreateAccessRule(same id)", s.CreateAccessRule(c, store.AccessRule{ID: "r1", CompanyID: "globex"}), store.ErrConflict)
	wantErr(t, "CreateAccessRule(unknown company)", s.CreateAccessRule(c, store.AccessRule{ID: "r9", CompanyID: "nope"}), store.ErrNotFound)

	got, err := s.GetAccessRule(c, "r1")
	noErr(t, "GetAccessRule", err)
	sameAccessRule(t, got, r1)
	got, err = s.GetAccessRule(c, "r2")
	noErr(t, "GetAccessRule", err)
	sameAccessRule(t, got, r2)
	_, err = s.GetAccessRule(c, "nope")
	wantErr(t, "GetAccessRule(missing)", err, store.ErrNotFound)

	// By position, then id when positions tie.
	list, err := s.ListAccessRules(c, "acme")
	noErr(t, "ListAccessRules", err)
	var ids []string
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"r2", "r0", "r1"}) {
		t.Fatalf("ListAccessRules(acme) = %v, want r2 r0 r1", ids)
	}
	sameAccessRule(t, list[2], r1)

	upd := r1
	upd.Name, upd.Position, upd.Enabled = "Renamed", -1, false
	upd.Condition, upd.Capability, upd.Tag = []byte(`{"any":[]}`), "admin_panel", "all"
	upd.UpdatedAt = t0.Add(time.Hour)
	upd.CreatedAt = t0.Add(time.Hour) // ignored
	noErr(t, "UpdateAccessRule", s.UpdateAccessRule(c, upd))
	upd.CreatedAt = t0
	got, err = s.GetAccessRule(c, "r1")
	noErr(t, "GetAccessRule after update", err)
	sameAccessRule(t, got, upd)
	// A rule is edited only through its own company.
	moved := upd
	moved.CompanyID = "globex"
	wantErr(t, "UpdateAccessRule(other company)", s.UpdateAccessRule(c, moved), store.ErrNotFound)
	wantErr(t, "UpdateAccessRule(missing)", s.UpdateAccessRule(c, store.AccessRule{ID: "nope", CompanyID: "acme"}), store.ErrNotFound)
	got, err = s.GetAccessRule(c, "r1")
	noErr(t, "GetAccessRule", err)
	sameAccessRule(t, got, upd)

	list, err = s.ListAccessRules(c, "acme")
	noErr(t, "ListAccessRules after update", err)
	if len(list) != 3 || list[0].ID != "r1" {
		t.Fatalf("ListAccessRules after moving r1 first = %+v", list)
	}
	noErr(t, "DeleteAccessRule", s.DeleteAccessRule(c, "r1"))
	wantErr(t, "DeleteAccessRule(again)", s.DeleteAccessRule(c, "r1"), store.ErrNotFound)
	list, err = s.ListAccessRules(c, "acme")
	noErr(t, "ListAccessRules after delete", err)
	if len(list) != 2 {
		t.Fatalf("ListAccessRules after delete has %d rules", len(list))
	}
	list, err = s.ListAccessRules(c, "globex")
	noErr(t, "ListAccessRules(globex)", err)
	if len(list) != 1 {
		t.Fatalf("ListAccessRules(globex) = %+v", list)
	}
	sameAccessRule(t, list[0], r4)
}
