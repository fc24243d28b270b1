// Command gupshup-sim serves a simulated Gupshup Partner API (see package
// waproxy/gupshupsim) with one app, for demos and manual testing.
//
// Example:
//
//	gupshup-sim -listen 127.0.0.1:9090
//	curl -s -X POST localhost:9090/partner/account/login \
//	     -d email=partner@example.com -d password=sim-secret
//
// Subscribe a callback URL, send, and simulate a user's reply:
//
//	curl -s -X POST localhost:9090/partner/app/sim-app-1/subscription \
//	     -H 'Authorization: sk_sim_app_token_1' \
//	     -d url=http://127.0.0.1:8080/gupshup/callback -d tag=demo -d version=3 \
//	     -d modes=MESSAGE,ENQUEUED,SENT,DELIVERED,READ,FAILED \
//	     --data-urlencode 'meta={"headers":{"X-Waproxy-Secret":"s"}}'
//	curl -s -X POST localhost:9090/sim/apps/sim-app-1/inbound \
//	     -d '{"from":"919876543210","name":"Asha","text":"Hi"}'
//
// Upload media, download it, mark a message read:
//
//	curl -s -X POST localhost:9090/partner/app/sim-app-1/media \
//	     -H 'Authorization: sk_sim_app_token_1' \
//	     -F file_type=image/jpeg -F file=@photo.jpg\;type=image/jpeg
//	curl -s -o out.jpg localhost:9090/partner/app/sim-app-1/media/<mediaId> \
//	     -H 'Authorization: sk_sim_app_token_1'
//	curl -s -X POST localhost:9090/partner/app/sim-app-1/v1/event \
//	     -H 'Authorization: sk_sim_app_token_1' -H 'Content-Type: application/json' \
//	     -d '{"type":"message-event","message":{"messaging_product":"whatsapp","status":"read","message_id":"<wamid>"}}'
//
// Create a flow, upload its flow JSON, publish it, fetch its assets (the
// download_url points back at this server) and a preview URL:
//
//	curl -s -X POST localhost:9090/partner/app/sim-app-1/flows \
//	     -H 'Authorization: sk_sim_app_token_1' -H 'Content-Type: application/json' \
//	     -d '{"name":"Sign up","categories":["SIGN_UP"]}'
//	curl -s -X PUT localhost:9090/partner/app/sim-app-1/flows/<flowId>/assets \
//	     -H 'Authorization: sk_sim_app_token_1' -F file=@flow.json\;type=application/json
//	curl -s -X POST localhost:9090/partner/app/sim-app-1/flows/<flowId>/publish \
//	     -H 'Authorization: sk_sim_app_token_1' -H 'Content-Type: application/json' -d '{}'
//	curl -s localhost:9090/partner/app/sim-app-1/flows/<flowId>/assets \
//	     -H 'Authorization: sk_sim_app_token_1'
//	curl -s localhost:9090/partner/app/sim-app-1/flows/<flowId>/preview \
//	     -H 'Authorization: sk_sim_app_token_1'
//
// The app has three demo templates (logged at startup with their ids, the
// same on every run for one -app-id): sim_order_update (TEXT, body "Hi {{1}},
// your order {{2}} has shipped. Did it arrive on time?", quick replies Yes
// and No), sim_offer_image (an IMAGE header, body "Hi {{1}}, this week's
// offer is in the picture.", a footer and a URL button) and
// sim_product_carousel (CAROUSEL, body "Our picks for you, {{1}}.", each card
// with a quick reply Interested and a URL button Buy). List them, send one
// through the v2 template API (source is the display number logged at
// startup), and reply to it with a quick reply, which the callback reports
// with the postbackText registered for that button:
//
//	curl -s 'localhost:9090/partner/app/sim-app-1/templates?elementName=sim_order_update' \
//	     -H 'Authorization: sk_sim_app_token_1'
//	curl -s -X POST localhost:9090/partner/app/sim-app-1/template/msg \
//	     -H 'Authorization: sk_sim_app_token_1' \
//	     --data-urlencode channel=whatsapp --data-urlencode source=<display number> \
//	     --data-urlencode src.name=SimApp --data-urlencode destination=919876543210 \
//	     --data-urlencode 'template={"id":"<template id>","params":["Asha","A-1001"]}' \
//	     --data-urlencode 'postbackTexts=[{"index":0,"text":"arrived"},{"index":1,"text":"late"}]'
//	curl -s -X POST localhost:9090/sim/apps/sim-app-1/inbound \
//	     -d '{"from":"919876543210","type":"button","text":"Yes","contextGsId":"<messageId>"}'
//
// Each callback attempt is logged unless -quiet is given.
//
// For load tests, -fast answers every POST to
// /partner/app/{appId}/v3/message and to Meta's /{version}/{phone}/messages
// with one canned success, without authentication, recording or callbacks
// (package gupshupsim, "Fast mode"); it implies -quiet. bench/run uses it:
//
//	gupshup-sim -fast -no-callbacks -listen 127.0.0.1:9090
//	curl -s -X POST localhost:9090/v23.0/100000000000001/messages -d '{}'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"waproxy/gupshupsim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9090", "address to listen on")
	appID := flag.String("app-id", "sim-app-1", "Gupshup app id")
	appName := flag.String("app-name", "SimApp", "Gupshup app name")
	appToken := flag.String("app-token", "sk_sim_app_token_1", "app token accepted on app-level calls")
	email := flag.String("partner-email", gupshupsim.DefaultPartnerEmail, "partner login email")
	secret := flag.String("partner-secret", gupshupsim.DefaultPartnerSecret, "partner login secret")
	noRateLimit := flag.Bool("no-rate-limit", false, "disable the login and app token rate limits")
	mediaRateLimits := flag.Bool("media-rate-limits", false, "enforce Gupshup's media limits (5 downloads and 10 deletes per hour per app)")
	notCAPI := flag.Bool("not-capi", false, "make the app a non-Cloud-API app (media uploads answer 400)")
	quiet := flag.Bool("quiet", false, "do not log each request and callback")
	phoneNumberID := flag.String("phone-number-id", "", "phone_number_id in v3 callbacks (default: derived from the app id)")
	displayPhone := flag.String("display-phone-number", "", "display_phone_number in v3 callbacks (default: derived from the app id)")
	wabaID := flag.String("waba-id", "", "WABA id (entry[].id) in v3 callbacks (default: derived from the app id)")
	statusSeq := flag.String("status-sequence", strings.Join(gupshupsim.DefaultStatusSequence, ","),
		"statuses emitted after each send, comma-separated ("+strings.Join(knownStatuses, ", ")+")")
	interval := flag.Duration("callback-interval", gupshupsim.DefaultCallbackInterval, "delay between the statuses of a message")
	cbTimeout := flag.Duration("callback-timeout", gupshupsim.DefaultCallbackTimeout, "time a callback receiver has to answer 2xx")
	retryDelay := flag.Duration("callback-retry-delay", gupshupsim.DefaultCallbackRetryDelay, "wait before retrying a failed callback")
	retries := flag.Int("callback-retries", gupshupsim.DefaultCallbackRetries, "retries of a failed callback (0: none)")
	noCallbacks := flag.Bool("no-callbacks", false, "do not emit callbacks")
	fast := flag.Bool("fast", false, "load-test mode: answer every POST to /partner/app/{appId}/v3/message and /{version}/{phone}/messages with one canned success, unchecked and unrecorded; implies -quiet")
	mediaBase := flag.String("media-base-url", "", "base of inbound media urls (default https://filemanager.gupshup.io; set it to this server's URL to download them) and, when set, of flow asset download urls (default: the request's host)")
	flag.Parse()
	if *fast {
		*quiet = true
	}

	logger := log.New(os.Stderr, "gupshup-sim: ", log.LstdFlags)
	seq, err := parseStatuses(*statusSeq)
	if err != nil {
		logger.Fatal(err)
	}
	if *retries < 0 {
		logger.Fatal("-callback-retries must be 0 or more")
	}
	simRetries := *retries
	if simRetries == 0 {
		simRetries = -1 // Options: 0 means the default, negative means none
	}
	opts := gupshupsim.Options{
		Apps: []gupshupsim.App{{ID: *appID, Name: *appName, Token: *appToken,
			PhoneNumberID: *phoneNumberID, DisplayPhoneNumber: *displayPhone, WABAID: *wabaID, NotCAPI: *notCAPI}},
		PartnerEmail:       *email,
		PartnerSecret:      *secret,
		DisableRateLimits:  *noRateLimit,
		MediaRateLimits:    *mediaRateLimits,
		DisableCallbacks:   *noCallbacks,
		StatusSequence:     seq,
		CallbackInterval:   *interval,
		CallbackTimeout:    *cbTimeout,
		CallbackRetryDelay: *retryDelay,
		CallbackRetries:    simRetries,
		MediaBaseURL:       *mediaBase,
		Templates:          demoTemplates(*appID),
		Fast:               *fast,
	}
	if !*quiet {
		opts.OnCallback = func(c gupshupsim.Callback) {
			outcome := fmt.Sprint(c.Status)
			if c.Err != "" {
				outcome = c.Err
			}
			logger.Printf("callback v%d subscription %s -> %s: %s (%d bytes)", c.Version, c.SubscriptionID, c.URL, outcome, len(c.Body))
		}
	}
	if err := run(logger, *listen, *quiet, opts); err != nil {
		logger.Fatal(err)
	}
}

