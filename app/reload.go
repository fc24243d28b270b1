package app

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"waproxy/auth"
	"waproxy/config"
	"waproxy/webhook"
)

// reloadable are the config keys Reload applies; every other key is read
// once at start-up and needs a restart.
var reloadable = map[string]bool{
	"tenants":                   true,
	"gupshup.partner":           true,
	"gupshup.app_token_ttl":     true,
	"gupshup.partner_token_ttl": true,
}

// reloadTimeout bounds the work a reload does against the embedded
// simulator (subscriptions) when ctx has no deadline of its own.
const reloadTimeout = 10 * time.Second

// Reload applies a new, already validated configuration to the running
// proxy (SIGHUP). It applies the tenants (client tokens, phone numbers and
// their Gupshup app ids, app tokens, callback secrets and WABA ids; webhook
// URLs, app secrets, verify tokens and concurrency) and the Gupshup partner
// credentials and token lifetimes. Any other key that changed (listeners,
// TLS, the store, gupshup.base_url, timeouts, webhooks.*, …) keeps its
// running value: Reload applies the rest and logs the keys that need a
// restart. So does a tenant webhook when the relay was off at start-up (no
// tenant had one).
//
// Everything is built and checked before anything is swapped; on error
// nothing changes. Requests under way finish with the tenant and number
// they started with; requests that start after Reload returns see only the
// new ones. Cached Gupshup tokens of apps whose settings changed (or of
// every app, when the partner credentials changed) are dropped. The relay
// starts delivery for new webhook tenants and keeps a removed tenant's
// queued events (see webhook.Relay.Update). With the embedded simulator,
// the simulator learns new apps and static app tokens, and the apps of
// webhook tenants are subscribed to the intake.
func (a *App) Reload(ctx context.Context, next *config.Config) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	old := a.cfg
	restart := restartKeys(old, next)
	// The configuration in force: the running values of what needs a
	// restart, the new tenants and credentials.
	eff := *old
	eff.Tenants = next.Tenants
	eff.Gupshup.Partner = next.Gupshup.Partner
	eff.Gupshup.AppTokenTTL = next.Gupshup.AppTokenTTL
	eff.Gupshup.PartnerTokenTTL = next.Gupshup.PartnerTokenTTL
	if a.Relay == nil && hasWebhooks(&eff) {
		restart = append(restart, "tenants[].webhook (the webhook relay was off at start-up)")
	}

	// Build and check everything first.
	dir, err := auth.NewDirectory(eff.Tenants)
	if err != nil {
		return fmt.Errorf("tenants: %w", err)
	}
	targets, sources := relayRoutes(&eff)
	if a.Relay != nil {
		if err := webhook.CheckRoutes(targets, sources); err != nil {
			return err
		}
	}

	// Swap. The upstream first learns what the new numbers need, then the
	// intake accepts their callbacks, then clients reach them.
	if a.Simulator != nil {
		a.addSimulatorApps(&eff)
	}
	a.Tokens.Update(auth.TokensConfig{
		Email:           eff.Gupshup.Partner.Email,
		Secret:          eff.Gupshup.Partner.Secret,
		AppTokenTTL:     eff.Gupshup.AppTokenTTL,
		PartnerTokenTTL: eff.Gupshup.PartnerTokenTTL,
	})
	if changed := changedApps(old, &eff); len(changed) > 0 {
		a.Tokens.Invalidate(changed...)
	}
	var reverify []string
	if a.Relay != nil {
		if reverify, err = a.Relay.Update(targets, sources); err != nil {
			// Not reached: CheckRoutes accepted the same routes.
			return err
		}
	}
	if a.Metrics != nil {
		// New tenants' series carry their names; removed ones count as
		// metrics.OtherTenant.
		a.Metrics.SetTenants(tenantNames(&eff))
	}
	a.Directory.Replace(dir)
	a.cfg = &eff
	if a.Simulator != nil {
		// After the swap: requests that started before it still send the
		// old token, which the simulator accepts until now.
		a.setSimulatorTokens(&eff)
	}

	if a.Relay != nil {
		if len(reverify) > 0 && eff.Webhooks.VerifyOnStartOrDefault() {
			go a.Relay.Verify(context.WithoutCancel(ctx))
		}
		if a.Simulator != nil {
			// As at start-up: the simulated apps' callbacks go to the
			// intake. Done before "config reloaded" is logged, so a
			// client that waits for that line gets the new apps' webhooks.
			sctx, cancel := context.WithTimeout(ctx, reloadTimeout)
			defer cancel()
			for _, r := range a.Subscribe(sctx, &eff) {
				if r.Err != nil {
					a.log.Warn("subscribing the simulated app failed", zap.String("app_id", r.AppID), zap.Error(r.Err))
				}
			}
		}
	}

	added, removed := tenantDiff(old, &eff)
	phones := 0
	for _, t := range eff.Tenants {
		phones += len(t.PhoneNumbers)
	}
	a.log.Info("config reloaded", zap.Int("tenants", len(eff.Tenants)), zap.Int("phone_numbers", phones),
		zap.Int("webhook_tenants", len(targets)), zap.Strings("tenants_added", added),
		zap.Strings("tenants_removed", removed), zap.Int("apps_changed", len(changedApps(old, &eff))))
	if len(restart) > 0 {
		a.log.Warn("config changes that need a restart were not applied", zap.Strings("keys", restart))
	}
	return nil
}

