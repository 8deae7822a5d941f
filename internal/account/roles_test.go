package account

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestStandardModel(t *testing.T) {
	m, err := LoadModel("standard")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"shared_computer": {CapView, CapDownload, CapComment},
		"viewer":          {CapView, CapDownload, CapComment, CapBeAssignedTasks, CapSignDocuments, CapReceiveNotifications},
		"manager": {CapView, CapDownload, CapComment, CapBeAssignedTasks, CapSignDocuments, CapReceiveNotifications,
			CapEditObjects, CapManageWorkflows, CapBeResponsible},
		"admin": {CapView, CapDownload, CapComment, CapBeAssignedTasks, CapSignDocuments, CapEditObjects, CapManageWorkflows,
			CapBeResponsible, CapReceiveNotifications, CapAdminPanel, CapManageUsers, CapExports, CapIntegrationLogs, CapManageIntegrations},
	}
	if got := m.RoleNames(); !reflect.DeepEqual(got, []string{"shared_computer", "viewer", "manager", "admin"}) {
		t.Fatalf("standard roles = %v", got)
	}
	for name, caps := range want {
		r, ok := m.Role(name)
		if !ok || !r.AllSites {
			t.Fatalf("role %s missing or not all-sites", name)
		}
		got := slices.Sorted(slices.Values(r.Capabilities))
		if !reflect.DeepEqual(got, slices.Sorted(slices.Values(caps))) {
			t.Errorf("role %s capabilities = %v; want %v", name, got, caps)
		}
	}
	for _, r := range []string{"viewer", "manager"} {
		caps := m.Capabilities(r, store.KindPersonal)
		for _, forbidden := range []string{CapAdminPanel, CapExports, CapIntegrationLogs} {
			if slices.Contains(caps, forbidden) {
				t.Errorf("%s has %s", r, forbidden)
			}
		}
	}
	if !m.IsAdmin("admin") || m.IsAdmin("manager") {
		t.Error("IsAdmin: only admin administers accounts in the standard model")
	}
	if !m.AllowedForKind("shared_computer", store.KindSharedComputer) ||
		m.AllowedForKind("admin", store.KindSharedComputer) ||
		m.AllowedForKind("viewer", store.KindSharedComputer) ||
		!m.AllowedForKind("viewer", store.KindPersonal) ||
		m.AllowedForKind("nope", store.KindPersonal) {
		t.Error("AllowedForKind disagrees with the standard model")
	}
}

func TestSharedComputerNeverGetsPersonalCapabilities(t *testing.T) {
	// A model that (wrongly) gives a shared role personal capabilities.
	m, err := ParseModel([]byte(`
roles:
  - name: floor
    shared_computer: true
    capabilities: [view, be_assigned_tasks, be_responsible, receive_notifications, comment, view]
`), "t")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Capabilities("floor", store.KindSharedComputer); !reflect.DeepEqual(got, []string{CapView, CapComment}) {
		t.Fatalf("shared-computer capabilities = %v; want [view comment]", got)
	}
	if got := m.Capabilities("floor", store.KindPersonal); len(got) != 5 {
		t.Fatalf("personal capabilities = %v; want the five distinct ones", got)
	}
	if m.Capabilities("unknown", store.KindPersonal) != nil {
		t.Fatal("unknown role has capabilities")
	}
	if m.Name != "t" {
		t.Fatalf("default name not applied: %q", m.Name)
	}
}

func TestSiteScopedModel(t *testing.T) {
	file := filepath.Join("..", "..", "config", "roles", "site-scoped.yaml")
	shipped, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the shipped model must exist: %v", err)
	}
	embedded, _ := builtinModels.ReadFile("roles/site-scoped.yaml")
	if !bytes.Equal(shipped, embedded) {
		t.Fatal("internal/account/roles/site-scoped.yaml differs from config/roles/site-scoped.yaml; copy one over the other")
	}
	byName, err := LoadModel("site-scoped")
	if err != nil {
		t.Fatal(err)
	}
	byPath, err := LoadModel(file)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(byName, byPath) {
		t.Fatalf("built-in and file models differ:\n%+v\n%+v", byName, byPath)
	}
	m := byName
	if m.Name != "site-scoped" || !reflect.DeepEqual(m.RoleNames(), []string{"manager", "user", "contributor", "operator"}) {
		t.Fatalf("site-scoped model = %s %v", m.Name, m.RoleNames())
	}
	for _, r := range m.Roles {
		if r.AllSites != (r.Name == "manager") {
			t.Errorf("role %s all_sites = %v; only manager sees all sites", r.Name, r.AllSites)
		}
		if r.SharedComputer != (r.Name == "operator") {
			t.Errorf("role %s shared_computer = %v; only operator is for shared computers", r.Name, r.SharedComputer)
		}
	}
	if !m.IsAdmin("manager") || m.IsAdmin("contributor") {
		t.Error("manager must manage users, contributor must not")
	}
	if got := m.Capabilities("operator", store.KindSharedComputer); !reflect.DeepEqual(got, []string{CapView, CapDownload, CapComment}) {
		t.Errorf("operator capabilities = %v", got)
	}
}

