package translate

import "testing"

// TestTransientErrors pins the whole body of the errors that tell a client
// to retry, and of their non-transient neighbours: Graph writes
// "is_transient":true between type and code (e.g. "(#2) Service
// temporarily unavailable"), and leaves it out otherwise.
func TestTransientErrors(t *testing.T) {
	cases := []struct {
		name string
		e    *Error
		http int
		body string
	}{
		{"unreachable", Unreachable("connection failed"), 503,
			`{"error":{"message":"(#2) Service temporarily unavailable","type":"OAuthException","is_transient":true,"code":2,` +
				`"error_data":{"messaging_product":"whatsapp","details":"The messaging gateway could not reach its upstream; nothing was sent. Retry later. (connection failed)"},"fbtrace_id":"T"}}`},
		{"token unavailable", TokenUnavailable(), 503,
			`{"error":{"message":"(#2) Service temporarily unavailable","type":"OAuthException","is_transient":true,"code":2,` +
				`"error_data":{"messaging_product":"whatsapp","details":"The messaging gateway could not obtain its Gupshup app token: Gupshup's token service failed, did not answer in time or could not be reached. Nothing was sent. Retry later."},"fbtrace_id":"T"}}`},
		{"upstream timeout", UpstreamTimeout("The media was not fetched; retry later."), 503,
			`{"error":{"message":"(#2) Service temporarily unavailable","type":"OAuthException","is_transient":true,"code":2,` +
				`"error_data":{"messaging_product":"whatsapp","details":"The upstream did not answer in time. The media was not fetched; retry later."},"fbtrace_id":"T"}}`},
		{"maybe changed is not transient", MaybeChanged("the flow may have been created."), 503,
			`{"error":{"message":"(#131000) Something went wrong","type":"OAuthException","code":131000,` +
				`"error_data":{"messaging_product":"whatsapp","details":"The upstream did not answer in time; the flow may have been created."},"fbtrace_id":"T"}}`},
		{"maybe sent is not transient", MaybeSent("no answer"), 503,
			`{"error":{"message":"(#131000) Something went wrong","type":"OAuthException","code":131000,` +
				`"error_data":{"messaging_product":"whatsapp","details":"The upstream did not answer in time (no answer); the message may have been sent. Check status webhooks before resending."},"fbtrace_id":"T"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(c.e.Body("T")); c.e.HTTPStatus != c.http || got != c.body {
				t.Errorf("http %d %s\nwant http %d %s", c.e.HTTPStatus, got, c.http, c.body)
			}
		})
	}
}
