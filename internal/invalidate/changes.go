package invalidate

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Account data changes travel on the bus with ended sessions, as items
// with a prefix no session id can have (session ids are base64url, with
// "sc." for shared computers), so one connection per process carries both.
const (
	accountPrefix  = "account:"
	companyPrefix  = "company:"
	providerPrefix = "provider:"
)

// ChangeItems names committed account data changes as bus items.
func ChangeItems(cs []store.Change) []string {
	items := make([]string, 0, len(cs))
	for _, c := range cs {
		switch {
		case c.Account != "":
			items = append(items, accountPrefix+c.Account)
		case c.Company != "":
			items = append(items, companyPrefix+c.Company)
		case c.Provider != "":
			items = append(items, providerPrefix+c.Provider)
		}
	}
	return items
}

// Batch is what one delivery asks a process to forget.
type Batch struct {
	Sessions []string       // ended sessions
	Changes  []store.Change // accounts and companies whose data changed
}

// Sort splits delivered items into ended sessions and data changes.
func Sort(items []string) Batch {
	var b Batch
	for _, it := range items {
		if id, ok := strings.CutPrefix(it, accountPrefix); ok {
			b.Changes = append(b.Changes, store.Change{Account: id})
		} else if id, ok := strings.CutPrefix(it, companyPrefix); ok {
			b.Changes = append(b.Changes, store.Change{Company: id})
		} else if id, ok := strings.CutPrefix(it, providerPrefix); ok {
			b.Changes = append(b.Changes, store.Change{Provider: id})
		} else {
			b.Sessions = append(b.Sessions, it)
		}
	}
	return b
}