func TestBadModels(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "roles:\n  - name: a\n    capabilites: [view]\n", "capabilites"},
		{"unknown top key", "name: x\nrole:\n  - name: a\n", "role"},
		{"unknown capability", "roles:\n  - name: a\n    capabilities: [view, fly]\n", `roles[0].capabilities[1]: unknown capability "fly"`},
		{"duplicate role", "roles:\n  - name: a\n  - name: a\n", `roles[1].name: role "a" is defined twice`},
		{"bad role name", "roles:\n  - name: Big Boss\n", "roles[0].name"},
		{"no roles", "name: x\n", "at least one role"},
		{"empty", "", "empty"},
		{"two documents", "roles: [{name: a}]\n---\nroles: [{name: b}]\n", "one YAML document"},
		{"wrong type", "roles: {name: a}\n", "cannot unmarshal"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := LoadModel(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadModel = %v, %v; want an error containing %q", m, err, tt.want)
			}
		})
	}
	if _, err := LoadModel(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("a missing file loaded")
	}
}

func TestBadModelReportsEveryProblem(t *testing.T) {
	_, err := ParseModel([]byte("roles:\n  - name: a\n    capabilities: [fly]\n  - name: a\n    capabilities: [swim]\n"), "x")
	if err == nil {
		t.Fatal("bad model loaded")
	}
	for _, want := range []string{`"fly"`, `"swim"`, "defined twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func FuzzParseModel(f *testing.F) {
	for _, name := range []string{"roles/site-scoped.yaml"} {
		data, err := builtinModels.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("roles:\n  - name: a\n    capabilities: [view]\n    all_sites: true\n"))
	f.Add([]byte("roles: [{name: a, shared_computer: true, capabilities: [be_responsible]}]\n"))
	f.Add([]byte("name: &x a\nroles: [{name: *x}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseModel(data, "fuzz")
		if err != nil {
			return
		}
		// Whatever loads obeys the model's invariants.
		seen := map[string]bool{}
		for _, r := range m.Roles {
			if seen[r.Name] || !roleNameRE.MatchString(r.Name) {
				t.Fatalf("bad or repeated role name %q accepted", r.Name)
			}
			seen[r.Name] = true
			for _, c := range m.Capabilities(r.Name, store.KindSharedComputer) {
				if slices.Contains(neverShared, c) {
					t.Fatalf("shared computer given %s", c)
				}
				if !slices.Contains(AllCapabilities(), c) {
					t.Fatalf("unknown capability %q accepted", c)
				}
			}
		}
	})
}

// TestRolesFollowTheAccountKind: shared-computer roles are for shared
// computers only, and the role a form offers first is the least
// privileged one of the account's kind, in both built-in models.
func TestRolesFollowTheAccountKind(t *testing.T) {
	site, err := LoadModel(ModelSiteScoped)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		m                              *Model
		personal, shared               []string
		defaultPersonal, defaultShared string
	}{
		{Standard(), []string{"viewer", "manager", "admin"}, []string{"shared_computer"}, "viewer", "shared_computer"},
		{site, []string{"manager", "user", "contributor"}, []string{"operator"}, "user", "operator"},
	} {
		if got := tc.m.RolesForKind(store.KindPersonal); !slices.Equal(got, tc.personal) {
			t.Errorf("%s: personal roles %v, want %v", tc.m.Name, got, tc.personal)
		}
		if got := tc.m.RolesForKind(store.KindSharedComputer); !slices.Equal(got, tc.shared) {
			t.Errorf("%s: shared-computer roles %v, want %v", tc.m.Name, got, tc.shared)
		}
		for _, r := range tc.shared {
			if tc.m.AllowedForKind(r, store.KindPersonal) {
				t.Errorf("%s: a personal account may hold the shared-computer role %s", tc.m.Name, r)
			}
		}
		if got := tc.m.DefaultRole(store.KindPersonal); got != tc.defaultPersonal {
			t.Errorf("%s: default personal role %q, want %q", tc.m.Name, got, tc.defaultPersonal)
		}
		if got := tc.m.DefaultRole(store.KindSharedComputer); got != tc.defaultShared {
			t.Errorf("%s: default shared-computer role %q, want %q", tc.m.Name, got, tc.defaultShared)
		}
	}
}

func TestModelMFA(t *testing.T) {
	// The shipped standard-mfa model is the standard one plus a second
	// factor for admins.
	m, err := LoadModel(filepath.Join("..", "..", "config", "roles", "standard-mfa.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	std := Standard()
	if !reflect.DeepEqual(m.RoleNames(), std.RoleNames()) {
		t.Fatalf("standard-mfa roles = %v", m.RoleNames())
	}
	for _, name := range std.RoleNames() {
		got := slices.Sorted(slices.Values(m.Capabilities(name, store.KindPersonal)))
		want := slices.Sorted(slices.Values(std.Capabilities(name, store.KindPersonal)))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("standard-mfa %s capabilities = %v; want %v", name, got, want)
		}
		if m.RequiresMFA(name) != (name == "admin") || std.RequiresMFA(name) {
			t.Errorf("RequiresMFA(%s): standard-mfa %v, standard %v", name, m.RequiresMFA(name), std.RequiresMFA(name))
		}
	}
	_, err = ParseModel([]byte("roles:\n  - name: a\n    mfa: yes-please\n  - name: b\n    mfa: optional\n"), "x")
	if err == nil || !strings.Contains(err.Error(), "roles[0].mfa") || !strings.Contains(err.Error(), "roles[1].mfa") {
		t.Fatalf("bad mfa values: %v", err)
	}
}
