package integration

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
)

func TestSendTextSuccess(t *testing.T) {
	w := newWorld(t, worldOptions{})
	a := w.send(t, tokenA, phoneA, textBody)
	if a.status != 200 {
		t.Fatalf("HTTP %d: %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if a.header.Get("x-fb-trace-id") == "" || a.header.Get("x-fb-request-id") == "" {
		t.Errorf("missing Graph trace headers: %v", a.header)
	}
	sent := w.sends()
	if len(sent) != 1 {
		t.Fatalf("simulator got %d sends", len(sent))
	}
	r := sent[0]
	if r.Path != "/partner/app/"+appA+"/v3/message" || r.Header.Get("Authorization") != appTokA ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("upstream call: %s auth=%q ct=%q", r.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"))
	}
	want := url.Values{
		"messaging_product": {"whatsapp"}, "recipient_type": {"individual"}, "to": {"+1 (631) 555-1234"},
		"type": {"text"}, "text": {`{"preview_url":false,"body":"héllo 😀"}`},
	}
	if r.Form.Encode() != want.Encode() {
		t.Errorf("form\n got %v\nwant %v", r.Form, want)
	}
	// Meta's success shape, with the simulator's message id.
	if a.json("messaging_product").Str != "whatsapp" || a.json("contacts.0.input").Str != "+1 (631) 555-1234" ||
		a.json("contacts.0.wa_id").Str != "16315551234" || a.json("messages.0.id").Str == "" {
		t.Errorf("answer %s", a.body)
	}
	if !strings.HasPrefix(string(a.body), `{"messaging_product":"whatsapp","contacts":[`) {
		t.Errorf("member order differs from Meta's: %s", a.body)
	}
}

func TestPathsAndMethods(t *testing.T) {
	w := newWorld(t, worldOptions{})
	cases := []struct {
		name, method, path string
		status             int
	}{
		{"versioned POST", "POST", "/v23.0/" + phoneA + "/messages", 200},
		{"version without minor", "POST", "/v24/" + phoneA + "/messages", 200},
		{"PUT as in Meta's Postman", "PUT", "/v17.0/" + phoneA + "/messages", 200},
		{"unversioned", "POST", "/" + phoneA + "/messages", 200},
		{"unknown query parameters ignored", "POST", "/v23.0/" + phoneA + "/messages?appsecret_proof=abc&debug=all", 200},
		{"bad version segment", "POST", "/x23/" + phoneA + "/messages", 400},
		{"GET is not a send", "GET", "/v23.0/" + phoneA + "/messages", 400},
		{"unknown path", "POST", "/v23.0/" + phoneA + "/nothing", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := w.call(t, c.method, c.path, "application/json", tokenA, []byte(textBody))
			if a.status != c.status {
				t.Fatalf("HTTP %d: %s", a.status, a.body)
			}
			if c.status != 200 && a.json("error.code").Int() == 0 {
				t.Errorf("not a Meta error: %s", a.body)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	w := newWorld(t, worldOptions{})
	path := "/v23.0/" + phoneA + "/messages"
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		code   int64
	}{
		{"no token", func() *http.Request {
			r, _ := http.NewRequest("POST", w.proxy.URL+path, strings.NewReader(textBody))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 401, 190},
		{"unknown bearer", func() *http.Request {
			r, _ := http.NewRequest("POST", w.proxy.URL+path, strings.NewReader(textBody))
			r.Header.Set("Authorization", "Bearer EAAG-nobody")
			return r
		}, 401, 190},
		{"bearer scheme any case", func() *http.Request {
			r, _ := http.NewRequest("POST", w.proxy.URL+path, strings.NewReader(textBody))
			r.Header.Set("Authorization", "bearer "+tokenA)
			return r
		}, 200, 0},
		{"access_token query parameter", func() *http.Request {
			r, _ := http.NewRequest("POST", w.proxy.URL+path+"?access_token="+url.QueryEscape(tokenA), strings.NewReader(textBody))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 200, 0},
		{"access_token form field", func() *http.Request {
			f := url.Values{"access_token": {tokenA}, "messaging_product": {"whatsapp"}, "to": {"15551234567"},
				"type": {"text"}, "text": {`{"body":"hi"}`}}
			r, _ := http.NewRequest("POST", w.proxy.URL+path, strings.NewReader(f.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 200, 0},
		{"tenant b token given as sha256 in config", func() *http.Request {
			r, _ := http.NewRequest("POST", w.proxy.URL+"/v23.0/"+phoneB+"/messages", strings.NewReader(textBody))
			r.Header.Set("Authorization", "Bearer "+tokenB)
			return r
		}, 200, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(c.req())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("HTTP %d: %s", resp.StatusCode, buf.Bytes())
			}
			if c.code != 0 {
				r := gjson.GetBytes(buf.Bytes(), "error")
				if r.Get("code").Int() != c.code || r.Get("type").Str != "OAuthException" {
					t.Errorf("body %s", buf.Bytes())
				}
			}
		})
	}
	if n := len(w.sends()); n != 4 {
		t.Errorf("simulator got %d sends, want 4 (only the authenticated ones)", n)
	}
}

func TestForeignPhoneNumber(t *testing.T) {
	w := newWorld(t, worldOptions{})
	for _, phone := range []string{phoneB, "999999999999999"} {
		a := w.send(t, tokenA, phone, textBody)
		assertMetaError(t, a, 400, 100)
		if a.json("error.error_subcode").Int() != 33 ||
			!strings.HasPrefix(a.json("error.message").Str, "Unsupported post request. Object with ID '"+phone+"' does not exist, cannot be loaded due to missing permissions, or does not support this operation") {
			t.Errorf("body %s", a.body)
		}
	}
	if n := len(w.sends()); n != 0 {
		t.Errorf("simulator got %d sends", n)
	}
}

func TestContentTypes(t *testing.T) {
	w := newWorld(t, worldOptions{})
	path := "/v23.0/" + phoneA + "/messages"
	fields := [][2]string{{"messaging_product", "whatsapp"}, {"to", "15551234567"}, {"type", "text"}, {"text", `{"body":"héllo"}`}}
	var form url.Values = map[string][]string{}
	var ordered []string
	for _, f := range fields {
		form.Set(f[0], f[1])
		ordered = append(ordered, url.QueryEscape(f[0])+"="+url.QueryEscape(f[1]))
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	_ = mw.Close()
	jsonBody := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"héllo"}}`
	wantForm := strings.Join(ordered, "&")

	cases := []struct {
		name, ct string
		body     []byte
		status   int
		code     int64
	}{
		{"json", "application/json", []byte(jsonBody), 200, 0},
		{"json with charset", "application/json; charset=utf-8", []byte(jsonBody), 200, 0},
		{"no content type, JSON body", "", []byte(jsonBody), 200, 0},
		{"urlencoded", "application/x-www-form-urlencoded", []byte(strings.Join(ordered, "&")), 200, 0},
		{"multipart", mw.FormDataContentType(), mp.Bytes(), 200, 0},
		{"xml", "application/xml", []byte(`<m/>`), 400, 100},
		{"text/plain not JSON", "text/plain", []byte(`hello`), 400, 100},
		{"multipart without boundary", "multipart/form-data", mp.Bytes(), 400, 100},
		{"malformed JSON", "application/json", []byte(`{"messaging_product":"whatsapp",`), 400, 100},
		{"JSON array", "application/json", []byte(`[1,2]`), 400, 100},
		{"empty body", "application/json", nil, 400, 100},
		{"missing messaging_product", "application/json", []byte(`{"to":"1","type":"text","text":{"body":"x"}}`), 400, 100},
		{"missing type object", "application/json", []byte(`{"messaging_product":"whatsapp","to":"1","type":"image"}`), 400, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.sim.Reset()
			a := w.call(t, "POST", path, c.ct, tokenA, c.body)
			if c.status != 200 {
				assertMetaError(t, a, c.status, c.code)
				if n := len(w.sends()); n != 0 {
					t.Errorf("rejected body reached the simulator %d times", n)
				}
				return
			}
			if a.status != 200 {
				t.Fatalf("HTTP %d: %s", a.status, a.body)
			}
			got := w.sends()
			if len(got) != 1 || string(got[0].Body) != wantForm {
				t.Errorf("upstream form differs:\n got %q\nwant %q", got[0].Body, wantForm)
			}
		})
	}
}

func TestOversizedBody(t *testing.T) {
	w := newWorld(t, worldOptions{maxBody: 4096})
	big := `{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"` + strings.Repeat("x", 5000) + `"}}`
	a := w.send(t, tokenA, phoneA, big)
	assertMetaError(t, a, 413, 100)
	if n := len(w.sends()); n != 0 {
		t.Errorf("oversized body reached the simulator")
	}
	if a := w.send(t, tokenA, phoneA, textBody); a.status != 200 {
		t.Errorf("a normal body after an oversized one: HTTP %d", a.status)
	}
}

// TestErrorMapping drives every row of the error table through the real
// stack: Gupshup answers with the row's error and the client sees Meta's.
func TestErrorMapping(t *testing.T) {
	w := newWorld(t, worldOptions{})
	cases := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		httpOut    int
		code       int64
	}{
		{"invalid destination", 400, `{"status":"error","message":"Invalid Destination"}`, "", 400, 100},
		{"1002 not on WhatsApp", 400, `{"status":"error","message":"Number does not exist","code":1002}`, "", 400, 131026},
		{"1003 wallet low", 400, `{"status":"error","message":"Wallet Balance Low","code":1003}`, "", 400, 131042},
		{"1005 template mismatch", 400, `{"status":"error","message":"Template mismatch","code":1005}`, "", 404, 132001},
		{"4003 no template match", 400, `{"status":"error","message":"No template match","code":4003}`, "", 404, 132001},
		{"4005 paused template", 400, `{"status":"error","message":"Template paused","code":4005}`, "", 400, 132015},
		{"1010 invalid media url", 400, `{"status":"error","message":"Invalid media URL","code":1010}`, "", 400, 131053},
		{"1012 opted out", 400, `{"status":"error","message":"Number opted out","code":1012}`, "", 400, 131050},
		{"429 too many requests", 429, `{"status":"error","message":"Too Many Requests"}`, "3", 400, 130429},
		{"4001 rate limited", 400, `{"status":"error","message":"API rate limited","code":4001}`, "", 400, 130429},
		{"invalid app details", 400, `{"message":"Invalid App Details","status":"error"}`, "", 500, 1},
		{"callback billing", 400, `{"message":"Callback Billing must be enabled for this API","status":"error"}`, "", 403, 10},
		{"only CAPI apps", 400, `{"status":"error","message":"Only CAPI apps allowed to generate media ID"}`, "", 403, 10},
		{"413 file size", 413, `{"status":"error","message":"File size exceeds the maximum limit!"}`, "", 400, 131053},
		{"outbound event not supported", 400, `{"status":"error","message":"Outbound event not supported"}`, "", 400, 100},
		{"flow never published", 400, `{"status":"error","message":"Flow was never published, it cannot be deprecated"}`, "", 400, 100},
		{"4002 invalid response from WhatsApp", 400, `{"status":"error","message":"Invalid response","code":4002}`, "", 500, 131000},
		{"500", 500, `{"status":"error","message":"Internal Server Error"}`, "", 500, 131000},
		{"502 html", 502, `<html>bad gateway</html>`, "", 500, 131000},
		{"Meta error passes through", 400, `{"error":{"message":"(#132000) Number of parameters does not match","type":"OAuthException","code":132000,"fbtrace_id":"GS"}}`, "", 400, 132000},
		{"unmapped", 400, `{"status":"error","message":"brand new failure"}`, "", 500, 131000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.sim.Reset()
			f := gupshupsim.Fault{PathSuffix: "/v3/message", Status: c.status, Body: c.body}
			if c.retryAfter != "" {
				f.Header = map[string]string{"Retry-After": c.retryAfter}
			}
			w.sim.Inject(f)
			a := w.send(t, tokenA, phoneA, textBody)
			assertMetaError(t, a, c.httpOut, c.code)
			if c.code == 130429 && a.header.Get("Retry-After") == "" {
				t.Error("rate limit answer without Retry-After")
			}
			if c.retryAfter != "" && a.header.Get("Retry-After") != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", a.header.Get("Retry-After"), c.retryAfter)
			}
			if n := len(w.sends()); n != 1 {
				t.Errorf("upstream called %d times, want exactly 1 (no retry)", n)
			}
		})
	}
	// The simulator's magic destinations produce real (not injected) errors.
	for suffix, code := range map[string]int64{gupshupsim.SuffixNotOnWhatsApp: 131026, gupshupsim.SuffixWalletLow: 131042,
		gupshupsim.SuffixInvalidDestination: 100, gupshupsim.SuffixRateLimited: 130429} {
		body := strings.Replace(textBody, "+1 (631) 555-1234", "91"+suffix, 1)
		a := w.send(t, tokenA, phoneA, body)
		if a.json("error.code").Int() != code {
			t.Errorf("destination ending %s: %s", suffix, a.body)
		}
	}
}

func TestUpstreamTimeoutIsNotRetried(t *testing.T) {
	w := newWorld(t, worldOptions{timeout: 300 * time.Millisecond})
	// Gupshup would answer after a minute (the simulator stops waiting
	// when the proxy hangs up).
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/v3/message", Delay: time.Minute})
	start := time.Now()
	a := w.send(t, tokenA, phoneA, textBody)
	assertMetaError(t, a, 503, 131000)
	if !strings.Contains(a.json("error.error_data.details").Str, "may have been sent") {
		t.Errorf("details must say the message may have been sent: %s", a.body)
	}
	// Far below the upstream's minute, however loaded the machine.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("answer took %v, timeout is 300ms", d)
	}
	if n := len(w.sends()); n != 1 {
		t.Errorf("upstream called %d times, want 1", n)
	}
}

func TestUpstreamConnectionReset(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/v3/message", Reset: true})
	a := w.send(t, tokenA, phoneA, textBody)
	assertMetaError(t, a, 503, 131000)
	if n := len(w.sends()); n != 1 {
		t.Errorf("upstream called %d times, want 1 (a reset request may have been sent)", n)
	}
	if a := w.send(t, tokenA, phoneA, textBody); a.status != 200 {
		t.Errorf("next send after a reset: HTTP %d %s", a.status, a.body)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	w := newWorld(t, worldOptions{upstreamURL: dead})
	a := w.send(t, tokenA, phoneA, textBody)
	assertMetaError(t, a, 503, 2)
	if !strings.Contains(a.json("error.error_data.details").Str, "nothing was sent") {
		t.Errorf("details: %s", a.body)
	}
}

func TestAppTokenRefreshOn401(t *testing.T) {
	w := newWorld(t, worldOptions{})
	// Tenant b's app token comes from partner login.
	if a := w.send(t, tokenB, phoneB, textBody); a.status != 200 {
		t.Fatalf("first send: HTTP %d %s", a.status, a.body)
	}
	if w.sim.Count("/partner/account/login") != 1 || w.sim.Count("/token") != 1 {
		t.Fatalf("logins=%d token fetches=%d, want 1 and 1", w.sim.Count("/partner/account/login"), w.sim.Count("/token"))
	}
	if a := w.send(t, tokenB, phoneB, textBody); a.status != 200 || w.sim.Count("/token") != 1 {
		t.Fatalf("second send must use the cached token: HTTP %d, token fetches %d", a.status, w.sim.Count("/token"))
	}

	// Gupshup rotates the token: the next send is rejected with 401, the
	// proxy fetches the new token once and retries that one call once.
	newTok := w.sim.RotateAppToken(appB)
	w.sim.Reset()
	a := w.send(t, tokenB, phoneB, textBody)
	if a.status != 200 {
		t.Fatalf("after rotation: HTTP %d %s", a.status, a.body)
	}
	sent := w.sends()
	if len(sent) != 2 {
		t.Fatalf("v3 calls %d, want 2 (rejected + one retry)", len(sent))
	}
	if sent[1].Header.Get("Authorization") != newTok || sent[0].Header.Get("Authorization") == newTok {
		t.Errorf("retry did not use the refreshed token")
	}

	// A 401 that persists after the refresh: exactly one retry, then the
	// operator error.
	w.sim.Reset()
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/v3/message", Times: 5, Status: 401, Body: `{"status":"error","message":"Authentication Failed"}`})
	a = w.send(t, tokenB, phoneB, textBody)
	assertMetaError(t, a, 500, 1)
	if n := len(w.sends()); n != 2 {
		t.Errorf("v3 calls %d, want 2", n)
	}

	// Static tokens cannot be refreshed: a 401 is answered without retry.
	w.sim.Reset()
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/v3/message", Status: 401, Body: `{"status":"error","message":"Authentication Failed"}`})
	a = w.send(t, tokenA, phoneA, textBody)
	assertMetaError(t, a, 500, 1)
	if n := len(w.sends()); n != 1 {
		t.Errorf("static token: v3 calls %d, want 1", n)
	}

	// A 5xx is never retried.
	w.sim.Reset()
	w.sim.Inject(gupshupsim.Fault{PathSuffix: "/v3/message", Status: 503, Body: `{"status":"error","message":"busy"}`})
	a = w.send(t, tokenB, phoneB, textBody)
	assertMetaError(t, a, 500, 131000)
	if n := len(w.sends()); n != 1 {
		t.Errorf("5xx: v3 calls %d, want 1", n)
	}
}

func TestConcurrentTenants(t *testing.T) {
	w := newWorld(t, worldOptions{})
	const n = 60
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for i := 0; i < n; i++ {
		for _, who := range []struct{ token, phone, tag string }{{tokenA, phoneA, "A"}, {tokenB, phoneB, "B"}} {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				body := fmt.Sprintf(`{"messaging_product":"whatsapp","to":"1555000%04d","type":"text","text":{"body":"%s-%d"}}`, i, who.tag, i)
				a := w.send(t, who.token, who.phone, body)
				if a.status != 200 || a.json("contacts.0.input").Str != fmt.Sprintf("1555000%04d", i) {
					errs <- fmt.Sprintf("%s %d: HTTP %d %s", who.tag, i, a.status, a.body)
				}
			}(i)
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	sent := w.sends()
	if len(sent) != 2*n {
		t.Fatalf("simulator got %d sends, want %d", len(sent), 2*n)
	}
	ids := map[string]bool{}
	tokB := w.sim.AppToken(appB)
	for _, r := range sent {
		body := gjson.Get(r.Form.Get("text"), "body").Str
		switch {
		case strings.HasPrefix(body, "A-"):
			if !strings.Contains(r.Path, appA) || r.Header.Get("Authorization") != appTokA {
				t.Errorf("tenant a message went to %s with the wrong token", r.Path)
			}
		case strings.HasPrefix(body, "B-"):
			if !strings.Contains(r.Path, appB) || r.Header.Get("Authorization") != tokB {
				t.Errorf("tenant b message went to %s with the wrong token", r.Path)
			}
		default:
			t.Errorf("unexpected body %q", body)
		}
		ids[body] = true
	}
	if len(ids) != 2*n {
		t.Errorf("%d distinct messages reached Gupshup, want %d", len(ids), 2*n)
	}
	if c := w.sim.Count("/partner/account/login"); c != 1 {
		t.Errorf("%d partner logins under concurrency, want 1", c)
	}
}
