package metrics

import "sync/atomic"

// OtherTenant is the tenant label of anything not named by SetTenants: a
// tenant removed from the config whose events are still queued, or a name
// that is not a configured tenant's.
const OtherTenant = "_other"

// SetTenants names the configured tenants: the only values the tenant
// label takes (others count as OtherTenant), so a label never carries an
// id, a token or anything a client sent. Until it is called every name
// passes; the proxy calls it with the config's tenant names at start-up.
func (m *Metrics) SetTenants(names []string) {
	set := make(map[string]struct{}, len(names))
	for _, n := range names {
		set[n] = struct{}{}
	}
	m.tenants.allowed.Store(&set)
}

type tenantSet struct {
	allowed atomic.Pointer[map[string]struct{}]
}

// label is the tenant label value of name.
func (t *tenantSet) label(name string) string {
	set := t.allowed.Load()
	if set == nil {
		return name
	}
	if _, ok := (*set)[name]; ok {
		return name
	}
	return OtherTenant
}
