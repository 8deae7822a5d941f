package rules

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/gatehouse/gatehouse/internal/store"
)

// MemStore keeps definitions, values and rules in memory. It stands in for
// a store backend that does not implement store.Properties yet, and backs
// unit tests; nothing in it survives a restart.
type MemStore struct {
	mu     sync.Mutex
	defs   map[[2]string]store.PropertyDef   // (company, key)
	values map[[3]string]store.PropertyValue // (account, company, key)
	rules  map[string]store.AccessRule
}

var _ store.Properties = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		defs:   map[[2]string]store.PropertyDef{},
		values: map[[3]string]store.PropertyValue{},
		rules:  map[string]store.AccessRule{},
	}
}

func cloneDef(d store.PropertyDef) store.PropertyDef {
	d.Choices = slices.Clone(d.Choices)
	if d.Labels != nil {
		l := make(map[string]string, len(d.Labels))
		for k, v := range d.Labels {
			l[k] = v
		}
		d.Labels = l
	}
	return d
}

// CreatePropertyDef implements store.Properties.
func (m *MemStore) CreatePropertyDef(_ context.Context, d store.PropertyDef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{d.CompanyID, d.Key}
	if _, ok := m.defs[k]; ok {
		return store.ErrConflict
	}
	m.defs[k] = cloneDef(d)
	return nil
}

// UpdatePropertyDef implements store.Properties.
func (m *MemStore) UpdatePropertyDef(_ context.Context, d store.PropertyDef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{d.CompanyID, d.Key}
	old, ok := m.defs[k]
	if !ok {
		return store.ErrNotFound
	}
	d.CreatedAt = old.CreatedAt
	m.defs[k] = cloneDef(d)
	return nil
}

// GetPropertyDef implements store.Properties.
func (m *MemStore) GetPropertyDef(_ context.Context, companyID, key string) (store.PropertyDef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.defs[[2]string{companyID, key}]
	if !ok {
		return store.PropertyDef{}, store.ErrNotFound
	}
	return cloneDef(d), nil
}

// ListPropertyDefs implements store.Properties, ordered by key.
func (m *MemStore) ListPropertyDefs(_ context.Context, companyID string) ([]store.PropertyDef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.PropertyDef
	for k, d := range m.defs {
		if k[0] == companyID {
			out = append(out, cloneDef(d))
		}
	}
	slices.SortFunc(out, func(a, b store.PropertyDef) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// DeletePropertyDef implements store.Properties.
func (m *MemStore) DeletePropertyDef(_ context.Context, companyID, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{companyID, key}
	if _, ok := m.defs[k]; !ok {
		return store.ErrNotFound
	}
	delete(m.defs, k)
	for vk := range m.values {
		if vk[1] == companyID && vk[2] == key {
			delete(m.values, vk)
		}
	}
	return nil
}

// SetPropertyValue implements store.Properties.
func (m *MemStore) SetPropertyValue(_ context.Context, v store.PropertyValue) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.defs[[2]string{v.CompanyID, v.Key}]; !ok {
		return store.ErrNotFound
	}
	k := [3]string{v.AccountID, v.CompanyID, v.Key}
	if len(v.Values) == 0 {
		delete(m.values, k)
		return nil
	}
	v.Values = slices.Clone(v.Values)
	m.values[k] = v
	return nil
}

// ListPropertyValues implements store.Properties, ordered by key.
func (m *MemStore) ListPropertyValues(_ context.Context, accountID, companyID string) ([]store.PropertyValue, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.PropertyValue
	for k, v := range m.values {
		if k[0] == accountID && k[1] == companyID {
			v.Values = slices.Clone(v.Values)
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b store.PropertyValue) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// FindAccountsByValue implements store.Properties, ordered by account id.
func (m *MemStore) FindAccountsByValue(_ context.Context, companyID, key, value string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k, v := range m.values {
		if k[1] == companyID && k[2] == key && slices.Contains(v.Values, value) {
			out = append(out, k[0])
		}
	}
	slices.Sort(out)
	return out, nil
}

// CreateAccessRule implements store.Properties.
func (m *MemStore) CreateAccessRule(_ context.Context, r store.AccessRule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[r.ID]; ok {
		return store.ErrConflict
	}
	r.Condition = slices.Clone(r.Condition)
	m.rules[r.ID] = r
	return nil
}

// UpdateAccessRule implements store.Properties.
func (m *MemStore) UpdateAccessRule(_ context.Context, r store.AccessRule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.rules[r.ID]
	if !ok {
		return store.ErrNotFound
	}
	r.CreatedAt = old.CreatedAt
	r.Condition = slices.Clone(r.Condition)
	m.rules[r.ID] = r
	return nil
}

// GetAccessRule implements store.Properties.
func (m *MemStore) GetAccessRule(_ context.Context, id string) (store.AccessRule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rules[id]
	if !ok {
		return store.AccessRule{}, store.ErrNotFound
	}
	r.Condition = slices.Clone(r.Condition)
	return r, nil
}

// ListAccessRules implements store.Properties, ordered by position.
func (m *MemStore) ListAccessRules(_ context.Context, companyID string) ([]store.AccessRule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.AccessRule
	for _, r := range m.rules {
		if r.CompanyID == companyID {
			r.Condition = slices.Clone(r.Condition)
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b store.AccessRule) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// DeleteAccessRule implements store.Properties.
func (m *MemStore) DeleteAccessRule(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[id]; !ok {
		return store.ErrNotFound
	}
	delete(m.rules, id)
	return nil
}
