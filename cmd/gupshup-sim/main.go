// Command gupshup-sim serves a simulated Gupshup Partner API (see package
// waproxy/gupshupsim) with one app, for demos and manual testing.
//
// Example:
//
//	gupshup-sim -listen 127.0.0.1:9090
//	curl -s -X POST localhost:9090/partner/account/login \
//	     -d email=partner@example.com -d password=sim-secret
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
	quiet := flag.Bool("quiet", false, "do not log each request")
	flag.Parse()

	logger := log.New(os.Stderr, "gupshup-sim: ", log.LstdFlags)
	if err := run(logger, *listen, *quiet, gupshupsim.Options{
		Apps:              []gupshupsim.App{{ID: *appID, Name: *appName, Token: *appToken}},
		PartnerEmail:      *email,
		PartnerSecret:     *secret,
		DisableRateLimits: *noRateLimit,
	}); err != nil {
		logger.Fatal(err)
	}
}

func run(logger *log.Logger, addr string, quiet bool, opts gupshupsim.Options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	sim := gupshupsim.New(opts)
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
	logger.Printf("listening on http://%s (app id %q, app token %q, partner email %q)",
		ln.Addr(), opts.Apps[0].ID, sim.AppToken(opts.Apps[0].ID), opts.PartnerEmail)

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
