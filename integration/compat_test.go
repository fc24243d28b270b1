package integration

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/app"
	"waproxy/config"
	"waproxy/gupshupsim"
)

// The SDK suite: every SDK in compatSDKs runs one scenario against a world
// (proxy + simulated Gupshup), changing nothing but the setting that points
// it at the proxy, and reports one result per capability (see
// /integration/sdk/compat/protocol.mjs for the protocol). The results are
// rendered into docs/compatibility.md: a normal run fails when the file
// does not match; scripts/compat (-update-compat) rewrites it.

var updateCompat = flag.Bool("update-compat", false, "rewrite docs/compatibility.md from this run of TestSDKCompatibility")

// compatEnv is what a scenario is given.
type compatEnv struct {
	ProxyBaseURL, AccessToken, OtherToken, PhoneNumberID, WABAID, To, BadTo, GraphVersion string
	WebhookPort                                                                           int
	AppSecret, VerifyToken, UserNumber                                                    string
	// TLSHost is the host of the proxy's TLS listener on port 443, and
	// CAFile the CA that signed its certificate ("" when it is not running).
	TLSHost, CAFile string
}

// capResult is one capability's outcome: pass, fail, n/a or defect.
type capResult struct{ Capability, Result, Detail string }

// sdkInfo is one SDK of the suite.
type sdkInfo struct {
	ID, Name, Version string
	// Setting is how it is pointed at the proxy (for the table).
	Setting string
	// Script is its scenario under integration/sdk/compat ("" for the Go
	// SDK, which runs in this process).
	Script string
	// TLS: it needs the proxy's TLS listener on port 443.
	TLS bool
}

var compatSDKs = []sdkInfo{
	{ID: "kapso", Name: "@kapso/whatsapp-cloud-api", Version: "0.3.0", Script: "kapso.mjs",
		Setting: "`new WhatsAppClient({ baseUrl: PROXY })`"},
	{ID: "wajs", Name: "whatsapp-api-js", Version: "6.3.0", Script: "wajs.mjs",
		Setting: "`ponyfill.fetch` rewriting `https://graph.facebook.com` to the proxy"},
	{ID: "great", Name: "@great-detail/whatsapp", Version: "8.4.0", Script: "great.mjs",
		Setting: "`new Client({ prefixUrl: PROXY })`"},
	{ID: "official", Name: "whatsapp (Meta's official SDK)", Version: "0.0.5-Alpha", Script: "official.mjs", TLS: true,
		Setting: "`WA_BASE_URL=<proxy host>` (HTTPS on port 443: the proxy's `tls.listen`)"},
	{ID: "wabiz", Name: "whatsapp-business", Version: "1.7.2", Script: "wabiz.mjs",
		Setting: "`client.restClient.fetch.defaults.baseURL = PROXY + \"/v17.0\"`"},
	{ID: "gosdk", Name: "github.com/piusalfred/whatsapp (Go)", Version: "v0.0.10",
		Setting: "`config.Config{BaseURL: PROXY}`"},
}

// capability is one column of the detailed table.
type capability struct{ ID, Group, Label string }

var capabilities = []capability{
	{"text", "Messages", "text"},
	{"media_id", "Messages", "media by id"},
	{"media_link", "Messages", "media by link"},
	{"location", "Messages", "location"},
	{"contacts", "Messages", "contacts"},
	{"reaction", "Messages", "reaction"},
	{"reply_context", "Messages", "reply (context)"},
	{"interactive_button", "Interactive", "buttons"},
	{"interactive_list", "Interactive", "list"},
	{"interactive_cta_url", "Interactive", "cta_url"},
	{"interactive_flow", "Interactive", "flow"},
	{"interactive_product", "Interactive", "product"},
	{"interactive_product_list", "Interactive", "product_list"},
	{"interactive_catalog", "Interactive", "catalog"},
	{"interactive_location_request", "Interactive", "location request"},
	{"interactive_address", "Interactive", "address"},
	{"template_params", "Templates", "parameters"},
	{"template_media_header", "Templates", "media header"},
	{"template_quick_reply", "Templates", "quick-reply payloads"},
	{"template_copy_code", "Templates", "copy code"},
	{"template_lto", "Templates", "limited-time offer"},
	{"template_carousel", "Templates", "carousel"},
	{"template_mpm", "Templates", "multi-product"},
	{"mark_read", "Read & typing", "mark as read"},
	{"typing", "Read & typing", "typing indicator"},
	{"media_upload", "Media API", "upload"},
	{"media_lookup", "Media API", "lookup"},
	{"media_download", "Media API", "download"},
	{"media_delete", "Media API", "delete"},
	{"flows_lifecycle", "Flows", "Flows API lifecycle"},
	{"error_surface", "Errors", "Meta error surfaced"},
	{"webhook_verify", "Webhooks", "verification handshake"},
	{"webhook_signature", "Webhooks", "signature check"},
	{"webhook_message", "Webhooks", "message parsed"},
	{"webhook_status", "Webhooks", "status parsed"},
}

