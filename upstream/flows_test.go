package upstream_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"waproxy/internal/heapwatch"

	"github.com/tidwall/gjson"

	"waproxy/gupshupsim"
	"waproxy/upstream"
)

// flowCall is one buffered flow method with fixed arguments and the request
// it must send.
type flowCall struct {
	name         string
	do           func(ctx context.Context, c *upstream.Client) (*upstream.Response, error)
	method, uri  string
	ctype, body  string
	hasBody      bool
	flowIDMethod bool // takes a flow id
}

const (
	flowApp   = "app 1/x"
	flowAppE  = "app%201%2Fx"
	flowTok   = "sk_flow_tok"
	flowID    = "1234/56 78"
	flowIDE   = "1234%2F56%2078"
	flowsBase = "/partner/app/" + flowAppE + "/flows"
)

func flowCalls(id string) []flowCall {
	return []flowCall{
		{name: "CreateFlow", do: func(ctx context.Context, c *upstream.Client) (*upstream.Response, error) {
			return c.CreateFlow(ctx, flowApp, flowTok, []byte(`{"name":"é","categories":["OTHER"]}`))
		}, method: "POST", uri: flowsBase, ctype: "application/json", body: `{"name":"é","categories":["OTHER"]}`, hasBody: true},
		{name: "ListFlows", do: func(ctx context.Context, c *upstream.Client) (*upstream.Response, error) {
			return c.ListFlows(ctx, flowApp, flowTok)
		}, method: "GET", uri: flowsBase},
		{name: "GetFlow", do: func(ctx context.Context, c *upstream.Client) (*upstream.Response, error) {
			return c.GetFlow(ctx, flowApp, flowTok, id)
		}, method: "GET", uri: flowsBase + "/" + flowIDE, flowIDMethod: true},
		{name: "UpdateFlow", do: func(ctx context.Context, c *upstream.Client) (*upstream.Response, error) {
			return c.UpdateFlow(ctx, flowApp, flowTok, id, []byte(` {"name":"n"} `))
		}, method: "PUT", uri: flowsBase + "/" + flowIDE, ctype: "application/json", body: ` {"name":"n"} `, hasBody: true, flowIDMethod: true},
		{name: "FlowAssets", do: func(ctx context.Context, c *upstream.Client) (*upstream.Response, error) {
			return c.FlowAssets(ctx, flowApp, flowTok, id)
		}, method: "GET", uri: flowsBase + "/" + flowIDE + "/assets", flowIDMethod: true},
		{name: "FlowPreview", do: func(ctx context.Context, c *upstream.Client) (*upstream.Response, error) {
			return c.FlowPreview(ctx, flowApp, flowTok, id, false)
		}, method: "GET", uri: flowsBase + "/" + flowIDE + "/preview", flowIDMethod: true},
		{name: "DeleteFlow", do: func(ctx context.Context, c *upstream.Client) (*upstream.Response, error) {
			return c.DeleteFlow(ctx, flowApp, flowTok, id)
		}, method: "DELETE", uri: flowsBase + "/" + flowIDE, flowIDMethod: true},
		{name: "DeprecateFlow", do: func(ctx context.Context, c *upstream.Client) (*upstream.Response, error) {
			return c.DeprecateFlow(ctx, flowApp, flowTok, id)
		}, method: "POST", uri: flowsBase + "/" + flowIDE + "/deprecate", ctype: "application/json", body: "{}", hasBody: true, flowIDMethod: true},
		{name: "PublishFlow", do: func(ctx context.Context, c *upstream.Client) (*upstream.Response, error) {
			return c.PublishFlow(ctx, flowApp, flowTok, id)
		}, method: "POST", uri: flowsBase + "/" + flowIDE + "/publish", ctype: "application/json", body: "{}", hasBody: true, flowIDMethod: true},
	}
}

