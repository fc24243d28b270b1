package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"waproxy/upstream"
)

// SubscriptionAPI is what Subscribe needs from the Gupshup client.
type SubscriptionAPI interface {
	ListSubscriptions(ctx context.Context, appID, appToken string) ([]upstream.Subscription, error)
	CreateSubscription(ctx context.Context, appID, appToken string, spec upstream.SubscriptionSpec) (*upstream.Subscription, error)
	UpdateSubscription(ctx context.Context, appID, appToken, id string, spec upstream.SubscriptionSpec) (*upstream.Subscription, error)
}

// SubscribeApp is one app to subscribe.
type SubscribeApp struct {
	AppID string
	// Token returns the app's Gupshup token.
	Token func(ctx context.Context) (string, error)
	// Secret is sent back by Gupshup in the secret header.
	Secret string
	// Version is the callback format asked for: 3 (Meta-shaped; 0 means
	// 3) or 2, for apps that only have v2 callbacks. A v2 subscription
	// leaves out FLOWS_MESSAGE, which Gupshup offers on v3 only.
	Version int
}

// SubscribeConfig is what every app's subscription looks like.
type SubscribeConfig struct {
	// PublicURL is the proxy's public base URL; the callback URL is
	// PublicURL + "/gupshup/callbacks/" + app id.
	PublicURL string
	// Tag names the managed subscription (unique per app at Gupshup).
	Tag string
	// Modes are the events subscribed.
	Modes []string
	// SecretHeader is the header the subscription's meta makes Gupshup send.
	SecretHeader string
}

// SubscribeResult says what Subscribe did for one app: "created",
// "updated", "unchanged" or "failed".
type SubscribeResult struct {
	AppID, Action, SubscriptionID string
	Err                           error
}

// CallbackURL is the intake URL for an app.
func CallbackURL(publicURL, appID string) string {
	return strings.TrimRight(publicURL, "/") + "/gupshup/callbacks/" + appID
}

// Subscribe makes every app's subscription (found by tag) point at the
// intake with the wanted modes and secret header: created when missing,
// updated when different, left alone when equal. Running it again changes
// nothing.
func Subscribe(ctx context.Context, api SubscriptionAPI, apps []SubscribeApp, cfg SubscribeConfig) []SubscribeResult {
	out := make([]SubscribeResult, 0, len(apps))
	for _, a := range apps {
		res := SubscribeResult{AppID: a.AppID}
		res.Action, res.SubscriptionID, res.Err = subscribeOne(ctx, api, a, cfg)
		if res.Err != nil {
			res.Action = "failed"
		}
		out = append(out, res)
	}
	return out
}

func subscribeOne(ctx context.Context, api SubscriptionAPI, a SubscribeApp, cfg SubscribeConfig) (string, string, error) {
	token, err := a.Token(ctx)
	if err != nil {
		return "", "", fmt.Errorf("app token: %w", err)
	}
	meta, err := json.Marshal(map[string]map[string]string{"headers": {cfg.SecretHeader: a.Secret}})
	if err != nil {
		return "", "", err
	}
	modes := NormalizeModes(cfg.Modes)
	version := a.Version
	if version == 0 {
		version = 3
	}
	if version == 2 {
		modes = slices.DeleteFunc(modes, func(m string) bool { return m == "FLOWS_MESSAGE" })
	}
	spec := upstream.SubscriptionSpec{
		URL: CallbackURL(cfg.PublicURL, a.AppID), Tag: cfg.Tag, Version: version,
		Modes: modes, Meta: string(meta),
	}
	subs, err := api.ListSubscriptions(ctx, a.AppID, token)
	if err != nil {
		return "", "", fmt.Errorf("list subscriptions: %w", err)
	}
	for _, s := range subs {
		if s.Tag != cfg.Tag {
			continue
		}
		if sameSubscription(s, spec) {
			return "unchanged", s.ID, nil
		}
		got, err := api.UpdateSubscription(ctx, a.AppID, token, s.ID, spec)
		if err != nil {
			return "", s.ID, fmt.Errorf("update subscription %s: %w", s.ID, err)
		}
		return "updated", got.ID, nil
	}
	got, err := api.CreateSubscription(ctx, a.AppID, token, spec)
	if err != nil {
		return "", "", fmt.Errorf("create subscription: %w", err)
	}
	return "created", got.ID, nil
}

// modeAliases are spellings seen in production code for documented modes.
var modeAliases = map[string]string{"FLOW_MESSAGE": "FLOWS_MESSAGE", "DELETE": "DELETED"}

// NormalizeModes spells subscription modes as Gupshup stores them: upper
// case, documented names for known aliases (FLOW_MESSAGE, DELETE), no
// duplicates, sorted.
func NormalizeModes(modes []string) []string {
	out := make([]string, 0, len(modes))
	for _, m := range modes {
		m = strings.ToUpper(strings.TrimSpace(m))
		if a, ok := modeAliases[m]; ok {
			m = a
		}
		if m != "" {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sameSubscription(s upstream.Subscription, want upstream.SubscriptionSpec) bool {
	if s.URL != want.URL || s.Version != want.Version || !s.Active {
		return false
	}
	if !slices.Equal(NormalizeModes(s.Modes), NormalizeModes(want.Modes)) {
		return false
	}
	return sameJSON(s.Meta, want.Meta)
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
