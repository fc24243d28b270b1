package integration

// The proxy binary with its HTTPS listener (tls.*): the same routes over
// TLS for a Go client and for Node's fetch that trust only a throwaway CA
// (newTestPKI), a clean drain of an in-flight HTTPS request on SIGTERM,
// and "proxy check" on good and bad key pairs.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
)

// Identities of the TLS tests' tenant.
const (
	tlsApp      = "7c1d2e3f-4a5b-4c6d-8e9f-tlslistener1"
	tlsAppToken = "sk_tls_listener_app"
	tlsToken    = "EAAG-tls-listener-client-token"
	tlsPhoneID  = "100000000000443"
	tlsTo       = "15551234567"
	tlsTextBody = `{"messaging_product":"whatsapp","recipient_type":"individual","to":"` + tlsTo +
		`","type":"text","text":{"body":"over HTTPS"}}`
)

// tlsSetup is a proxy config with a TLS listener, its simulated Gupshup and
// its key pair.
type tlsSetup struct {
	*faultSetup
	sim      *gupshupsim.Sim
	simURL   string
	pki      testPKI
	tlsAddr  string // tls.listen
	httpsURL string // https://tlsAddr
}

// newTLSSetup writes a config with listen and tls.listen on free loopback
// ports, tls.cert_file and tls.key_file from a fresh test PKI, in front of
// a simulated Gupshup (no webhooks).
func newTLSSetup(t *testing.T) *tlsSetup {
	t.Helper()
	bin := buildProxy(t)
	pki := newTestPKI(t)
	sim := gupshupsim.New(gupshupsim.Options{Apps: []gupshupsim.App{{ID: tlsApp, Name: "TLSApp", Token: tlsAppToken}}})
	simTS := httptest.NewServer(sim)
	t.Cleanup(func() {
		simTS.Close()
		sim.Close()
	})
	dir := t.TempDir()
	listen := "127.0.0.1:" + freePort(t)
	tlsAddr := "127.0.0.1:" + freePort(t)
	s := &tlsSetup{
		faultSetup: &faultSetup{bin: bin, config: filepath.Join(dir, "proxy.yaml"), store: filepath.Join(dir, "waproxy.db"), base: "http://" + listen},
		sim:        sim, simURL: simTS.URL, pki: pki, tlsAddr: tlsAddr, httpsURL: "https://" + tlsAddr,
	}
	s.writeConfig(t, pki.CertFile, pki.KeyFile)
	return s
}

// writeConfig (re)writes the setup's config with the given TLS files.
func (s *tlsSetup) writeConfig(t *testing.T, certFile, keyFile string) {
	t.Helper()
	yml := fmt.Sprintf(`
listen: %q
log_level: info
server:
  shutdown_grace: 5s
tls:
  listen: %q
  cert_file: %q
  key_file: %q
gupshup:
  base_url: %q
webhooks:
  store_path: %q
tenants:
  - name: tls
    tokens: [%q]
    phone_numbers:
      - {id: %q, app_id: %q, app_name: TLSApp, app_token: %q}
`, strings.TrimPrefix(s.base, "http://"), s.tlsAddr, certFile, keyFile, s.simURL, s.store,
		tlsToken, tlsPhoneID, tlsApp, tlsAppToken)
	if err := os.WriteFile(s.config, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsClient is a Go client trusting only the test CA; h2 lets it negotiate
// HTTP/2, otherwise it speaks HTTP/1.1 only.
func tlsClient(p testPKI, h2 bool) *http.Client {
	tc := &tls.Config{RootCAs: p.Pool}
	if !h2 {
		tc.NextProtos = []string{"http/1.1"}
	}
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: h2}}
}