// sendCapability reports whether a capability sends a message through
// /messages (each pass must have reached Gupshup's v3 send).
func sendCapability(id string) bool {
	switch {
	case strings.HasPrefix(id, "interactive_"), strings.HasPrefix(id, "template_"):
		return true
	}
	switch id {
	case "text", "media_id", "media_link", "location", "contacts", "reaction", "reply_context":
		return true
	}
	return false
}

const (
	compatSecret = "meta-app-secret-compat"
	compatVerify = "verify-token-compat"
)

// compatPort returns a port for an SDK's webhook listener, free on every
// interface (some SDKs listen on all of them), outside the kernel's
// ephemeral range so that no other socket of the run takes it meanwhile.
func compatPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(10000)
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		return p
	}
	t.Fatal("no free port for the SDK's webhook listener")
	return 0
}

// TestSDKCompatibility runs the SDK suite and checks docs/compatibility.md
// matches its results.
func TestSDKCompatibility(t *testing.T) {
	nodeForSDKs(t)
	results := map[string][]capResult{}
	for _, sdk := range compatSDKs {
		t.Run(sdk.ID, func(t *testing.T) {
			results[sdk.ID] = runCompat(t, sdk)
		})
	}
	if len(results) != len(compatSDKs) || t.Failed() {
		return // a partial or failed run says nothing about the table
	}
	doc := renderCompat(results)
	path := filepath.Join("..", "docs", "compatibility.md")
	if *updateCompat {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(have, doc) {
		t.Errorf("docs/compatibility.md does not match this run of the SDK suite; regenerate it with scripts/compat (%v)\n--- this run ---\n%s", err, doc)
	}
}

// compatStatusSequence is the statuses the simulator emits after each send
// in the compatibility worlds.
var compatStatusSequence = []string{"enqueued", "sent", "delivered", "read"}

// runCompat runs one SDK's scenario and checks its results.
func runCompat(t *testing.T, sdk sdkInfo) []capResult {
	port := compatPort(t)
	w := newWorld(t, worldOptions{
		webhookA: &tenantWebhook{url: fmt.Sprintf("http://127.0.0.1:%d/webhook", port), appSecret: compatSecret,
			verifyToken: compatVerify},
		subscribe:       true,
		noVerifyOnStart: true,
		statusSequence:  compatStatusSequence,
	})
	env := compatEnv{
		ProxyBaseURL: w.proxy.URL, AccessToken: tokenA, OtherToken: tokenB, PhoneNumberID: phoneA, WABAID: wabaA,
		To: "15551234567", BadTo: "91" + gupshupsim.SuffixInvalidDestination, GraphVersion: "v23.0",
		WebhookPort: port, AppSecret: compatSecret, VerifyToken: compatVerify, UserNumber: userNumber,
	}
	if sdk.TLS {
		env.TLSHost, env.CAFile = startTLS443(t, w)
	}
	verify := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, r := range w.app.Relay.Verify(ctx) {
			if r.Tenant == "a" {
				return r.OK
			}
		}
		return false
	}
	inbound := func([]string) string {
		wamid, err := w.sim.Inbound(appA, gupshupsim.Inbound{From: userNumber, Name: "Zoë", Text: "compat: héllo ✓"})
		if err != nil {
			t.Errorf("inbound: %v", err)
		}
		return wamid
	}
	var res []capResult
	if sdk.Script == "" {
		res = gosdkCompat(t, env, verify, inbound)
	} else {
		res = nodeCompat(t, sdk, env, verify, inbound)
	}
	checkCompat(t, w, sdk, res)
	return res
}