func TestFlowRequests(t *testing.T) {
	t.Parallel()
	for _, fc := range flowCalls(flowID) {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			const answerBody = `{"status":"success","success":true}`
			srv := startServer(t, answer(200, answerBody, "Retry-After", "7"))
			resp, err := fc.do(context.Background(), newClient(srv.URL, nil))
			if err != nil {
				t.Fatalf("%s: %v", fc.name, err)
			}
			if resp.Status != 200 || string(resp.Body) != answerBody || resp.RetryAfter != "7" {
				t.Errorf("response %+v", resp)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests", len(reqs))
			}
			r := reqs[0]
			if r.method != fc.method || r.uri != fc.uri {
				t.Errorf("request %s %s, want %s %s", r.method, r.uri, fc.method, fc.uri)
			}
			if r.auth != flowTok || r.accept != "application/json" || r.ctype != fc.ctype {
				t.Errorf("headers auth %q accept %q content-type %q, want content-type %q", r.auth, r.accept, r.ctype, fc.ctype)
			}
			if string(r.body) != fc.body {
				t.Errorf("body %q, want %q", r.body, fc.body)
			}
			if fc.hasBody && (r.contentLength != int64(len(fc.body)) || r.transferEncoded) {
				t.Errorf("Content-Length %d chunked %v", r.contentLength, r.transferEncoded)
			}
			if !fc.hasBody && r.contentLength > 0 {
				t.Errorf("Content-Length %d on a call without body", r.contentLength)
			}
		})
	}
}

func TestFlowAnswersAreResponses(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 429, 503} {
		for _, fc := range flowCalls("1") {
			t.Run(fmt.Sprint(fc.name, " ", status), func(t *testing.T) {
				t.Parallel()
				body := `{"status":"error","message":"Invalid flow id"}`
				srv := startServer(t, answer(status, body))
				c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
				resp, err := fc.do(context.Background(), c)
				if err != nil || resp.Status != status || string(resp.Body) != body {
					t.Errorf("%s = %+v, %v", fc.name, resp, err)
				}
				if n := srv.hits(); n != 1 {
					t.Errorf("server saw %d requests, want 1 (answers are not retried)", n)
				}
			})
		}
	}
}

func TestFlowArgumentsCheckedBeforeSending(t *testing.T) {
	t.Parallel()
	srv := startServer(t, answer(200, `{}`))
	c := newClient(srv.URL, nil)
	ctx := context.Background()
	for _, bad := range []string{"", "  ", "[]", `"x"`, "{", `{"a":1}x`, "null"} {
		if _, err := c.CreateFlow(ctx, "app", "sk", []byte(bad)); err == nil || !strings.Contains(err.Error(), "CreateFlow: body is not a JSON object") {
			t.Errorf("CreateFlow(%q) err = %v", bad, err)
		}
		if _, err := c.UpdateFlow(ctx, "app", "sk", "1", []byte(bad)); err == nil || !strings.Contains(err.Error(), "UpdateFlow: body is not a JSON object") {
			t.Errorf("UpdateFlow(%q) err = %v", bad, err)
		}
	}
	for _, id := range []string{"", ".", ".."} {
		for _, fc := range flowCalls(id) {
			if !fc.flowIDMethod {
				continue
			}
			if _, err := fc.do(ctx, c); !errors.Is(err, upstream.ErrBadFlowID) || !strings.Contains(err.Error(), fc.name) {
				t.Errorf("%s(%q) err = %v, want ErrBadFlowID", fc.name, id, err)
			}
		}
		op := &opener{data: []byte("{}")}
		if _, err := c.UpdateFlowJSON(ctx, "app", "sk", id, upstream.MediaFile{Size: 2, Open: op.open}); !errors.Is(err, upstream.ErrBadFlowID) {
			t.Errorf("UpdateFlowJSON(%q) err = %v, want ErrBadFlowID", id, err)
		}
		if op.n.Load() != 0 {
			t.Error("UpdateFlowJSON opened the file for a bad flow id")
		}
	}
	if n := srv.hits(); n != 0 {
		t.Errorf("server saw %d requests, want none", n)
	}
}

