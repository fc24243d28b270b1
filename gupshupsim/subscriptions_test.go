package gupshupsim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

func subURL(base, appID string) string { return base + "/partner/app/" + appID + "/subscription" }

var appAuth = map[string]string{"Authorization": testAppToken, "Content-Type": "application/x-www-form-urlencoded"}

// createSub creates a subscription over HTTP and returns the answer's
// subscription object.
func createSub(t *testing.T, base string, kv ...string) Subscription {
	t.Helper()
	r := doRequest(t, nil, "POST", subURL(base, testAppID), appAuth, formBody(kv...))
	r.check(t, 200, "")
	var a struct {
		Status       string
		Subscription Subscription
	}
	if err := json.Unmarshal(r.body, &a); err != nil || a.Status != "success" {
		t.Fatalf("create answer %s: %v", r.body, err)
	}
	return a.Subscription
}

func TestSubscriptionCRUD(t *testing.T) {
	sim, srv, clock := startSimWithClock(t, testOptions())
	t.Cleanup(sim.Close)
	created := clock.Now().UnixMilli()

	const meta = `{"headers":{"X-Waproxy-Secret":"abc"}}`
	r := doRequest(t, nil, "POST", subURL(srv.URL, testAppID), appAuth, formBody(
		"url", "https://proxy.example/cb?x=1", "tag", "waproxy v3", "version", "3",
		"modes", "message, sent,DELIVERED,read,FAILED,enqueued", "meta", meta, "showOnUI", "false", "doCheck", "false"))
	r.check(t, 200, "")
	// The answer has Gupshup's shape and JSON types.
	body := r.body
	checks := []struct {
		path string
		typ  gjson.Type
		want string
	}{
		{"status", gjson.String, "success"},
		{"subscription.id", gjson.String, "8001"},
		{"subscription.appId", gjson.String, testAppID},
		{"subscription.active", gjson.True, "true"},
		{"subscription.mode", gjson.Number, fmt.Sprint(ModeBit("MESSAGE") | ModeBit("SENT") | ModeBit("DELIVERED") | ModeBit("READ") | ModeBit("FAILED") | ModeBit("ENQUEUED"))},
		{"subscription.modes", gjson.JSON, `["MESSAGE","SENT","DELIVERED","READ","FAILED","ENQUEUED"]`},
		{"subscription.meta", gjson.String, meta},
		{"subscription.version", gjson.Number, "3"},
		{"subscription.tag", gjson.String, "waproxy v3"},
		{"subscription.url", gjson.String, "https://proxy.example/cb?x=1"},
		{"subscription.showOnUI", gjson.False, "false"},
		{"subscription.createdOn", gjson.Number, fmt.Sprint(created)},
		{"subscription.modifiedOn", gjson.Number, fmt.Sprint(created)},
		{"subscription.latencyBucket", gjson.String, "lt_1_s"},
	}
	for _, c := range checks {
		got := gjson.GetBytes(body, c.path)
		if got.Type != c.typ || (c.typ == gjson.JSON && got.Raw != c.want) || (c.typ != gjson.JSON && got.String() != c.want) {
			t.Errorf("%s = %s (type %v), want %s (type %v)", c.path, got.Raw, got.Type, c.want, c.typ)
		}
	}
	if ModeBit("MESSAGE") != 1 || ModeBit("NONE") != 0 || ModeBit("ALL") != 1<<13 {
		t.Errorf("mode bits MESSAGE=%d NONE=%d ALL=%d", ModeBit("MESSAGE"), ModeBit("NONE"), ModeBit("ALL"))
	}

	v2 := createSub(t, srv.URL, "url", "http://127.0.0.1:1/v2", "tag", "v2", "version", "2", "modes", "ENQUEUED,FAILED,DELETE,FLOW_MESSAGE")
	if v2.ID != "8002" || !reflect.DeepEqual(v2.Modes, []string{"ENQUEUED", "FAILED", "DELETED", "FLOWS_MESSAGE"}) || v2.Meta != "" {
		t.Errorf("v2 subscription = %+v", v2)
	}

	// Get one.
	r = doRequest(t, nil, "GET", subURL(srv.URL, testAppID)+"/8001", appAuth, "")
	r.check(t, 200, "")
	if got := gjson.GetBytes(r.body, "subscription.tag").String(); got != "waproxy v3" || gjson.GetBytes(r.body, "status").String() != "success" {
		t.Errorf("get one = %s", r.body)
	}

	// List.
	r = doRequest(t, nil, "GET", subURL(srv.URL, testAppID), appAuth, "")
	r.check(t, 200, "")
	if ids := gjson.GetBytes(r.body, "subscriptions.#.id").Raw; ids != `["8001","8002"]` {
		t.Errorf("list ids = %s (%s)", ids, r.body)
	}
	if got := sim.Subscriptions(testAppID); len(got) != 2 || got[0].ID != "8001" || got[1].ID != "8002" {
		t.Errorf("Subscriptions = %+v", got)
	}

	// Update: only the fields given change.
	clock.Advance(time.Second)
	r = doRequest(t, nil, "PUT", subURL(srv.URL, testAppID)+"/8001", appAuth, formBody("modes", "SENT", "active", "false", "doCheck", "false"))
	r.check(t, 200, "")
	if got := gjson.GetBytes(r.body, "subscription"); got.Get("modes").Raw != `["SENT"]` || got.Get("mode").Int() != int64(ModeBit("SENT")) ||
		got.Get("active").Bool() || got.Get("tag").String() != "waproxy v3" || got.Get("meta").String() != meta ||
		got.Get("modifiedOn").Int() != created+1000 || got.Get("createdOn").Int() != created {
		t.Errorf("update answer = %s", r.body)
	}
	r = doRequest(t, nil, "PUT", subURL(srv.URL, testAppID)+"/8001", appAuth, formBody("url", "http://other.example/x", "tag", "renamed", "version", "2", "meta", "", "active", "true"))
	r.check(t, 200, "")
	s := sim.Subscriptions(testAppID)[0]
	if s.URL != "http://other.example/x" || s.Tag != "renamed" || s.Version != 2 || s.Meta != "" || !s.Active {
		t.Errorf("after update %+v", s)
	}
	// Re-using its own tag is not a duplicate.
	doRequest(t, nil, "PUT", subURL(srv.URL, testAppID)+"/8001", appAuth, formBody("tag", "renamed")).check(t, 200, "")

	// Delete one.
	r = doRequest(t, nil, "DELETE", subURL(srv.URL, testAppID)+"/8001", appAuth, "")
	if r.status != 204 || len(r.body) != 0 {
		t.Errorf("delete one = %d %s", r.status, r.body)
	}
	doRequest(t, nil, "GET", subURL(srv.URL, testAppID)+"/8001", appAuth, "").check(t, 400, errJSON("Subscription Does Not Exist"))

	// Delete all (other apps keep theirs).
	otherAuth := map[string]string{"Authorization": sim.AppToken(otherAppID), "Content-Type": "application/x-www-form-urlencoded"}
	doRequest(t, nil, "POST", subURL(srv.URL, otherAppID), otherAuth, formBody("url", "https://o/cb", "tag", "t", "version", "3", "modes", "ALL")).check(t, 200, "")
	r = doRequest(t, nil, "DELETE", subURL(srv.URL, testAppID), appAuth, "")
	if r.status != 204 || len(r.body) != 0 {
		t.Errorf("delete all = %d %s", r.status, r.body)
	}
	r = doRequest(t, nil, "GET", subURL(srv.URL, testAppID), appAuth, "")
	r.check(t, 200, `{"status":"success","subscriptions":[]}`)
	if n := len(sim.Subscriptions(otherAppID)); n != 1 {
		t.Errorf("other app has %d subscriptions, want 1", n)
	}
	// The tag is free again.
	createSub(t, srv.URL, "url", "https://p/cb", "tag", "waproxy v3", "version", "3", "modes", "SENT")
}