// checkCompat fails the test on a failed, missing, repeated or unknown
// capability, and when fewer sends reached Gupshup than passes claim.
func checkCompat(t *testing.T, w *world, sdk sdkInfo, res []capResult) {
	t.Helper()
	seen := map[string]int{}
	sends := 0
	for _, r := range res {
		seen[r.Capability]++
		switch r.Result {
		case "pass":
			if sendCapability(r.Capability) {
				sends++
			}
		case "n/a", "defect":
			if r.Detail == "" {
				t.Errorf("%s %s: %s without a detail", sdk.ID, r.Capability, r.Result)
			}
		case "fail":
			t.Errorf("%s %s failed: %s", sdk.ID, r.Capability, r.Detail)
		default:
			t.Errorf("%s %s: unknown result %q", sdk.ID, r.Capability, r.Result)
		}
	}
	for _, c := range capabilities {
		if seen[c.ID] != 1 {
			t.Errorf("%s reported %s %d times, want once", sdk.ID, c.ID, seen[c.ID])
		}
		delete(seen, c.ID)
	}
	for id := range seen {
		t.Errorf("%s reported an unknown capability %q", sdk.ID, id)
	}
	if got := len(w.sends()); got < sends {
		t.Errorf("%s: %d passing send capabilities but Gupshup got %d v3 sends", sdk.ID, sends, got)
	}
}