// addSimulatorApps adds the config's new apps to the embedded simulator
// and gives it the partner credentials, so the reloaded config works
// against it as a fresh start would.
func (a *App) addSimulatorApps(cfg *config.Config) {
	sim := a.Simulator
	sim.SetPartnerCredentials(cfg.Gupshup.Partner.Email, cfg.Gupshup.Partner.Secret)
	for _, app := range simulatorApps(cfg) {
		if _, known := sim.App(app.ID); known {
			continue
		}
		if err := sim.AddApp(app); err != nil {
			a.log.Warn("adding an app to the simulator failed", zap.String("app_id", app.ID), zap.Error(err))
		}
	}
}

// setSimulatorTokens gives the embedded simulator's known apps the
// config's changed static app tokens.
func (a *App) setSimulatorTokens(cfg *config.Config) {
	for _, app := range simulatorApps(cfg) {
		if app.Token != "" && a.Simulator.AppToken(app.ID) != app.Token {
			a.Simulator.SetAppToken(app.ID, app.Token)
		}
	}
}

// restartKeys lists the keys (as written in the file) whose values differ
// between old and next and that Reload does not apply.
func restartKeys(old, next *config.Config) []string {
	var out []string
	diffKeys(reflect.ValueOf(*old), reflect.ValueOf(*next), "", &out)
	return out
}

func diffKeys(a, b reflect.Value, path string, out *[]string) {
	if reloadable[path] {
		return
	}
	if a.Kind() != reflect.Struct {
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, path)
		}
		return
	}
	for i := range a.NumField() {
		f := a.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			name = strings.ToLower(f.Name)
		}
		if path != "" {
			name = path + "." + name
		}
		diffKeys(a.Field(i), b.Field(i), name, out)
	}
}

// changedApps lists the Gupshup apps whose phone number settings differ
// (or that are gone) in next: their cached tokens are dropped.
func changedApps(old, next *config.Config) []string {
	nextByApp := map[string]config.PhoneNumber{}
	for _, t := range next.Tenants {
		for _, p := range t.PhoneNumbers {
			nextByApp[p.AppID] = p
		}
	}
	var out []string
	for _, t := range old.Tenants {
		for _, p := range t.PhoneNumbers {
			if q, ok := nextByApp[p.AppID]; !ok || q != p {
				out = append(out, p.AppID)
			}
		}
	}
	slices.Sort(out)
	return out
}

// tenantDiff names the tenants added and removed by next.
func tenantDiff(old, next *config.Config) (added, removed []string) {
	names := func(c *config.Config) map[string]bool {
		m := map[string]bool{}
		for _, t := range c.Tenants {
			m[t.Name] = true
		}
		return m
	}
	o, n := names(old), names(next)
	for name := range n {
		if !o[name] {
			added = append(added, name)
		}
	}
	for name := range o {
		if !n[name] {
			removed = append(removed, name)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}
