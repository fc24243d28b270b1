package integration

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
)

// nodeForSDKs returns the node binary that runs the scripts of
// integration/sdk. It skips the test with -short and fails it when node or
// the SDKs (installed by scripts/install-node-deps) are missing.
func nodeForSDKs(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Node.js SDKs")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found; install Node.js >= 20.19 and run scripts/install-node-deps")
	}
	if _, err := os.Stat(filepath.Join("sdk", "node_modules")); err != nil {
		t.Fatal("integration/sdk/node_modules missing: run scripts/install-node-deps (scripts/test does)")
	}
	return node
}

// nodeScript runs integration/sdk/<script> with env and returns its JSON
// lines by scenario. The SDKs are installed by scripts/install-node-deps
// (run by scripts/test); without them the test fails rather than skips.
func nodeScript(t *testing.T, script string, env ...string) map[string]gjson.Result {
	t.Helper()
	node := nodeForSDKs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = "sdk"
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	out := map[string]gjson.Result{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := gjson.Parse(sc.Text())
		out[line.Get("scenario").Str] = line
		if !line.Get("ok").Bool() {
			t.Errorf("scenario %s failed: %s", line.Get("scenario").Str, sc.Text())
		}
	}
	if runErr != nil {
		t.Errorf("%s: %v\nstderr:\n%s", script, runErr, stderr.String())
	}
	return out
}

// TestKapsoSDK drives @kapso/whatsapp-cloud-api, configured with nothing but
// the proxy as its base URL, through text, template, interactive and reply
// sends and two error cases, and checks both what the SDK parsed and what
// reached Gupshup.
func TestKapsoSDK(t *testing.T) {
	w := newWorld(t, worldOptions{})
	badTo := "91" + gupshupsim.SuffixInvalidDestination
	res := nodeScript(t, "kapso.mjs",
		"PROXY_BASE_URL="+w.proxy.URL, "ACCESS_TOKEN="+tokenA, "PHONE_NUMBER_ID="+phoneA,
		"TO=15551234567", "BAD_TO="+badTo, "GRAPH_VERSION=v23.0")

	sends := w.sends()
	byTo := map[string][]gupshupsim.Request{}
	for _, r := range sends {
		byTo[r.Form.Get("to")] = append(byTo[r.Form.Get("to")], r)
	}
	for _, sc := range []string{"text", "template", "interactive_button", "interactive_list", "interactive_cta_url", "reply_context"} {
		r, ok := res[sc]
		if !ok {
			t.Errorf("scenario %s did not run", sc)
			continue
		}
		// The SDK parsed our JSON answer (it camel-cases keys).
		if r.Get("response.messages.0.id").Str == "" || r.Get("response.messagingProduct").Str != "whatsapp" ||
			r.Get("response.contacts.0.waId").Str != "15551234567" {
			t.Errorf("%s: SDK did not parse the answer: %s", sc, r.Raw)
		}
	}
	if got := len(byTo["15551234567"]); got != 6 {
		t.Fatalf("Gupshup got %d sends to the good number, want 6", got)
	}
	var sawTemplate, sawList, sawContext, sawText bool
	for _, r := range byTo["15551234567"] {
		switch r.Form.Get("type") {
		case "template":
			sawTemplate = true
			tpl := r.Form.Get("template")
			// The SDK sends index as a number; the proxy sends Meta's
			// canonical string. amount_1000 keeps its digits.
			if gjson.Get(tpl, "components.2.index").Type != gjson.String || gjson.Get(tpl, "components.2.index").Str != "0" ||
				gjson.Get(tpl, "components.1.parameters.1.currency.amount_1000").Raw != "100990" ||
				gjson.Get(tpl, "name").Str != "order_update" {
				t.Errorf("template reached Gupshup as %s", tpl)
			}
		case "interactive":
			if gjson.Get(r.Form.Get("interactive"), "type").Str == "list" {
				sawList = gjson.Get(r.Form.Get("interactive"), "action.sections.1.rows.0.title").Str == "Tiramisù"
			}
		case "text":
			if r.Form.Get("context") != "" {
				sawContext = gjson.Get(r.Form.Get("context"), "message_id").Str != ""
			} else {
				sawText = strings.Contains(gjson.Get(r.Form.Get("text"), "body").Str, "😀")
			}
		}
	}
	if !sawTemplate || !sawList || !sawContext || !sawText {
		t.Errorf("upstream forms incomplete: template=%v list=%v context=%v text=%v", sawTemplate, sawList, sawContext, sawText)
	}

	// Errors surface through the SDK's GraphApiError with our code, type,
	// details and trace id.
	e := res["error_bad_to"].Get("error")
	if e.Get("name").Str != "GraphApiError" || e.Get("httpStatus").Int() != 400 || e.Get("code").Int() != 100 ||
		e.Get("type").Str != "OAuthException" || e.Get("fbtraceId").Str == "" || e.Get("details").Str == "" {
		t.Errorf("error_bad_to as the SDK saw it: %s", e.Raw)
	}
	e = res["error_bad_token"].Get("error")
	if e.Get("httpStatus").Int() != 401 || e.Get("code").Int() != 190 || e.Get("category").Str != "authorization" {
		t.Errorf("error_bad_token as the SDK saw it: %s", e.Raw)
	}
}
