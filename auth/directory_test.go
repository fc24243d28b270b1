package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"

	"waproxy/auth"
	"waproxy/config"
)

func sha256Token(s string) string {
	d := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(d[:])
}

func testTenants() []config.Tenant {
	return []config.Tenant{
		{
			Name:   "alpha",
			Tokens: []string{"tok-alpha", sha256Token("tok-alpha-hashed")},
			PhoneNumbers: []config.PhoneNumber{
				{ID: "1001", AppID: "app-a1", AppName: "AlphaOne", AppToken: "sk_a1", WABAID: "waba-1"},
				{ID: "1002", AppID: "app-a2", WABAID: "waba-2"},
			},
		},
		{
			Name:   "beta",
			Tokens: []string{"tok-beta"},
			PhoneNumbers: []config.PhoneNumber{
				{ID: "2001", AppID: "app-b1", AppToken: "sk_b1", WABAID: "waba-3"},
			},
		},
	}
}

func newTestDirectory(t *testing.T) *auth.Directory {
	t.Helper()
	d, err := auth.NewDirectory(testTenants())
	if err != nil {
		t.Fatalf("NewDirectory: %v", err)
	}
	return d
}

func TestDirectoryAuthenticate(t *testing.T) {
	t.Parallel()
	d := newTestDirectory(t)
	tests := []struct {
		name   string
		token  string
		tenant string // "" = not authenticated
	}{
		{"plain configured token", "tok-alpha", "alpha"},
		{"token configured as sha256", "tok-alpha-hashed", "alpha"},
		{"other tenant's token", "tok-beta", "beta"},
		{"wrong token", "tok-gamma", ""},
		{"empty token", "", ""},
		{"configured digest presented literally", sha256Token("tok-alpha-hashed"), ""},
		{"token with different case", "TOK-ALPHA", ""},
		{"token with trailing space", "tok-alpha ", ""},
		{"token prefix", "tok-alph", ""},
		{"bearer scheme not stripped", "Bearer tok-alpha", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := d.Authenticate(tt.token)
			switch {
			case tt.tenant == "" && got != nil:
				t.Errorf("Authenticate(%q) = tenant %q, want nil", tt.token, got.Name)
			case tt.tenant != "" && got == nil:
				t.Errorf("Authenticate(%q) = nil, want tenant %q", tt.token, tt.tenant)
			case tt.tenant != "" && got.Name != tt.tenant:
				t.Errorf("Authenticate(%q) = tenant %q, want %q", tt.token, got.Name, tt.tenant)
			}
		})
	}
}

func TestDirectoryTokensOfOneTenantShareTheTenant(t *testing.T) {
	t.Parallel()
	d := newTestDirectory(t)
	a1, a2 := d.Authenticate("tok-alpha"), d.Authenticate("tok-alpha-hashed")
	if a1 == nil || a1 != a2 {
		t.Fatalf("tokens of one tenant resolve to %p and %p, want the same tenant", a1, a2)
	}
}

func TestTenantPhone(t *testing.T) {
	t.Parallel()
	d := newTestDirectory(t)
	alpha, beta := d.Authenticate("tok-alpha"), d.Authenticate("tok-beta")
	if alpha == nil || beta == nil {
		t.Fatal("test tenants do not authenticate")
	}
	tests := []struct {
		name   string
		tenant *auth.Tenant
		id     string
		want   *auth.Phone // nil = not visible
	}{
		{"own phone with static token", alpha, "1001", &auth.Phone{ID: "1001", Tenant: alpha, AppID: "app-a1", AppName: "AlphaOne"}},
		{"own phone without app name", alpha, "1002", &auth.Phone{ID: "1002", Tenant: alpha, AppID: "app-a2"}},
		{"other tenant's phone is invisible", alpha, "2001", nil},
		{"reverse direction is invisible too", beta, "1001", nil},
		{"second tenant's own phone", beta, "2001", &auth.Phone{ID: "2001", Tenant: beta, AppID: "app-b1"}},
		{"unknown phone", alpha, "9999", nil},
		{"empty id", alpha, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.tenant.Phone(tt.id)
			if tt.want == nil {
				if ok || got != nil {
					t.Errorf("Phone(%q) = %+v, %v; want nil, false", tt.id, got, ok)
				}
				return
			}
			if !ok || got == nil {
				t.Fatalf("Phone(%q) = %v, %v; want found", tt.id, got, ok)
			}
			if got.ID != tt.want.ID || got.Tenant != tt.want.Tenant || got.AppID != tt.want.AppID || got.AppName != tt.want.AppName {
				t.Errorf("Phone(%q) = {ID:%q Tenant:%p AppID:%q AppName:%q}, want {ID:%q Tenant:%p AppID:%q AppName:%q}",
					tt.id, got.ID, got.Tenant, got.AppID, got.AppName, tt.want.ID, tt.want.Tenant, tt.want.AppID, tt.want.AppName)
			}
		})
	}
}