func TestSubscriptionValidation(t *testing.T) {
	valid := []string{"url", "https://proxy.example/cb", "tag", "t1", "version", "3", "modes", "SENT"}
	with := func(k, v string) []string {
		out := []string{}
		for i := 0; i < len(valid); i += 2 {
			if valid[i] != k {
				out = append(out, valid[i], valid[i+1])
			}
		}
		if v != "\x00" { // "\x00": leave the field out
			out = append(out, k, v)
		}
		return out
	}
	tests := []struct {
		name   string
		method string
		path   string // after /partner/app/{testAppID}
		header map[string]string
		form   []string
		status int
		msg    string
	}{
		{"url missing", "POST", "/subscription", appAuth, with("url", "\x00"), 400, "Invalid URL Passed"},
		{"url empty", "POST", "/subscription", appAuth, with("url", ""), 400, "Invalid URL Passed"},
		{"url relative", "POST", "/subscription", appAuth, with("url", "/cb"), 400, "Invalid URL Passed"},
		{"url without host", "POST", "/subscription", appAuth, with("url", "https:///cb"), 400, "Invalid URL Passed"},
		{"url ftp", "POST", "/subscription", appAuth, with("url", "ftp://proxy.example/cb"), 400, "Invalid URL Passed"},
		{"url not a url", "POST", "/subscription", appAuth, with("url", "not a url"), 400, "Invalid URL Passed"},
		{"url with space", "POST", "/subscription", appAuth, with("url", "https://proxy.example/c b"), 400, "Invalid URL Passed"},
		{"tag missing", "POST", "/subscription", appAuth, with("tag", "\x00"), 400, "tag is missing/invalid"},
		{"tag blank", "POST", "/subscription", appAuth, with("tag", "  "), 400, "tag is missing/invalid"},
		{"duplicate tag", "POST", "/subscription", appAuth, with("tag", "existing"), 400, "Duplicate component tag"},
		{"version missing", "POST", "/subscription", appAuth, with("version", "\x00"), 400, "version is missing/invalid"},
		{"version 1", "POST", "/subscription", appAuth, with("version", "1"), 400, "version is missing/invalid"},
		{"version 4", "POST", "/subscription", appAuth, with("version", "4"), 400, "version is missing/invalid"},
		{"version text", "POST", "/subscription", appAuth, with("version", "v3"), 400, "version is missing/invalid"},
		{"modes missing", "POST", "/subscription", appAuth, with("modes", "\x00"), 400, "modes is missing/invalid"},
		{"modes empty", "POST", "/subscription", appAuth, with("modes", " , "), 400, "modes is missing/invalid"},
		{"modes unknown", "POST", "/subscription", appAuth, with("modes", "SENT,BOUNCED"), 400, "modes is missing/invalid"},
		{"meta not JSON", "POST", "/subscription", appAuth, with("meta", "headers=x"), 400, "meta is missing/invalid"},
		{"meta not an object", "POST", "/subscription", appAuth, with("meta", `["x"]`), 400, "meta is missing/invalid"},
		{"showOnUI not bool", "POST", "/subscription", appAuth, with("showOnUI", "maybe"), 400, "showOnUI is missing/invalid"},
		{"doCheck not bool", "POST", "/subscription", appAuth, with("doCheck", "maybe"), 400, "doCheck is missing/invalid"},
		{"wrong token", "POST", "/subscription", map[string]string{"Authorization": "sk_wrong"}, valid, 401, "Authentication Failed"},
		{"bearer token", "GET", "/subscription", map[string]string{"Authorization": "Bearer " + testAppToken}, nil, 401, "Authentication Failed"},
		{"no token", "GET", "/subscription/8001", nil, nil, 401, "Authentication Failed"},
		{"unknown id get", "GET", "/subscription/9999", appAuth, nil, 400, "Subscription Does Not Exist"},
		{"unknown id put", "PUT", "/subscription/9999", appAuth, []string{"tag", "x"}, 400, "Subscription Does Not Exist"},
		{"unknown id delete", "DELETE", "/subscription/9999", appAuth, nil, 400, "Subscription Does Not Exist"},
		{"other app's subscription", "GET", "/subscription/8002", appAuth, nil, 403, "Not Subscription Owner"},
		{"other app's subscription delete", "DELETE", "/subscription/8002", appAuth, nil, 403, "Not Subscription Owner"},
		{"update duplicate tag", "PUT", "/subscription/8001", appAuth, []string{"tag", "third"}, 400, "Duplicate component tag"},
		{"update bad url", "PUT", "/subscription/8001", appAuth, []string{"url", "mailto:x@y"}, 400, "Invalid URL Passed"},
		{"update bad version", "PUT", "/subscription/8001", appAuth, []string{"version", "0"}, 400, "version is missing/invalid"},
		{"update bad modes", "PUT", "/subscription/8001", appAuth, []string{"modes", ""}, 400, "modes is missing/invalid"},
		{"update bad active", "PUT", "/subscription/8001", appAuth, []string{"active", "yes please"}, 400, "active is missing/invalid"},
		{"update empty tag", "PUT", "/subscription/8001", appAuth, []string{"tag", ""}, 400, "tag is missing/invalid"},
		{"analytics not simulated", "GET", "/subscription/8001/analytics", appAuth, nil, 404, "Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, srv := startSim(t, testOptions())
			t.Cleanup(sim.Close)
			createSub(t, srv.URL, "url", "https://a/cb", "tag", "existing", "version", "3", "modes", "SENT")
			createSub(t, srv.URL, "url", "https://a/cb", "tag", "second", "version", "2", "modes", "SENT")
			createSub(t, srv.URL, "url", "https://a/cb", "tag", "third", "version", "2", "modes", "SENT")
			// Move 8002 to the other app to test ownership.
			sim.mu.Lock()
			sim.subs[1].AppID = otherAppID
			sim.mu.Unlock()
			before := sim.Subscriptions(testAppID)

			body := ""
			if tc.form != nil {
				body = formBody(tc.form...)
			}
			r := doRequest(t, nil, tc.method, srv.URL+"/partner/app/"+testAppID+tc.path, tc.header, body)
			r.check(t, tc.status, errJSON(tc.msg))
			if after := sim.Subscriptions(testAppID); !reflect.DeepEqual(after, before) {
				t.Errorf("a rejected request changed the subscriptions: %+v → %+v", before, after)
			}
		})
	}
}