func TestFlowTransportFailures(t *testing.T) {
	t.Parallel()
	for _, fc := range flowCalls("1") {
		t.Run(fc.name+" refused", func(t *testing.T) {
			t.Parallel()
			dc := &dialCounter{}
			c := newClient(closedURL(t), func(c *upstream.Config) { c.DialAttempts = 2; c.Transport = dc.transport() })
			_, err := fc.do(context.Background(), c)
			if !errors.Is(err, upstream.ErrNotSent) || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("err = %v, want ErrNotSent wrapping ECONNREFUSED", err)
			}
			if dc.n.Load() != 2 {
				t.Errorf("dials %d, want 2", dc.n.Load())
			}
		})
		t.Run(fc.name+" hang-up", func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, hangUp)
			c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
			_, err := fc.do(context.Background(), c)
			if !errors.Is(err, upstream.ErrNoAnswer) || errors.Is(err, upstream.ErrNotSent) {
				t.Errorf("err = %v, want ErrNoAnswer only", err)
			}
			if n := srv.hits(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
		t.Run(fc.name+" timeout", func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, stall)
			c := newClient(srv.URL, func(c *upstream.Config) { c.Timeout = 100 * time.Millisecond })
			_, err := fc.do(context.Background(), c)
			if !errors.Is(err, upstream.ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want ErrNoAnswer wrapping DeadlineExceeded", err)
			}
		})
	}
}

const flowJSONOK = `{"status":"success","success":true,"validation_errors":[]}`

func TestUpdateFlowJSONExactBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		file           upstream.MediaFile
		content        string
		wantDisp, want string // part Content-Disposition and Content-Type
	}{
		{"defaults", upstream.MediaFile{}, `{"version":"7.0","screens":[]}`,
			`form-data; name="file"; filename="flow.json"`, "application/json"},
		{"given name and type", upstream.MediaFile{Name: "my flow.json", MimeType: "Application/JSON; charset=utf-8"},
			"{}", `form-data; name="file"; filename="my flow.json"`, "application/json; charset=utf-8"},
		{"empty file", upstream.MediaFile{}, "", `form-data; name="file"; filename="flow.json"`, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, answer(200, flowJSONOK))
			c := newClient(srv.URL, nil)
			file := tt.file
			file.Size = int64(len(tt.content))
			file.Open = (&opener{data: []byte(tt.content)}).open
			resp, err := c.UpdateFlowJSON(context.Background(), flowApp, flowTok, flowID, file)
			if err != nil || resp.Status != 200 || string(resp.Body) != flowJSONOK {
				t.Fatalf("UpdateFlowJSON = %+v, %v", resp, err)
			}
			r := srv.requests()[0]
			if r.method != "PUT" || r.uri != flowsBase+"/"+flowIDE+"/assets" || r.auth != flowTok || r.accept != "application/json" {
				t.Errorf("request %s %s auth %q accept %q", r.method, r.uri, r.auth, r.accept)
			}
			mt, params, err := mime.ParseMediaType(r.ctype)
			if err != nil || mt != "multipart/form-data" {
				t.Fatalf("Content-Type %q", r.ctype)
			}
			b := params["boundary"]
			want := "--" + b + "\r\n" +
				"Content-Disposition: " + tt.wantDisp + "\r\n" +
				"Content-Type: " + tt.want + "\r\n\r\n" +
				tt.content + "\r\n" +
				"--" + b + "--\r\n"
			if string(r.body) != want {
				t.Errorf("body\n%q\nwant\n%q", r.body, want)
			}
			if r.contentLength != int64(len(want)) || r.transferEncoded {
				t.Errorf("Content-Length %d (chunked %v), want %d", r.contentLength, r.transferEncoded, len(want))
			}
		})
	}
}

func TestUpdateFlowJSONUnknownSizeIsChunked(t *testing.T) {
	t.Parallel()
	srv := startUploadServer(t, answer(200, flowJSONOK))
	c := newClient(srv.URL, nil)
	content := []byte(`{"version":"7.0","screens":[]}`)
	resp, err := c.UpdateFlowJSON(context.Background(), "app", "sk", "1",
		upstream.MediaFile{Size: -1, Open: (&opener{data: content}).open})
	if err != nil || resp.Status != 200 {
		t.Fatalf("UpdateFlowJSON = %+v, %v", resp, err)
	}
	u := srv.uploads()[0]
	sum := sha256.Sum256(content)
	if u.err != nil || !u.chunked || u.contentLength != -1 || len(u.parts) != 1 ||
		u.parts[0].sha256 != hex.EncodeToString(sum[:]) || u.method != "PUT" || u.uri != "/partner/app/app/flows/1/assets" {
		t.Errorf("server saw %+v", u)
	}
}

func TestUpdateFlowJSONFileErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	tests := []struct {
		name string
		file upstream.MediaFile
		sent bool
	}{
		{"nil open", upstream.MediaFile{Size: 3}, false},
		{"open fails", upstream.MediaFile{Size: 3, Open: func() (io.ReadCloser, error) { return nil, boom }}, false},
		{"bad mime type", upstream.MediaFile{MimeType: "application/json\r\nX: y", Size: 2, Open: (&opener{data: []byte("{}")}).open}, false},
		{"shorter than size", upstream.MediaFile{Size: 100 << 10, Open: (&opener{data: []byte("{}")}).open}, true},
		{"longer than size", upstream.MediaFile{Size: 1, Open: (&opener{data: []byte("{}")}).open}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startUploadServer(t, answer(200, flowJSONOK))
			c := newClient(srv.URL, nil)
			resp, err := c.UpdateFlowJSON(context.Background(), "app", "sk", "1", tt.file)
			if !errors.Is(err, upstream.ErrMediaFile) || errors.Is(err, upstream.ErrNotSent) || errors.Is(err, upstream.ErrNoAnswer) {
				t.Fatalf("UpdateFlowJSON = %+v, %v; want ErrMediaFile only", resp, err)
			}
			if !tt.sent && tt.name != "open fails" && !strings.Contains(err.Error(), "UpdateFlowJSON") {
				t.Errorf("err %v does not name the method", err)
			}
			if !tt.sent && srv.hits.Load() != 0 {
				t.Errorf("server saw %d requests, want none", srv.hits.Load())
			}
			for _, u := range srv.uploads() {
				if u.err == nil {
					t.Errorf("server read a complete upload: %+v", u)
				}
			}
		})
	}
}

func TestUpdateFlowJSONRetriesDialsOnly(t *testing.T) {
	t.Parallel()
	t.Run("dial failure reopens", func(t *testing.T) {
		t.Parallel()
		srv := startUploadServer(t, answer(200, flowJSONOK))
		dc := &dialCounter{fail: func(n int32) error {
			if n == 1 {
				return &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
			}
			return nil
		}}
		c := newClient(srv.URL, func(c *upstream.Config) { c.Transport = dc.transport() })
		op := &opener{size: 1 << 20}
		resp, err := c.UpdateFlowJSON(context.Background(), "app", "sk", "1", upstream.MediaFile{Size: 1 << 20, Open: op.open})
		if err != nil || resp.Status != 200 {
			t.Fatalf("UpdateFlowJSON = %+v, %v", resp, err)
		}
		if op.n.Load() != 2 || dc.n.Load() != 2 {
			t.Errorf("opens %d dials %d, want 2 each", op.n.Load(), dc.n.Load())
		}
		if ups := srv.uploads(); len(ups) != 1 || ups[0].parts[0].sha256 != genSHA256(1<<20) {
			t.Errorf("server saw %+v", ups)
		}
	})
	t.Run("hang-up is not retried", func(t *testing.T) {
		t.Parallel()
		srv := startUploadServer(t, hangUp)
		c := newClient(srv.URL, func(c *upstream.Config) { c.DialAttempts = 3 })
		op := &opener{size: 1000}
		_, err := c.UpdateFlowJSON(context.Background(), "app", "sk", "1", upstream.MediaFile{Size: 1000, Open: op.open})
		if !errors.Is(err, upstream.ErrNoAnswer) || errors.Is(err, upstream.ErrNotSent) {
			t.Fatalf("err = %v, want ErrNoAnswer", err)
		}
		if srv.hits.Load() != 1 || op.n.Load() != 1 {
			t.Errorf("hits %d opens %d, want 1 each", srv.hits.Load(), op.n.Load())
		}
	})
	t.Run("timeout bounds only the answer", func(t *testing.T) {
		t.Parallel()
		// The file trickles in over longer than Timeout; the answer is prompt.
		srv := startUploadServer(t, answer(200, flowJSONOK))
		c := newClient(srv.URL, func(c *upstream.Config) { c.Timeout = 300 * time.Millisecond })
		// 10 reads of ~32 KB, 80ms apart: about 800ms of body.
		op := &opener{size: 10 * 32 << 10, delay: 80 * time.Millisecond}
		start := time.Now()
		resp, err := c.UpdateFlowJSON(context.Background(), "app", "sk", "1", upstream.MediaFile{Size: 10 * 32 << 10, Open: op.open})
		if err != nil || resp.Status != 200 {
			t.Fatalf("UpdateFlowJSON = %+v, %v (after %v)", resp, err, time.Since(start))
		}
		if time.Since(start) < 600*time.Millisecond {
			t.Errorf("upload took %v; the test needs it slower than Timeout", time.Since(start))
		}
	})
}