// demoTemplates are the app's templates: a text one with two body params
// and two quick replies, an image-header one and a carousel.
func demoTemplates(appID string) []gupshupsim.Template {
	return []gupshupsim.Template{
		{AppID: appID, ElementName: "sim_order_update", Category: "UTILITY",
			Data:    "Hi {{1}}, your order {{2}} has shipped. Did it arrive on time?",
			Buttons: []gupshupsim.TemplateButton{{Type: "QUICK_REPLY", Text: "Yes"}, {Type: "QUICK_REPLY", Text: "No"}}},
		{AppID: appID, ElementName: "sim_offer_image", TemplateType: "IMAGE",
			Data: "Hi {{1}}, this week's offer is in the picture.", Footer: "Reply STOP to opt out",
			Buttons: []gupshupsim.TemplateButton{{Type: "URL", Text: "Shop now", URL: "https://example.com/shop"}}},
		{AppID: appID, ElementName: "sim_product_carousel", TemplateType: "CAROUSEL",
			Data: "Our picks for you, {{1}}.",
			Buttons: []gupshupsim.TemplateButton{{Type: "QUICK_REPLY", Text: "Interested"},
				{Type: "URL", Text: "Buy", URL: "https://example.com/buy"}}},
	}
}

// knownStatuses are the names -status-sequence accepts.
var knownStatuses = []string{"enqueued", "sent", "delivered", "read", "failed"}