func TestSubscriptionLimitAndRoutes(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	t.Cleanup(sim.Close)
	for i := range MaxSubscriptionsPerApp {
		createSub(t, srv.URL, "url", "https://a/cb", "tag", fmt.Sprint("t", i), "version", fmt.Sprint(2+i%2), "modes", "SENT")
	}
	r := doRequest(t, nil, "POST", subURL(srv.URL, testAppID), appAuth, formBody("url", "https://a/cb", "tag", "sixth", "version", "3", "modes", "SENT"))
	r.check(t, 400, errJSON("Maximum 5 subscriptions allowed per app"))
	// The limit is per app.
	otherAuth := map[string]string{"Authorization": sim.AppToken(otherAppID), "Content-Type": "application/x-www-form-urlencoded"}
	doRequest(t, nil, "POST", subURL(srv.URL, otherAppID), otherAuth, formBody("url", "https://a/cb", "tag", "t0", "version", "3", "modes", "SENT")).check(t, 200, "")
	// Deleting one frees a slot.
	doRequest(t, nil, "DELETE", subURL(srv.URL, testAppID)+"/8001", appAuth, "")
	createSub(t, srv.URL, "url", "https://a/cb", "tag", "sixth", "version", "3", "modes", "SENT")

	tests := []struct {
		method, path string
		status       int
		msg, allow   string
	}{
		{"PATCH", "/partner/app/" + testAppID + "/subscription", 405, "Method Not Allowed", "GET, POST, DELETE"},
		{"PUT", "/partner/app/" + testAppID + "/subscription", 405, "Method Not Allowed", "GET, POST, DELETE"},
		{"POST", "/partner/app/" + testAppID + "/subscription/8002", 405, "Method Not Allowed", "GET, PUT, DELETE"},
		{"GET", "/partner/app/unknown-app/subscription", 400, "Invalid App Details", ""},
		{"GET", "/partner/app/" + testAppID + "/subscriptions", 404, "Not Found", ""},
	}
	for _, tc := range tests {
		r := doRequest(t, nil, tc.method, srv.URL+tc.path, appAuth, "")
		r.check(t, tc.status, errJSON(tc.msg))
		if got := r.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	// A trailing slash names the collection.
	r = doRequest(t, nil, "GET", subURL(srv.URL, testAppID)+"/", appAuth, "")
	r.check(t, 200, "")
	if n := len(gjson.GetBytes(r.body, "subscriptions").Array()); n != MaxSubscriptionsPerApp {
		t.Errorf("list has %d, want %d", n, MaxSubscriptionsPerApp)
	}
}

func TestParseModes(t *testing.T) {
	all := "MESSAGE,FLOWS_MESSAGE,PAYMENTS,SENT,DELIVERED,READ,FAILED,ENQUEUED,DELETED,BILLING,TEMPLATE,ACCOUNT,OTHERS,ALL"
	tests := []struct {
		in    []string
		modes []string
		mask  int
		ok    bool
	}{
		{[]string{"SENT"}, []string{"SENT"}, 1 << 3, true},
		{[]string{"sent, Delivered ,SENT"}, []string{"SENT", "DELIVERED"}, 1<<3 | 1<<4, true},
		{[]string{"SENT", "READ"}, []string{"SENT", "READ"}, 1<<3 | 1<<5, true},
		{[]string{"FLOW_MESSAGE,DELETE"}, []string{"FLOWS_MESSAGE", "DELETED"}, 1<<1 | 1<<8, true},
		{[]string{all}, regexp.MustCompile(",").Split(all, -1), 16383, true},
		{[]string{"NONE"}, []string{"NONE"}, 0, true},
		{[]string{"COEXISTENCE"}, []string{"COEXISTENCE"}, 1 << 14, true},
		{[]string{""}, nil, 0, false},
		{nil, nil, 0, false},
		{[]string{"SENT,NOPE"}, nil, 0, false},
	}
	for _, tc := range tests {
		modes, mask, ok := parseModes(tc.in)
		if ok != tc.ok || (ok && (!reflect.DeepEqual(modes, tc.modes) || mask != tc.mask)) {
			t.Errorf("parseModes(%q) = %v %d %v, want %v %d %v", tc.in, modes, mask, ok, tc.modes, tc.mask, tc.ok)
		}
	}
}

func TestSubscriptionsOfUnknownAppIsEmpty(t *testing.T) {
	sim := New(testOptions())
	defer sim.Close()
	if got := sim.Subscriptions("nope"); len(got) != 0 {
		t.Errorf("Subscriptions = %v", got)
	}
	// Returned values are copies.
	sim.mu.Lock()
	sim.subs = append(sim.subs, &Subscription{ID: "1", AppID: testAppID, Modes: []string{"SENT"}})
	sim.mu.Unlock()
	got := sim.Subscriptions(testAppID)
	got[0].Modes[0] = "CHANGED"
	if sim.Subscriptions(testAppID)[0].Modes[0] != "SENT" {
		t.Error("Subscriptions shares its Modes slice")
	}
}
