package translate

import (
	"bytes"
	"testing"
)

func TestRewriteMessageIDs(t *testing.T) {
	ids := map[string]string{
		"gs-1": "wamid.ONE",
		"gs-2": "wamid.TWO/é",
		"gs-3": "wamid.THREE",
	}
	lookup := func(gsID string) (string, bool) {
		w, ok := ids[gsID]
		return w, ok
	}
	cases := []struct {
		name, in, want string
		n              int
	}{
		{"reply context",
			`{"messaging_product":"whatsapp","to":"1","context":{"message_id":"gs-1"},"type":"text","text":{"body":"ä /x"}}`,
			`{"messaging_product":"whatsapp","to":"1","context":{"message_id":"wamid.ONE"},"type":"text","text":{"body":"ä /x"}}`, 1},
		{"reaction",
			`{"messaging_product":"whatsapp","to":"1","type":"reaction","reaction":{"message_id":"gs-2","emoji":"😀"}}`,
			`{"messaging_product":"whatsapp","to":"1","type":"reaction","reaction":{"message_id":"wamid.TWO\/\u00e9","emoji":"😀"}}`, 1},
		{"mark as read",
			"{\n  \"messaging_product\": \"whatsapp\",\n  \"status\": \"read\",\n  \"message_id\": \"gs-3\"\n}",
			"{\n  \"messaging_product\": \"whatsapp\",\n  \"status\": \"read\",\n  \"message_id\": \"wamid.THREE\"\n}", 1},
		{"typing indicator with context-less read",
			`{"messaging_product":"whatsapp","status":"read","message_id":"gs-1","typing_indicator":{"type":"text"}}`,
			`{"messaging_product":"whatsapp","status":"read","message_id":"wamid.ONE","typing_indicator":{"type":"text"}}`, 1},
		{"several paths, out of order",
			`{"reaction":{"message_id":"gs-2"},"message_id":"gs-3","context":{"message_id":"gs-1"}}`,
			`{"reaction":{"message_id":"wamid.TWO\/\u00e9"},"message_id":"wamid.THREE","context":{"message_id":"wamid.ONE"}}`, 3},
		{"unknown id untouched",
			`{"context":{"message_id":"wamid.ALREADY"},"message_id":"gs-1"}`,
			`{"context":{"message_id":"wamid.ALREADY"},"message_id":"wamid.ONE"}`, 1},
		{"escaped id looked up unescaped",
			`{"context":{"message_id":"gs\u002d1"}}`,
			`{"context":{"message_id":"wamid.ONE"}}`, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, n := RewriteMessageIDs([]byte(c.in), lookup)
			if string(got) != c.want || n != c.n {
				t.Errorf("got %s (%d)\nwant %s (%d)", got, n, c.want, c.n)
			}
		})
	}

	unchanged := []struct{ name, in string }{
		{"no paths", `{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"x"}}`},
		{"unknown ids only", `{"context":{"message_id":"nope"},"reaction":{"message_id":"nope"}}`},
		{"other members named message_id", `{"interactive":{"message_id":"gs-1"},"messages":[{"message_id":"gs-1"}]}`},
		{"non-string id", `{"message_id":12,"context":{"message_id":null}}`},
		{"not json", `{"message_id":"gs-1"`},
		{"empty", ``},
	}
	for _, c := range unchanged {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.in)
			got, n := RewriteMessageIDs(in, lookup)
			if n != 0 || !bytes.Equal(got, in) || (len(in) > 0 && &got[0] != &in[0]) {
				t.Errorf("got %s (%d), want the input slice itself", got, n)
			}
		})
	}
	if got, n := RewriteMessageIDs([]byte(`{"message_id":"gs-1"}`), nil); n != 0 || string(got) != `{"message_id":"gs-1"}` {
		t.Errorf("nil lookup: %s %d", got, n)
	}
}

func TestRewriteMessageIDsKeepsOtherBytes(t *testing.T) {
	in := []byte("{ \"to\" : \"1\",\t\"context\" : { \"message_id\" : \"gs-1\" , \"x\":1.0e+30 }, \"text\":{\"body\":\"ä\\u00e4/\"} }")
	got, n := RewriteMessageIDs(in, func(string) (string, bool) { return "W", true })
	want := "{ \"to\" : \"1\",\t\"context\" : { \"message_id\" : \"W\" , \"x\":1.0e+30 }, \"text\":{\"body\":\"ä\\u00e4/\"} }"
	if n != 1 || string(got) != want {
		t.Errorf("got %s (%d)", got, n)
	}
	if string(in) != "{ \"to\" : \"1\",\t\"context\" : { \"message_id\" : \"gs-1\" , \"x\":1.0e+30 }, \"text\":{\"body\":\"ä\\u00e4/\"} }" {
		t.Errorf("input modified: %s", in)
	}
}
