package translate

import (
	"encoding/json"
	"testing"
)

// TestLastMembersJSON pins which bytes survive: of a repeated name the last
// member, at every depth; everything else byte for byte.
func TestLastMembersJSON(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"no repeats is the same slice", `{"a":1,"b":{"c":2}}`, `{"a":1,"b":{"c":2}}`},
		{"first of two", `{"a":1,"a":2}`, `{"a":2}`},
		{"keeps the last's place", `{"a":1,"b":2,"a":3}`, `{"b":2,"a":3}`},
		{"three copies", `{"a":1, "a":2 ,"a":3}`, `{"a":3}`},
		{"whitespace kept", "{ \"x\" : 1 ,\n \"a\":0, \"x\":2 }", "{ \"a\":0, \"x\":2 }"},
		{"nested object", `{"t":{"n":"a","n":"b"},"k":[{"i":1,"i":2}]}`, `{"t":{"n":"b"},"k":[{"i":2}]}`},
		{"repeat inside a dropped member", `{"t":{"n":"a","n":"b"},"t":{"n":"c"}}`, `{"t":{"n":"c"}}`},
		{"escaped name is the same name", `{"to":"1","\u0074o":"2"}`, `{"\u0074o":"2"}`},
		{"strings that look like keys", `{"a":"\"a\":1,","b":["a","a"]}`, `{"a":"\"a\":1,","b":["a","a"]}`},
		{"not JSON is returned as is", `{"a":1,"a":`, `{"a":1,"a":`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := LastMembersJSON([]byte(c.in))
			if string(got) != c.want {
				t.Errorf("got %s\nwant %s", got, c.want)
			}
			if json.Valid([]byte(c.in)) && !json.Valid(got) {
				t.Errorf("result is not valid JSON: %s", got)
			}
		})
	}
	many := []byte(`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k0":"last"}`)
	if got, want := string(LastMembersJSON(many)), `{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k0":"last"}`; got != want {
		t.Errorf("many members: got %s", got)
	}
}

// TestRepeatedMembersLastWins pins that every reading of a client's body
// takes the last of a repeated member, as Graph does.
func TestRepeatedMembersLastWins(t *testing.T) {
	t.Run("status update forwards one message_id, the last", func(t *testing.T) {
		s, e := SendToForm(nil, []byte(`{"messaging_product":"whatsapp","status":"read","message_id":"a","message_id":"b"}`), SendOptions{})
		if e != nil {
			t.Fatal(e)
		}
		if s.MessageID != "b" || string(s.Event) != `{"messaging_product":"whatsapp","status":"read","message_id":"b"}` {
			t.Errorf("message_id %q event %s", s.MessageID, s.Event)
		}
	})
	t.Run("status update without repeats forwards the body itself", func(t *testing.T) {
		body := []byte(`{"messaging_product":"whatsapp","status":"read","message_id":"a"}`)
		s, _ := SendToForm(nil, body, SendOptions{})
		if &s.Event[0] != &body[0] {
			t.Errorf("event is a copy")
		}
	})
	t.Run("reply ids are rewritten in the member that is forwarded", func(t *testing.T) {
		body := []byte(`{"context":{"message_id":"gs-1"},"context":{"message_id":"gs-2"},"message_id":"gs-3","message_id":"gs-4"}`)
		out, n := RewriteMessageIDs(body, func(id string) (string, bool) { return "wamid." + id, true })
		if want := `{"context":{"message_id":"wamid.gs-2"},"message_id":"wamid.gs-4"}`; n != 2 || string(out) != want {
			t.Errorf("got %d %s\nwant %s", n, out, want)
		}
	})
	t.Run("rewrite that finds nothing keeps the body", func(t *testing.T) {
		body := []byte(`{"to":"1","to":"2"}`)
		if out, n := RewriteMessageIDs(body, func(string) (string, bool) { return "", false }); n != 0 || string(out) != string(body) {
			t.Errorf("got %d %s", n, out)
		}
	})
}
