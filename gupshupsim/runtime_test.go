package gupshupsim

import (
	"encoding/json"
	"testing"
)

// TestAddAppAtRunTime: an app added to a serving simulator takes sends with
// its token, gets New's derived fields, and its token comes from the
// partner API; bad additions are refused.
func TestAddAppAtRunTime(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	body := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`
	hdr := func(tok string) map[string]string {
		return map[string]string{"Authorization": tok, "Content-Type": "application/json"}
	}
	const added = "9a1b2c3d-added-at-run-time"
	doRequest(t, nil, "POST", sendURL(srv.URL, added), hdr("sk_added"), body).check(t, 400, errJSON("Invalid App Details"))
	if err := sim.AddApp(App{ID: added, Name: "Added", Token: "sk_added"}); err != nil {
		t.Fatal(err)
	}
	doRequest(t, nil, "POST", sendURL(srv.URL, added), hdr("sk_added"), body).check(t, 200, "")
	if a, ok := sim.App(added); !ok || a.WABAID == "" || a.PhoneNumberID == "" || a.DisplayPhoneNumber == "" {
		t.Errorf("added app %+v, %v: derived fields missing", a, ok)
	}
	r := doRequest(t, nil, "GET", srv.URL+"/partner/app/"+added+"/token", map[string]string{"Authorization": login(t, srv.URL)}, "")
	r.check(t, 200, "")
	var got struct{ Token struct{ Token string } }
	_ = json.Unmarshal(r.body, &got)
	if got.Token.Token != "sk_added" {
		t.Errorf("GET token of the added app = %q", got.Token.Token)
	}
	for name, a := range map[string]App{"empty id": {}, "known id": {ID: testAppID}} {
		if err := sim.AddApp(a); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if sim.AppToken(testAppID) != testAppToken {
		t.Error("a refused AddApp changed the existing app")
	}
}

func TestSetAppTokenAndPartnerCredentials(t *testing.T) {
	sim, srv := startSim(t, testOptions())
	body := `{"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":"hi"}}`
	hdr := func(tok string) map[string]string {
		return map[string]string{"Authorization": tok, "Content-Type": "application/json"}
	}
	if !sim.SetAppToken(testAppID, "sk_chosen") || sim.SetAppToken("nope", "sk_x") || sim.SetAppToken(testAppID, "") {
		t.Fatal("SetAppToken results")
	}
	doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), hdr(testAppToken), body).check(t, 401, "")
	doRequest(t, nil, "POST", sendURL(srv.URL, testAppID), hdr("sk_chosen"), body).check(t, 200, "")

	sim.SetPartnerCredentials("new@example.com", "new-secret")
	doRequest(t, nil, "POST", srv.URL+"/partner/account/login", formHeader,
		formBody("email", testEmail, "password", testSecret)).check(t, 401, "")
	doRequest(t, nil, "POST", srv.URL+"/partner/account/login", formHeader,
		formBody("email", "new@example.com", "password", "new-secret")).check(t, 200, "")
}