func TestDirectoryPhones(t *testing.T) {
	t.Parallel()
	d := newTestDirectory(t)
	var ids []string
	for _, p := range d.Phones() {
		ids = append(ids, p.ID+"@"+p.Tenant.Name+"/"+p.AppID)
		own, ok := p.Tenant.Phone(p.ID)
		if !ok || own != p {
			t.Errorf("phone %s is not the one its tenant returns", p.ID)
		}
	}
	slices.Sort(ids)
	want := []string{"1001@alpha/app-a1", "1002@alpha/app-a2", "2001@beta/app-b1"}
	if !slices.Equal(ids, want) {
		t.Errorf("Phones() = %q, want %q", ids, want)
	}
}

func TestNewDirectory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		tenants    []config.Tenant
		wantErr    bool
		wantPhones int
	}{
		{"no tenants", nil, false, 0},
		{"valid tenants", testTenants(), false, 3},
		{"bad sha256 token", []config.Tenant{{Name: "x", Tokens: []string{"sha256:abcd"}}}, true, 0},
		{"non-hex sha256 token", []config.Tenant{{Name: "x", Tokens: []string{"sha256:" + string(make([]byte, 64))}}}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := auth.NewDirectory(tt.tenants)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if d != nil {
					t.Error("directory returned with an error")
				}
				return
			}
			if n := len(d.Phones()); n != tt.wantPhones {
				t.Errorf("len(Phones()) = %d, want %d", n, tt.wantPhones)
			}
			if got := d.Authenticate("anything"); got != nil {
				t.Errorf("Authenticate(anything) = %q, want nil", got.Name)
			}
		})
	}
}

func TestTenantPhoneOfWABA(t *testing.T) {
	t.Parallel()
	tenants := testTenants()
	// A second phone in waba-2, with a lower id than 1002.
	tenants[0].PhoneNumbers = append(tenants[0].PhoneNumbers, config.PhoneNumber{ID: "1000", AppID: "app-a0", WABAID: "waba-2"})
	d, err := auth.NewDirectory(tenants)
	if err != nil {
		t.Fatal(err)
	}
	alpha, beta := d.Authenticate("tok-alpha"), d.Authenticate("tok-beta")
	tests := []struct {
		name   string
		tenant *auth.Tenant
		waba   string
		want   string // phone id; "" = none
	}{
		{"one phone in the WABA", alpha, "waba-1", "1001"},
		{"several phones: the lowest id, every time", alpha, "waba-2", "1000"},
		{"another tenant's WABA is invisible", alpha, "waba-3", ""},
		{"the other tenant's own WABA", beta, "waba-3", "2001"},
		{"unknown WABA", beta, "waba-1", ""},
		{"empty id never matches a phone without waba_id", alpha, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.tenant.PhoneOfWABA(tt.waba)
			if tt.want == "" {
				if ok || got != nil {
					t.Errorf("PhoneOfWABA(%q) = %+v, want none", tt.waba, got)
				}
				return
			}
			if !ok || got.ID != tt.want || got.WABAID != tt.waba {
				t.Errorf("PhoneOfWABA(%q) = %+v, %v; want phone %s", tt.waba, got, ok, tt.want)
			}
		})
	}
}

func TestPhoneSendSettings(t *testing.T) {
	t.Parallel()
	d, err := auth.NewDirectory([]config.Tenant{{Name: "v2", Tokens: []string{"tok-v2"}, PhoneNumbers: []config.PhoneNumber{
		{ID: "1", AppID: "app-1", AppName: "One", SendAPI: "v2", DisplayPhoneNumber: "+91 98765-43210", Sandbox: true},
		{ID: "2", AppID: "app-2"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	tenant := d.Authenticate("tok-v2")
	v2, _ := tenant.Phone("1")
	if v2.SendAPI != "v2" || v2.Source != "919876543210" || !v2.Sandbox {
		t.Errorf("v2 phone = %+v, want send API v2, source in digits, sandbox", v2)
	}
	v3, _ := tenant.Phone("2")
	if v3.SendAPI != "v3" || v3.Source != "" || v3.Sandbox {
		t.Errorf("phone without settings = %+v, want the v3 default", v3)
	}
}
