package auth_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"waproxy/auth"
	"waproxy/upstream"
)

// hang reads the request and answers nothing until the client gives up
// (or a second passes).
func hang(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(time.Second):
	}
}

func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// gupshupTokens serves Gupshup's login and app-token calls: login with
// the given handler, the app token with token (nil: success).
func gupshupTokens(login, token http.HandlerFunc) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /partner/account/login", login)
	mux.HandleFunc("GET /partner/app/{app}/token", func(w http.ResponseWriter, r *http.Request) {
		if token != nil {
			token(w, r)
			return
		}
		status(200, `{"status":"success","token":{"token":"sk_fetched"}}`)(w, r)
	})
	return mux
}

var loginOK = status(200, `{"token":"pt"}`)

// TestTokenFetchFailuresAreClassified runs Tokens over the real Gupshup
// client against a fake partner API: what may pass (no answer in time,
// 5xx, 429, nothing listening) is ErrTransient; Gupshup refusing the
// credentials or the app is ErrRejected. Never both.
func TestTokenFetchFailuresAreClassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		login     http.HandlerFunc
		token     http.HandlerFunc
		refused   bool // nothing listens
		transient bool
	}{
		{"login hangs past the timeout", hang, nil, false, true},
		{"login 500", status(500, `{"status":"error","message":"Internal Server Error"}`), nil, false, true},
		{"login 502", status(502, `<html>Bad Gateway</html>`), nil, false, true},
		{"login 503", status(503, ``), nil, false, true},
		{"login 429", status(429, `{"status":"error","message":"Too Many Requests"}`), nil, false, true},
		{"connection refused", nil, nil, true, true},
		{"login 401 bad credentials", status(401, `{"status":"error","message":"Invalid email or password"}`), nil, false, false},
		{"login 403", status(403, `{"status":"error","message":"Forbidden"}`), nil, false, false},
		{"app token hangs", loginOK, hang, false, true},
		{"app token 502", loginOK, status(502, ``), false, true},
		{"app token 400 unknown app", loginOK, status(400, `{"status":"error","message":"Invalid App Details"}`), false, false},
		{"app token 401 after a new login", loginOK, status(401, `{"status":"error","message":"Authentication Failed"}`), false, false},
		{"app token 403", loginOK, status(403, `{"status":"error","message":"Forbidden"}`), false, false},
		{"app token answer without a token", loginOK, status(200, `{"status":"success"}`), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var base string
			if tt.refused {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				base = "http://" + l.Addr().String()
				l.Close()
			} else {
				srv := httptest.NewServer(gupshupTokens(tt.login, tt.token))
				t.Cleanup(srv.Close)
				base = srv.URL
			}
			api := upstream.New(upstream.Config{BaseURL: base, Timeout: 200 * time.Millisecond, DialTimeout: time.Second})
			tk := auth.NewTokens(api, auth.TokensConfig{Email: testEmail, Secret: testSecret})
			_, p1, _ := phones(t)

			_, err := tk.Token(context.Background(), p1)
			if err == nil {
				t.Fatal("Token succeeded")
			}
			if errors.Is(err, auth.ErrTransient) != tt.transient || errors.Is(err, auth.ErrRejected) == tt.transient {
				t.Errorf("Token: %v; transient %v, rejected %v; want transient %v",
					err, errors.Is(err, auth.ErrTransient), errors.Is(err, auth.ErrRejected), tt.transient)
			}
			_, ok, rerr := tk.Refresh(context.Background(), p1, "sk_old")
			if ok || errors.Is(rerr, auth.ErrTransient) != tt.transient || errors.Is(rerr, auth.ErrRejected) == tt.transient {
				t.Errorf("Refresh: ok %v, %v; want transient %v", ok, rerr, tt.transient)
			}
		})
	}
}

// TestTokenErrorsKeepTheirCause: the classification adds to the error; the
// cause (and its text, which "proxy subscribe" prints) stays.
func TestTokenErrorsKeepTheirCause(t *testing.T) {
	t.Parallel()
	api := newFakeAPI()
	api.loginErrs = []error{&statusError{401}}
	tk := newPartnerTokens(api, newFakeClock())
	_, p1, _ := phones(t)
	_, err := tk.Token(context.Background(), p1)
	var se *statusError
	if !errors.As(err, &se) || se.code != 401 || err.Error() != "auth: partner login: HTTP 401" {
		t.Errorf("err %q", err)
	}

	caller, cancel := context.WithCancel(context.Background())
	cancel()
	api.block = make(chan struct{})
	defer close(api.block)
	if _, err := tk.Token(caller, p1); !errors.Is(err, context.Canceled) || !errors.Is(err, auth.ErrTransient) {
		t.Errorf("caller gone: %v, want context.Canceled and ErrTransient", err)
	}

	noCreds := auth.NewTokens(nil, auth.TokensConfig{})
	if _, err := noCreds.Token(context.Background(), p1); !errors.Is(err, auth.ErrNoCredentials) || !errors.Is(err, auth.ErrRejected) {
		t.Errorf("no credentials: %v, want ErrNoCredentials and ErrRejected", err)
	}
}
