package passkey

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Networks keeps the client networks a shared-computer account may sign
// in from (allowed_networks); none means anywhere.
type Networks interface {
	AllowedNetworks(ctx context.Context, accountID string) ([]netip.Prefix, error)
	// SetAllowedNetworks replaces the list; an empty list removes the limit.
	SetAllowedNetworks(ctx context.Context, accountID string, nets []netip.Prefix) error
}

// MemoryCredentials keeps passkeys in memory. It stands in while a store
// backend lacks store.Credentials; everything it holds is lost on restart.
type MemoryCredentials struct {
	mu    sync.Mutex
	creds []store.Credential
}

var _ store.Credentials = (*MemoryCredentials)(nil)

func cloneCred(c store.Credential) store.Credential {
	c.ID = bytes.Clone(c.ID)
	c.PublicKey = bytes.Clone(c.PublicKey)
	c.AAGUID = bytes.Clone(c.AAGUID)
	c.Transports = slices.Clone(c.Transports)
	return c
}

// CreateCredential implements store.Credentials.
func (m *MemoryCredentials) CreateCredential(_ context.Context, c store.Credential) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.creds {
		if bytes.Equal(o.ID, c.ID) {
			return store.ErrConflict
		}
	}
	m.creds = append(m.creds, cloneCred(c))
	return nil
}

// GetCredential implements store.Credentials.
func (m *MemoryCredentials) GetCredential(_ context.Context, id []byte) (store.Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.creds {
		if bytes.Equal(o.ID, id) {
			return cloneCred(o), nil
		}
	}
	return store.Credential{}, store.ErrNotFound
}

// ListCredentials implements store.Credentials, oldest first.
func (m *MemoryCredentials) ListCredentials(_ context.Context, accountID string) ([]store.Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Credential
	for _, o := range m.creds {
		if o.AccountID == accountID {
			out = append(out, cloneCred(o))
		}
	}
	return out, nil
}

// UpdateCredentialUse implements store.Credentials.
func (m *MemoryCredentials) UpdateCredentialUse(_ context.Context, id []byte, signCount uint32, backupState bool, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, o := range m.creds {
		if bytes.Equal(o.ID, id) {
			m.creds[i].SignCount, m.creds[i].BackupState, m.creds[i].LastUsedAt = signCount, backupState, at
			return nil
		}
	}
	return store.ErrNotFound
}

// RenameCredential implements store.Credentials.
func (m *MemoryCredentials) RenameCredential(_ context.Context, accountID string, id []byte, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, o := range m.creds {
		if bytes.Equal(o.ID, id) && o.AccountID == accountID {
			m.creds[i].Name = name
			return nil
		}
	}
	return store.ErrNotFound
}

// DeleteCredential implements store.Credentials.
func (m *MemoryCredentials) DeleteCredential(_ context.Context, accountID string, id []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, o := range m.creds {
		if bytes.Equal(o.ID, id) && o.AccountID == accountID {
			m.creds = slices.Delete(m.creds, i, i+1)
			return nil
		}
	}
	return store.ErrNotFound
}

// MemoryNetworks keeps allowed networks in memory, until the store has a
// table for them.
type MemoryNetworks struct {
	mu   sync.Mutex
	nets map[string][]netip.Prefix
}

var _ Networks = (*MemoryNetworks)(nil)

// AllowedNetworks implements Networks.
func (m *MemoryNetworks) AllowedNetworks(_ context.Context, accountID string) ([]netip.Prefix, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.nets[accountID]), nil
}

// SetAllowedNetworks implements Networks.
func (m *MemoryNetworks) SetAllowedNetworks(_ context.Context, accountID string, nets []netip.Prefix) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nets == nil {
		m.nets = map[string][]netip.Prefix{}
	}
	if len(nets) == 0 {
		delete(m.nets, accountID)
		return nil
	}
	m.nets[accountID] = slices.Clone(nets)
	return nil
}

// ParseNetworks parses CIDRs (a bare address means that one host) and
// reports the first bad entry by index.
func ParseNetworks(in []string) ([]netip.Prefix, int, error) {
	out := make([]netip.Prefix, 0, len(in))
	for i, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, i, err
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, -1, nil
}

// inNetworks reports whether ip is in one of nets; an empty list allows all.
func inNetworks(ip string, nets []netip.Prefix) bool {
	if len(nets) == 0 {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