// nodeCompat runs integration/sdk/compat/<script> and speaks its stdin
// protocol: "verified <bool>" once it listens, "inbound <wamid>" once its
// sends are done.
func nodeCompat(t *testing.T, sdk sdkInfo, env compatEnv, verify func() bool, inbound func([]string) string) []capResult {
	t.Helper()
	node := nodeForSDKs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("compat", sdk.Script))
	cmd.Dir = "sdk"
	cmd.Env = append(os.Environ(),
		"PROXY_BASE_URL="+env.ProxyBaseURL, "ACCESS_TOKEN="+env.AccessToken, "OTHER_TOKEN="+env.OtherToken,
		"PHONE_NUMBER_ID="+env.PhoneNumberID, "WABA_ID="+env.WABAID, "TO="+env.To, "BAD_TO="+env.BadTo,
		"GRAPH_VERSION="+env.GraphVersion, fmt.Sprintf("WEBHOOK_PORT=%d", env.WebhookPort),
		"APP_SECRET="+env.AppSecret, "VERIFY_TOKEN="+env.VerifyToken, "USER_NUMBER="+env.UserNumber)
	if env.TLSHost != "" {
		cmd.Env = append(cmd.Env, "PROXY_TLS_HOST="+env.TLSHost, "NODE_EXTRA_CA_CERTS="+env.CAFile)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var res []capResult
	var lines []string
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
			v := gjson.Parse(line)
			switch v.Get("event").Str {
			case "listening":
				fmt.Fprintf(stdin, "verified %v\n", verify())
			case "sends-done":
				var ids []string
				for _, id := range v.Get("message_ids").Array() {
					ids = append(ids, id.Str)
				}
				fmt.Fprintf(stdin, "inbound %s\n", inbound(ids))
			}
			if c := v.Get("capability"); c.Exists() {
				mu.Lock()
				res = append(res, capResult{Capability: c.Str, Result: v.Get("result").Str, Detail: v.Get("detail").Str})
				mu.Unlock()
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	<-done
	runErr := cmd.Wait()
	_ = stdin.Close()
	mu.Lock()
	defer mu.Unlock()
	if runErr != nil {
		t.Errorf("%s: %v\nstdout:\n%s\nstderr:\n%s", sdk.Script, runErr, strings.Join(lines, "\n"), stderr.String())
	}
	return res
}

// renderCompat renders docs/compatibility.md.
func renderCompat(results map[string][]capResult) []byte {
	var b bytes.Buffer
	b.WriteString(`# SDK compatibility

Generated from the SDK suite (` + "`integration/compat_test.go`" + `) by ` + "`scripts/compat`" + `; do not edit by hand.
Every SDK below runs its scenario over real sockets against the proxy, backed by the simulated Gupshup,
with nothing changed but the setting shown. Its webhook side (handshake, signature check, parser) receives
the proxy's signed webhooks. A normal test run fails when this file does not match the suite's results.

✅ works through the proxy · — not offered by the SDK · ⚠️ SDK defect, also with Meta's own API (see the notes)
· ❌ fails

## Summary

`)
	groups := []string{}
	for _, c := range capabilities {
		if len(groups) == 0 || groups[len(groups)-1] != c.Group {
			groups = append(groups, c.Group)
		}
	}
	b.WriteString("| SDK | version | pointed at the proxy by |")
	for _, g := range groups {
		b.WriteString(" " + g + " |")
	}
	b.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(groups)) + "\n")
	for _, sdk := range compatSDKs {
		by := resultMap(results[sdk.ID])
		fmt.Fprintf(&b, "| %s | %s | %s |", sdk.Name, sdk.Version, sdk.Setting)
		for _, g := range groups {
			pass, offered, defects := 0, 0, 0
			for _, c := range capabilities {
				if c.Group != g {
					continue
				}
				switch by[c.ID].Result {
				case "pass":
					pass++
					offered++
				case "defect":
					defects++
					offered++
				case "fail":
					offered++
				}
			}
			cell := "—"
			if offered > 0 {
				cell = fmt.Sprintf("%d/%d", pass, offered)
				if defects > 0 {
					cell += " ⚠️"
				}
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\nA cell counts the capabilities of the group that work through the proxy, out of those the SDK offers.\n\n## Capabilities\n\n| group | capability |")
	for _, sdk := range compatSDKs {
		b.WriteString(" " + sdk.ID + " |")
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(compatSDKs)) + "\n")
	for _, c := range capabilities {
		fmt.Fprintf(&b, "| %s | %s |", c.Group, c.Label)
		for _, sdk := range compatSDKs {
			b.WriteString(" " + symbol(resultMap(results[sdk.ID])[c.ID].Result) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\nColumns: ")
	for i, sdk := range compatSDKs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "**%s** = %s %s", sdk.ID, sdk.Name, sdk.Version)
	}
	b.WriteString(".\n\n## Notes\n")
	for _, sdk := range compatSDKs {
		var notes []string
		for _, r := range results[sdk.ID] {
			if r.Result == "pass" {
				continue
			}
			notes = append(notes, fmt.Sprintf("- %s %s: %s", symbol(r.Result), labelOf(r.Capability), r.Detail))
		}
		if len(notes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s %s\n\n%s\n", sdk.Name, sdk.Version, strings.Join(notes, "\n"))
	}
	return b.Bytes()
}

func resultMap(res []capResult) map[string]capResult {
	m := make(map[string]capResult, len(res))
	for _, r := range res {
		m[r.Capability] = r
	}
	return m
}

func symbol(result string) string {
	switch result {
	case "pass":
		return "✅"
	case "n/a":
		return "—"
	case "defect":
		return "⚠️"
	default:
		return "❌"
	}
}

func labelOf(id string) string {
	for _, c := range capabilities {
		if c.ID == id {
			return c.Group + " / " + c.Label
		}
	}
	return id
}

// startTLS443 serves the world's proxy on the product's TLS listener at
// 127.0.0.1:443 (Meta's official SDK speaks HTTPS on 443 only), with a
// throwaway CA. It returns the host and the CA file, or "" when port 443
// cannot be bound (the SDK then reports why its sends fail).
func startTLS443(t *testing.T, w *world) (host, caFile string) {
	t.Helper()
	pki := newTestPKI(t)
	cfg := &config.Config{TLS: config.TLSConfig{Listen: "127.0.0.1:443", CertFile: pki.CertFile, KeyFile: pki.KeyFile}}
	ln, err := app.TLSListener(cfg)
	if err != nil {
		t.Logf("no TLS listener on 443: %v", err)
		return "", ""
	}
	srv := &http.Server{Handler: w.proxy.Config.Handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "127.0.0.1", pki.CAFile
}