// parseStatuses splits a comma list of statuses and checks the names.
func parseStatuses(list string) ([]string, error) {
	var out []string
	for _, st := range strings.Split(list, ",") {
		st = strings.ToLower(strings.TrimSpace(st))
		if st == "" {
			continue
		}
		if !slices.Contains(knownStatuses, st) {
			return nil, fmt.Errorf("-status-sequence: unknown status %q (known: %s)", st, strings.Join(knownStatuses, ", "))
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, errors.New("-status-sequence: no status given (use -no-callbacks to turn callbacks off)")
	}
	return out, nil
}

func run(logger *log.Logger, addr string, quiet bool, opts gupshupsim.Options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	sim := gupshupsim.New(opts)
	defer sim.Close()
	var handler http.Handler = sim
	if !quiet {
		handler = logRequests(logger, sim)
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
	}
	app, _ := sim.App(opts.Apps[0].ID)
	if opts.Fast {
		logger.Print("fast mode: sends are answered with a canned success, unchecked and unrecorded")
	}
	logger.Printf("listening on http://%s (app id %q, app token %q, partner email %q, phone_number_id %q, display number %q, WABA id %q)",
		ln.Addr(), app.ID, app.Token, opts.PartnerEmail, app.PhoneNumberID, app.DisplayPhoneNumber, app.WABAID)
	for _, t := range sim.Templates(app.ID) {
		logger.Printf("template %s (%s, %s): id %s", t.ElementName, t.LanguageCode, t.TemplateType, t.ID)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Print("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// statusRecorder captures the response status for logging.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func logRequests(logger *log.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		logger.Printf("%s %s -> %d (%s)", r.Method, r.URL.Path, rec.status, time.Since(start).Round(time.Microsecond))
	})
}
