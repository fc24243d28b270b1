package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"waproxy/upstream"
)

// Simulated reports whether base_url is a simulated Gupshup: "embedded", or
// an http(s) URL on a loopback host (cmd/gupshup-sim, test servers). Only a
// simulated upstream accepts the public demo values (IsDemoValue) and lets
// public_url default to a loopback URL when listen binds all interfaces.
func (g GupshupConfig) Simulated() bool {
	if g.BaseURL == Embedded {
		return true
	}
	u, err := url.Parse(g.BaseURL)
	if err != nil || u.Host == "" {
		return false
	}
	return isLoopback(u.Hostname())
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LocalURL is the http URL at which a process on this host reaches a
// listener bound to listen: a host that binds all interfaces (empty,
// 0.0.0.0, ::) becomes 127.0.0.1. Port 0 (any free port) has no such URL.
func LocalURL(listen string) (string, error) {
	host, port, err := splitListen(listen)
	if err != nil {
		return "", err
	}
	if port == "0" {
		return "", fmt.Errorf("%q has port 0 (chosen at start-up): give the URL explicitly", listen)
	}
	if bindsAll(host) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// bindsAll reports whether a listen host means every interface.
func bindsAll(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// defaultPublicURL is public_url when the file leaves it empty: the listen
// address, except that an address binding all interfaces names no host
// clients can reach. With a simulated upstream it becomes a loopback URL;
// with a real Gupshup it stays empty and validation asks for public_url.
func (c *Config) defaultPublicURL() string {
	host, _, err := splitListen(c.Listen)
	if err != nil {
		return "" // validation reports listen
	}
	if !bindsAll(host) {
		return "http://" + c.Listen
	}
	if !c.Gupshup.Simulated() {
		return ""
	}
	u, _ := LocalURL(c.Listen)
	return u
}

// splitListen splits host:port and checks that the port is a number from 0
// to 65535.
func splitListen(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080 or :8080)", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", "", fmt.Errorf("%q has no port number from 0 to 65535", addr)
	}
	return host, port, nil
}

// checkListen validates a listen address under key.
func checkListen(key, addr string) error {
	if _, _, err := splitListen(addr); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// checkHTTPURL validates an absolute http(s) URL with a host under key.
func checkHTTPURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%s: %q must be an absolute http(s) URL with a host", key, raw)
	}
	return nil
}

// validateEndpoints checks listen, debug.pprof_listen and the URLs of the
// file (tls.listen is checked with the TLS keys, the tenants' webhook urls
// with each tenant).
func (c *Config) validateEndpoints() error {
	if err := checkListen("listen", c.Listen); err != nil {
		return err
	}
	if a := c.Debug.PprofListen; a != "" {
		if err := checkListen("debug.pprof_listen", a); err != nil {
			return err
		}
		if a == c.Listen || a == c.TLS.Listen {
			return fmt.Errorf("debug.pprof_listen: %q is already the API's address", a)
		}
	}
	if a := c.Metrics.Listen; a != "" {
		if err := checkListen("metrics.listen", a); err != nil {
			return err
		}
		// Port 0 (any free port) never collides.
		if _, port, _ := net.SplitHostPort(a); port != "0" {
			if a == c.Listen || a == c.TLS.Listen {
				return fmt.Errorf("metrics.listen: %q is already the API's address", a)
			}
			if a == c.Debug.PprofListen {
				return fmt.Errorf("metrics.listen: %q is already debug.pprof_listen", a)
			}
		}
	}
	if c.Gupshup.BaseURL != Embedded {
		if err := checkHTTPURL("gupshup.base_url", c.Gupshup.BaseURL); err != nil {
			return fmt.Errorf("%w, or %q for the built-in simulator", err, Embedded)
		}
	}
	for i, h := range c.Gupshup.MediaHosts {
		if _, _, err := upstream.ParseMediaHost(h); err != nil {
			return fmt.Errorf("gupshup.media_hosts[%d]: %q: want a host name (filemanager.gupshup.io) or *.suffix (*.gupshup.io)", i, h)
		}
	}
	if c.PublicURL == "" {
		return fmt.Errorf("public_url: required when listen (%q) binds all interfaces and gupshup.base_url is a real Gupshup: "+
			"media URLs must name the host clients reach (e.g. https://wa.example.com; PROXY_PUBLIC_URL in the shipped files)", c.Listen)
	}
	if err := checkHTTPURL("public_url", c.PublicURL); err != nil {
		return err
	}
	return nil
}
