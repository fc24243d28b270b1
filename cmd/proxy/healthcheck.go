package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"waproxy/config"
)

// defaultHealthTimeout bounds one health check.
const defaultHealthTimeout = 3 * time.Second

func setupHealthcheck(fs *flag.FlagSet) action {
	path := configFlag(fs)
	target := fs.String("url", "", "the proxy's base `URL`, or the full URL to GET (default: from the config's listen)")
	timeout := fs.Duration("timeout", defaultHealthTimeout, "give up after `D`")
	return func(ctx context.Context, c *cli) error {
		if *timeout <= 0 {
			return usageError(nil, "-timeout: %s is not a positive duration", *timeout)
		}
		base := *target
		if base == "" {
			cfg, err := config.Load(*path)
			if err != nil {
				return err
			}
			if base, err = config.LocalURL(cfg.Listen); err != nil {
				return fmt.Errorf("listen: %w", err)
			}
		}
		u, err := healthzURL(base)
		if err != nil {
			return usageError(nil, "-url: %v", err)
		}
		return healthcheck(ctx, u, *timeout, c.stdout)
	}
}

// healthzURL is base's /healthz, or base itself when it has a path.
func healthzURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", base)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/healthz"
	}
	return u.String(), nil
}

// healthcheck GETs u and succeeds on HTTP 200 within timeout.
func healthcheck(ctx context.Context, u string, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// Straight to the proxy: no HTTP_PROXY, no connection kept.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: HTTP %d", u, resp.StatusCode)
	}
	fmt.Fprintf(stdout, "healthy: GET %s: HTTP 200\n", u)
	return nil
}
