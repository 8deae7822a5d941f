package passkey

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Networks keeps the client networks a shared-computer account may sign
// in from (allowed_networks); none means anywhere.
type Networks interface {
	AllowedNetworks(ctx context.Context, accountID string) ([]netip.Prefix, error)
	// SetAllowedNetworks replaces the list; an empty list removes the limit.
	SetAllowedNetworks(ctx context.Context, accountID string, nets []netip.Prefix) error
}

// StoreNetworks keeps allowed networks in the store (store.Workstations),
// so they survive restarts and hold on every replica.
type StoreNetworks struct {
	Store store.Workstations
}

var _ Networks = StoreNetworks{}

// AllowedNetworks implements Networks. An entry that no longer parses
// (written by hand, say) fails the read rather than being skipped: a
// dropped entry could leave a list that allows anywhere.
func (n StoreNetworks) AllowedNetworks(ctx context.Context, accountID string) ([]netip.Prefix, error) {
	cidrs, err := n.Store.AllowedNetworks(ctx, accountID)
	if err != nil {
		return nil, err
	}
	nets, bad, err := ParseNetworks(cidrs)
	if err != nil {
		return nil, fmt.Errorf("passkey: allowed network %q of %s: %w", cidrs[bad], accountID, err)
	}
	return nets, nil
}

// SetAllowedNetworks implements Networks.
func (n StoreNetworks) SetAllowedNetworks(ctx context.Context, accountID string, nets []netip.Prefix) error {
	return n.Store.SetAllowedNetworks(ctx, accountID, NetworkStrings(nets))
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

// NetworkStrings is how allowed networks are stored and shown.
func NetworkStrings(nets []netip.Prefix) []string {
	out := make([]string, 0, len(nets))
	for _, p := range nets {
		out = append(out, p.String())
	}
	return out
}
