package config

import (
	"fmt"
	"reflect"
	"strings"
)

// The public demo values: the defaults of the shipped config.yaml and of the
// simulated Gupshup (gupshupsim, cmd/gupshup-sim). Anyone can read them, so
// they are accepted only with a simulated upstream (GupshupConfig.Simulated)
// and refused, key by key, in a config that talks to a real Gupshup.
var (
	// demoValues are known values, matched exactly.
	demoValues = []string{
		"demo-token",           // config.yaml: the demo tenant's client token
		"demo-app-secret",      // config.yaml: the demo tenant's Meta app secret
		"demo-callback-secret", // config.yaml: the demo number's callback secret
		"sim-secret",           // gupshupsim.DefaultPartnerSecret
		"partner@example.com",  // gupshupsim.DefaultPartnerEmail
	}
	// demoPrefixes are known families of values, matched by prefix.
	demoPrefixes = []string{
		"sim-app-", // simulator app ids (sim-app-1, …)
		"sk_sim_",  // simulator app tokens (sk_sim_app_token_1, …)
	}
)

// IsDemoValue reports whether s is one of the public demo values (exactly,
// by prefix, or as the "sha256:<hex>" form of one).
func IsDemoValue(s string) bool {
	if s == "" {
		return false
	}
	for _, p := range demoPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	for _, v := range demoValues {
		if s == v {
			return true
		}
	}
	if strings.HasPrefix(s, "sha256:") {
		d, err := TokenDigest(s)
		if err != nil {
			return false
		}
		for _, v := range demoValues {
			if vd, _ := TokenDigest(v); vd == d {
				return true
			}
		}
	}
	return false
}

// DemoKeys lists the key paths holding a demo value (e.g.
// "tenants[0].phone_numbers[0].app_token"), in the order of Config's fields.
func (c *Config) DemoKeys() []string {
	var keys []string
	walkStrings(reflect.ValueOf(c).Elem(), "", func(path, s string) {
		if IsDemoValue(s) {
			keys = append(keys, path)
		}
	})
	return keys
}

// refuseDemoValues fails, naming every offending key in one error (never
// the values), when a config for a real Gupshup holds demo values.
func (c *Config) refuseDemoValues() error {
	if c.Gupshup.Simulated() {
		return nil
	}
	keys := c.DemoKeys()
	if len(keys) == 0 {
		return nil
	}
	return fmt.Errorf("%s: public demo values with a real Gupshup (gupshup.base_url %s); "+
		"set real ones, e.g. from the environment as config.example.yaml does",
		strings.Join(keys, ", "), c.Gupshup.BaseURL)
}

// walkStrings calls f with every string in v (structs by their yaml tags,
// slices by index) and its key path.
func walkStrings(v reflect.Value, path string, f func(path, s string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, f)
		}
	case reflect.String:
		f(path, v.String())
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), f)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !t.Field(i).IsExported() {
				continue
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			walkStrings(v.Field(i), p, f)
		}
	}
}