// TestUpdateFlowJSONStreams uploads 40 MB and checks the heap does not grow
// by the file's size. Not parallel: it measures the heap.
func TestUpdateFlowJSONStreams(t *testing.T) {
	const size = 40 << 20
	srv := startUploadServer(t, answer(200, flowJSONOK))
	c := newClient(srv.URL, nil)
	hw := heapwatch.Start()
	resp, err := c.UpdateFlowJSON(context.Background(), "app", "sk", "1",
		upstream.MediaFile{Size: size, Open: (&opener{size: size}).open})
	growth := hw.Growth()
	if err != nil || resp.Status != 200 {
		t.Fatalf("UpdateFlowJSON = %+v, %v", resp, err)
	}
	u := srv.uploads()[0]
	if u.err != nil || len(u.parts) != 1 || u.parts[0].size != size || u.parts[0].sha256 != genSHA256(size) {
		t.Fatalf("server saw %+v", u)
	}
	if growth >= 16<<20 {
		t.Errorf("heap in use grew by %d MB during a %d MB upload, want < 16 MB", growth>>20, size>>20)
	}
}

var simFlowID = regexp.MustCompile(`^[0-9]{16}$`)

// TestFlowsAgainstSimulator runs every flow call against the Gupshup
// simulator, through a whole flow life.
func TestFlowsAgainstSimulator(t *testing.T) {
	t.Parallel()
	sim := gupshupsim.New(gupshupsim.Options{Apps: []gupshupsim.App{
		{ID: "app-1", Name: "One", Token: "sk_1"}, {ID: "app-2", Name: "Two", Token: "sk_2"}}})
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c := newClient(srv.URL, nil)
	ctx := context.Background()
	must := func(what string, resp *upstream.Response, err error, status int) *upstream.Response {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != status {
			t.Fatalf("%s: %d %s, want %d", what, resp.Status, resp.Body, status)
		}
		return resp
	}
	const ok = `{"status":"success","success":true}`
	msg := func(r *upstream.Response) string { return gjson.GetBytes(r.Body, "message").String() }

	resp, err := c.CreateFlow(ctx, "app-1", "sk_1", []byte(`{"name":"Survey","categories":["SURVEY"]}`))
	must("CreateFlow", resp, err, 200)
	id := gjson.GetBytes(resp.Body, "id").String()
	if !simFlowID.MatchString(id) || string(resp.Body) != `{"id":"`+id+`","status":"success","validation_errors":[]}` {
		t.Fatalf("CreateFlow answer %s", resp.Body)
	}
	resp, err = c.CreateFlow(ctx, "app-1", "sk_1", []byte(`{"name":"Survey","categories":["SURVEY"]}`))
	if must("CreateFlow again", resp, err, 400); msg(resp) != "Flow name already exists" {
		t.Errorf("duplicate create %s", resp.Body)
	}
	resp, err = c.CreateFlow(ctx, "app-1", "sk_wrong", []byte(`{"name":"x","categories":["OTHER"]}`))
	must("CreateFlow with a wrong token", resp, err, 401)

	resp, err = c.ListFlows(ctx, "app-1", "sk_1")
	if must("ListFlows", resp, err, 200); gjson.GetBytes(resp.Body, "flows.#").Int() != 1 ||
		gjson.GetBytes(resp.Body, "flows.0.id").String() != id {
		t.Errorf("ListFlows %s", resp.Body)
	}
	resp, err = c.GetFlow(ctx, "app-1", "sk_1", id)
	if must("GetFlow", resp, err, 200); gjson.GetBytes(resp.Body, "status").String() != "DRAFT" ||
		gjson.GetBytes(resp.Body, "name").String() != "Survey" || gjson.GetBytes(resp.Body, "json_version").String() != "6.0" {
		t.Errorf("GetFlow %s", resp.Body)
	}
	resp, err = c.GetFlow(ctx, "app-2", "sk_2", id)
	if must("GetFlow from another app", resp, err, 400); msg(resp) != "Invalid flow id" {
		t.Errorf("GetFlow from another app %s", resp.Body)
	}

	resp, err = c.UpdateFlow(ctx, "app-1", "sk_1", id, []byte(`{"name":"Survey 2","categories":["SURVEY","OTHER"]}`))
	if must("UpdateFlow", resp, err, 200); string(resp.Body) != ok {
		t.Errorf("UpdateFlow %s", resp.Body)
	}
	resp, err = c.FlowAssets(ctx, "app-1", "sk_1", id)
	if must("FlowAssets before upload", resp, err, 200); string(resp.Body) != `[]` {
		t.Errorf("FlowAssets %s", resp.Body)
	}
	resp, err = c.PublishFlow(ctx, "app-1", "sk_1", id)
	if must("PublishFlow without asset", resp, err, 400); msg(resp) != "Flow has validation errors, it cannot be published" {
		t.Errorf("PublishFlow %s", resp.Body)
	}

	upload := func(content string) *upstream.Response {
		t.Helper()
		resp, err := c.UpdateFlowJSON(ctx, "app-1", "sk_1", id, upstream.MediaFile{
			Size: int64(len(content)), Open: (&opener{data: []byte(content)}).open})
		return must("UpdateFlowJSON", resp, err, 200)
	}
	if r := upload(`{"screens":[]}`); gjson.GetBytes(r.Body, "validation_errors.0.error").String() != "MISSING_REQUIRED_PROPERTY" {
		t.Errorf("invalid upload answer %s", r.Body)
	}
	flowJSON := "{\n  \"version\": \"7.1\",\n  \"screens\": [{\"id\": \"ONE\", \"terminal\": true}]\n}\n"
	if r := upload(flowJSON); string(r.Body) != `{"status":"success","success":true,"validation_errors":[]}` {
		t.Errorf("upload answer %s", r.Body)
	}
	if f, _ := sim.Flow("app-1", id); string(f.Asset) != flowJSON || f.AssetFileName != "flow.json" ||
		f.AssetContentType != "application/json" || f.Name != "Survey 2" || f.JSONVersion != "7.1" {
		t.Errorf("sim flow %+v", f)
	}

	resp, err = c.FlowAssets(ctx, "app-1", "sk_1", id)
	must("FlowAssets", resp, err, 200)
	dl := gjson.GetBytes(resp.Body, "0.download_url").String()
	if gjson.GetBytes(resp.Body, "#").Int() != 1 || gjson.GetBytes(resp.Body, "0.asset_type").String() != "FLOW_JSON" ||
		!strings.HasPrefix(dl, srv.URL+"/sim/flows/"+id+"/flow.json?sig=") {
		t.Fatalf("FlowAssets %s", resp.Body)
	}
	fetched, err := c.FetchURL(ctx, dl, "")
	if err != nil {
		t.Fatalf("FetchURL(download_url): %v", err)
	}
	b, err := io.ReadAll(fetched.Body)
	fetched.Body.Close()
	if err != nil || string(b) != flowJSON || fetched.Header.Get("Content-Type") != "application/json" {
		t.Errorf("download %q %v %s", b, err, fetched.Header.Get("Content-Type"))
	}

	resp, err = c.FlowPreview(ctx, "app-1", "sk_1", id, false)
	if must("FlowPreview", resp, err, 200); gjson.GetBytes(resp.Body, "id").String() != id ||
		!strings.HasPrefix(gjson.GetBytes(resp.Body, "preview.preview_url").String(), "https://business.facebook.com/wa/manage/flows/"+id+"/preview/?token=") ||
		gjson.GetBytes(resp.Body, "preview.expires_at").String() == "" {
		t.Errorf("FlowPreview %s", resp.Body)
	}
	first := gjson.GetBytes(resp.Body, "preview.preview_url").String()
	for _, tc := range []struct {
		invalidate bool
		same       bool
	}{{false, true}, {true, false}} {
		resp, err = c.FlowPreview(ctx, "app-1", "sk_1", id, tc.invalidate)
		must("FlowPreview again", resp, err, 200)
		if got := gjson.GetBytes(resp.Body, "preview.preview_url").String(); (got == first) != tc.same {
			t.Errorf("FlowPreview invalidate=%v: %s after %s", tc.invalidate, got, first)
		}
	}

	resp, err = c.DeprecateFlow(ctx, "app-1", "sk_1", id)
	if must("DeprecateFlow a draft", resp, err, 400); msg(resp) != "Flow was never published, it cannot be deprecated" {
		t.Errorf("DeprecateFlow %s", resp.Body)
	}
	resp, err = c.PublishFlow(ctx, "app-1", "sk_1", id)
	if must("PublishFlow", resp, err, 200); string(resp.Body) != ok {
		t.Errorf("PublishFlow %s", resp.Body)
	}
	resp, err = c.UpdateFlow(ctx, "app-1", "sk_1", id, []byte(`{"name":"late"}`))
	if must("UpdateFlow published", resp, err, 400); msg(resp) != "Flow is published, it cannot be updated" {
		t.Errorf("UpdateFlow published %s", resp.Body)
	}
	resp, err = c.UpdateFlowJSON(ctx, "app-1", "sk_1", id, upstream.MediaFile{Size: 2, Open: (&opener{data: []byte("{}")}).open})
	if must("UpdateFlowJSON published", resp, err, 400); msg(resp) != "Flow is published, it cannot be updated" {
		t.Errorf("UpdateFlowJSON published %s", resp.Body)
	}
	resp, err = c.DeleteFlow(ctx, "app-1", "sk_1", id)
	if must("DeleteFlow published", resp, err, 400); msg(resp) != "Only draft flows can be deleted" {
		t.Errorf("DeleteFlow published %s", resp.Body)
	}
	resp, err = c.DeprecateFlow(ctx, "app-1", "sk_1", id)
	if must("DeprecateFlow", resp, err, 200); string(resp.Body) != ok {
		t.Errorf("DeprecateFlow %s", resp.Body)
	}
	resp, err = c.GetFlow(ctx, "app-1", "sk_1", id)
	if must("GetFlow deprecated", resp, err, 200); gjson.GetBytes(resp.Body, "status").String() != "DEPRECATED" ||
		gjson.GetBytes(resp.Body, "health_status.can_send_message").String() != "BLOCKED" {
		t.Errorf("GetFlow deprecated %s", resp.Body)
	}

	// A draft is deleted.
	resp, err = c.CreateFlow(ctx, "app-1", "sk_1", []byte(`{"name":"Temp","categories":["OTHER"]}`))
	must("CreateFlow", resp, err, 200)
	tmp := gjson.GetBytes(resp.Body, "id").String()
	resp, err = c.DeleteFlow(ctx, "app-1", "sk_1", tmp)
	if must("DeleteFlow", resp, err, 200); string(resp.Body) != ok {
		t.Errorf("DeleteFlow %s", resp.Body)
	}
	if _, found := sim.Flow("app-1", tmp); found {
		t.Error("deleted flow still in the simulator")
	}

	// Faults reach the caller as Responses.
	sim.Inject(gupshupsim.Fault{PathSuffix: "/preview", Status: 503, Body: `{"status":"error","message":"busy"}`, Header: map[string]string{"Retry-After": "2"}})
	resp, err = c.FlowPreview(ctx, "app-1", "sk_1", id, false)
	if must("FlowPreview with a fault", resp, err, 503); resp.RetryAfter != "2" || msg(resp) != "busy" {
		t.Errorf("faulted preview %+v", resp)
	}

	// Every call went to the path the simulator serves, with the raw token.
	for _, r := range sim.Requests() {
		if strings.HasPrefix(r.Path, "/partner/") && r.Header.Get("Authorization") != "sk_1" &&
			r.Header.Get("Authorization") != "sk_2" && r.Header.Get("Authorization") != "sk_wrong" {
			t.Errorf("%s %s with Authorization %q", r.Method, r.Path, r.Header.Get("Authorization"))
		}
	}
	if n := sim.Count("/flows/" + id + "/assets"); n != 5 {
		t.Errorf("asset calls %d, want 5", n)
	}
}
