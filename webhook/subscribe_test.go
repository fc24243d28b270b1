package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"waproxy/gupshupsim"
	"waproxy/upstream"
)

// TestSubscribeAgainstTheSimulator drives Subscribe through the real
// upstream client against the simulated partner API.
func TestSubscribeAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	sim := gupshupsim.New(gupshupsim.Options{
		Apps:             []gupshupsim.App{{ID: "app-1", Name: "One", Token: "sk_1"}},
		DisableCallbacks: true,
	})
	t.Cleanup(sim.Close)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	api := upstream.New(upstream.Config{BaseURL: ts.URL})
	app := SubscribeApp{AppID: "app-1", Secret: "cb-secret",
		Token: func(context.Context) (string, error) { return "sk_1", nil }}
	cfg := SubscribeConfig{PublicURL: "https://proxy.example.com/", Tag: "waproxy",
		Modes: []string{"MESSAGE", "SENT", "DELIVERED"}, SecretHeader: "X-Waproxy-Secret"}

	steps := []struct {
		name       string
		change     func()
		wantAction string
	}{
		{"first run creates the subscription", func() {}, "created"},
		{"a second run changes nothing", func() {}, "unchanged"},
		{"other modes update it", func() { cfg.Modes = []string{"MESSAGE", "SENT", "DELIVERED", "READ"} }, "updated"},
		{"modes in another order are the same", func() { cfg.Modes = []string{"READ", "DELIVERED", "SENT", "MESSAGE"} }, "unchanged"},
		{"a new public URL updates it", func() { cfg.PublicURL = "https://wa.example.com" }, "updated"},
		{"a new secret header updates it", func() { cfg.SecretHeader = "X-Other" }, "updated"},
	}
	for _, st := range steps {
		st.change()
		res := Subscribe(context.Background(), api, []SubscribeApp{app}, cfg)
		if len(res) != 1 || res[0].Err != nil || res[0].Action != st.wantAction {
			t.Fatalf("%s: got %+v, want action %q", st.name, res, st.wantAction)
		}
	}
	subs := sim.Subscriptions("app-1")
	if len(subs) != 1 {
		t.Fatalf("the simulator has %d subscriptions, want exactly the managed one", len(subs))
	}
	s := subs[0]
	if s.URL != "https://wa.example.com/gupshup/callbacks/app-1" || s.Version != 3 || s.Tag != "waproxy" {
		t.Errorf("subscription = %+v", s)
	}
	var meta struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(s.Meta), &meta); err != nil || meta.Headers["X-Other"] != "cb-secret" {
		t.Errorf("meta = %q, want the secret header", s.Meta)
	}

	// Another tag is left alone and a second subscription is created.
	cfg.Tag = "other"
	if res := Subscribe(context.Background(), api, []SubscribeApp{app}, cfg); res[0].Action != "created" {
		t.Errorf("new tag: %+v", res)
	}
	// A bad token fails that app only, with the cause kept.
	bad := app
	bad.Token = func(context.Context) (string, error) { return "sk_wrong", nil }
	res := Subscribe(context.Background(), api, []SubscribeApp{bad, app}, cfg)
	if res[0].Action != "failed" || res[0].Err == nil || res[1].Action != "unchanged" {
		t.Errorf("bad token: %+v", res)
	}
	var se *upstream.StatusError
	if !errors.As(res[0].Err, &se) || se.HTTPStatus() != 401 {
		t.Errorf("bad token error = %v, want a wrapped 401 StatusError", res[0].Err)
	}

	// An app with only v2 callbacks: the managed subscription becomes v2,
	// without the v3-only FLOWS_MESSAGE mode; a second run changes nothing.
	v2 := app
	v2.Version = 2
	cfg.Modes = []string{"MESSAGE", "FLOWS_MESSAGE", "SENT"}
	for _, want := range []string{"updated", "unchanged"} {
		if res := Subscribe(context.Background(), api, []SubscribeApp{v2}, cfg); res[0].Action != want || res[0].Err != nil {
			t.Fatalf("v2: %+v, want %s", res, want)
		}
	}
	for _, s := range sim.Subscriptions("app-1") {
		if s.Tag == "other" && (s.Version != 2 || strings.Join(s.Modes, ",") != "MESSAGE,SENT") {
			t.Errorf("v2 subscription = %+v", s)
		}
	}
}