// tlsPostMessages sends tlsTextBody to /v23.0/{tlsPhoneID}/messages at base.
func tlsPostMessages(c *http.Client, base string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/v23.0/"+tlsPhoneID+"/messages", strings.NewReader(tlsTextBody))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tlsToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// tlsAssertSendSuccess checks Meta's answer to a send:
// {"messaging_product":"whatsapp","contacts":[{"input","wa_id"}],"messages":[{"id"}]}.
func tlsAssertSendSuccess(t *testing.T, what string, status int, body []byte) {
	t.Helper()
	j := gjson.ParseBytes(body)
	if status != http.StatusOK || j.Get("messaging_product").Str != "whatsapp" ||
		j.Get("contacts.#").Int() != 1 || j.Get("contacts.0.input").Str != tlsTo || j.Get("contacts.0.wa_id").Str != tlsTo ||
		j.Get("messages.#").Int() != 1 || j.Get("messages.0.id").Str == "" || j.Get("error").Exists() {
		t.Fatalf("%s: HTTP %d %s, want Meta's send success", what, status, body)
	}
}

// tlsNodeFetch runs Node's global fetch POSTing tlsTextBody to url, with
// NODE_EXTRA_CA_CERTS set to caFile ("" leaves it unset), and returns its
// one JSON line: {"status","body"} or {"error","code"}.
func tlsNodeFetch(t *testing.T, url, caFile string) gjson.Result {
	t.Helper()
	node := nodeForSDKs(t)
	const script = `
try {
  const r = await fetch(process.env.URL, {method: "POST", body: process.env.BODY,
    headers: {Authorization: "Bearer " + process.env.TOKEN, "Content-Type": "application/json"}});
  console.log(JSON.stringify({status: r.status, body: await r.text()}));
} catch (e) {
  console.log(JSON.stringify({error: String(e), code: String(e.cause?.code ?? "")}));
}
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--input-type=module", "-e", script)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NODE_EXTRA_CA_CERTS=") && !strings.HasPrefix(kv, "NODE_TLS_REJECT_UNAUTHORIZED=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "URL="+url, "BODY="+tlsTextBody, "TOKEN="+tlsToken)
	if caFile != "" {
		cmd.Env = append(cmd.Env, "NODE_EXTRA_CA_CERTS="+caFile)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\nstderr:\n%s", err, stderr.String())
	}
	line := strings.TrimSpace(stdout.String())
	if !json.Valid([]byte(line)) {
		t.Fatalf("node printed %q\nstderr:\n%s", line, stderr.String())
	}
	return gjson.Parse(line)
}

// TestTLSListenerServesSends runs the binary with tls.listen and sends
// through both listeners: a Go client (HTTP/2 and HTTP/1.1, by IP and by
// "localhost") and Node's fetch, both trusting only the test CA.
func TestTLSListenerServesSends(t *testing.T) {
	s := newTLSSetup(t)
	out, err := s.cli("check")
	if err != nil || !strings.Contains(out, "OK") || !strings.Contains(out, "HTTPS on "+s.tlsAddr) {
		t.Fatalf("proxy check: %v\n%s", err, out)
	}
	p := startFaultProxy(t, s.faultSetup)

	// The start-up line names both addresses.
	var listening gjson.Result
	for _, l := range strings.Split(p.logs.String(), "\n") {
		if j := gjson.Parse(l); j.Get("msg").Str == "listening" {
			listening = j
		}
	}
	if listening.Get("addr").Str != strings.TrimPrefix(s.base, "http://") || listening.Get("tls_addr").Str != s.tlsAddr {
		t.Errorf("listening line %s, want addr %s and tls_addr %s", listening.Raw, s.base, s.tlsAddr)
	}

	sends := 0
	for _, tc := range []struct {
		name string
		c    *http.Client
		base string
		// proto is the protocol the client must end up speaking.
		proto string
	}{
		{"plain listener", faultClient, s.base, "HTTP/1.1"},
		{"https h2", tlsClient(s.pki, true), s.httpsURL, "HTTP/2.0"},
		{"https http/1.1", tlsClient(s.pki, false), s.httpsURL, "HTTP/1.1"},
		{"https localhost", tlsClient(s.pki, true), "https://localhost:" + strings.Split(s.tlsAddr, ":")[1], "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := tlsPostMessages(tc.c, tc.base)
			if err != nil {
				t.Fatal(err)
			}
			sends++
			if resp.Proto != tc.proto {
				t.Errorf("protocol %s, want %s", resp.Proto, tc.proto)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			tlsAssertSendSuccess(t, tc.name, resp.StatusCode, body)
		})
	}

	t.Run("Go client without the CA", func(t *testing.T) {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		if _, _, err := tlsPostMessages(c, s.httpsURL); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v, want an unknown-authority error", err)
		}
	})

	t.Run("node fetch with NODE_EXTRA_CA_CERTS", func(t *testing.T) {
		r := tlsNodeFetch(t, s.httpsURL+"/v23.0/"+tlsPhoneID+"/messages", s.pki.CAFile)
		if r.Get("error").Exists() {
			t.Fatalf("node fetch failed: %s", r.Raw)
		}
		sends++
		tlsAssertSendSuccess(t, "node fetch", int(r.Get("status").Int()), []byte(r.Get("body").Str))
	})
	t.Run("node fetch without the CA", func(t *testing.T) {
		r := tlsNodeFetch(t, s.httpsURL+"/v23.0/"+tlsPhoneID+"/messages", "")
		if !r.Get("error").Exists() {
			t.Fatalf("node fetch trusted the test CA without NODE_EXTRA_CA_CERTS: %s", r.Raw)
		}
	})

	if got := s.sim.Count("/v3/message"); got != sends {
		t.Errorf("simulator received %d v3 sends, want %d", got, sends)
	}
	p.term()
}

// TestTLSListenerDrainsOnSIGTERM: an HTTPS (HTTP/2) request in flight when
// SIGTERM arrives is answered before the process exits cleanly, and the
// HTTPS listener is closed afterwards.
func TestTLSListenerDrainsOnSIGTERM(t *testing.T) {
	s := newTLSSetup(t)
	p := startFaultProxy(t, s.faultSetup)
	s.sim.Inject(gupshupsim.Fault{PathSuffix: "/v3/message", Delay: 1500 * time.Millisecond})

	c := tlsClient(s.pki, true)
	type result struct {
		resp *http.Response
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, body, err := tlsPostMessages(c, s.httpsURL)
		done <- result{resp, body, err}
	}()
	faultWait(t, 10*time.Second, "the send to reach the simulator", func() bool { return s.sim.Count("/v3/message") == 1 })
	p.term()
	r := <-done
	if r.err != nil {
		t.Fatalf("in-flight HTTPS request: %v", r.err)
	}
	if r.resp.Proto != "HTTP/2.0" {
		t.Errorf("protocol %s, want HTTP/2.0", r.resp.Proto)
	}
	tlsAssertSendSuccess(t, "in-flight request", r.resp.StatusCode, r.body)
	if _, _, err := tlsPostMessages(tlsClient(s.pki, false), s.httpsURL); err == nil {
		t.Error("the HTTPS listener still answers after the proxy stopped")
	}
}

// TestTLSListenerCheckRejectsBadKeyPair: "proxy check" (and serve) refuse a
// key that is not the certificate's, and a missing file, naming the keys.
func TestTLSListenerCheckRejectsBadKeyPair(t *testing.T) {
	s := newTLSSetup(t)
	other := newTestPKI(t)
	s.writeConfig(t, s.pki.CertFile, other.KeyFile)
	out, err := s.cli("check")
	if err == nil || !strings.Contains(out, "tls.cert_file, tls.key_file") || !strings.Contains(out, "not a valid key pair") {
		t.Errorf("check of a mismatched pair: %v\n%s", err, out)
	}
	// serve refuses it too (bounded, in case it started serving instead).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, s.bin, "serve", "-config", s.config).CombinedOutput()
	if out = string(b); err == nil || ctx.Err() != nil || !strings.Contains(out, "not a valid key pair") {
		t.Errorf("serve with a mismatched pair: %v\n%s", err, out)
	}
	missing := filepath.Join(s.pki.Dir, "missing-key.pem")
	s.writeConfig(t, s.pki.CertFile, missing)
	out, err = s.cli("check")
	if err == nil || !strings.Contains(out, "tls.key_file") || !strings.Contains(out, missing) {
		t.Errorf("check with a missing key file: %v\n%s", err, out)
	}
}
