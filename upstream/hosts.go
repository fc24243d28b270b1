package upstream

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// hostPolicy says which URLs may receive Gupshup credentials (an app or
// partner token): the base URL's own origin (scheme and host:port, so a
// loopback simulator over http qualifies), and over https the media hosts
// of Config.MediaHosts.
type hostPolicy struct {
	baseScheme, baseHost string
	exact                map[string]bool
	suffixes             []string // ".gupshup.io" for "*.gupshup.io"
}

// newHostPolicy builds the policy; entries ParseMediaHost rejects are
// skipped (the configuration is validated with ParseMediaHost first).
func newHostPolicy(base string, mediaHosts []string) *hostPolicy {
	p := &hostPolicy{exact: map[string]bool{}}
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		p.baseScheme, p.baseHost = strings.ToLower(u.Scheme), canonHost(u)
	}
	for _, h := range mediaHosts {
		name, wildcard, err := ParseMediaHost(h)
		if err != nil {
			continue
		}
		if wildcard {
			p.suffixes = append(p.suffixes, "."+name)
		} else {
			p.exact[name] = true
		}
	}
	return p
}

// ParseMediaHost checks one Config.MediaHosts entry: an exact host name
// ("filemanager.gupshup.io") or a wildcard for its subdomains
// ("*.gupshup.io", which does not match gupshup.io itself). It returns the
// lower-cased name without the "*." and whether it was a wildcard.
func ParseMediaHost(entry string) (name string, wildcard bool, err error) {
	name = strings.ToLower(strings.TrimSpace(entry))
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		name, wildcard = rest, true
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" || strings.ContainsAny(name, "*/:@?#[] ") || strings.HasPrefix(name, ".") || strings.Contains(name, "..") {
		return "", false, fmt.Errorf("upstream: media host %q: want a host name (filemanager.gupshup.io) or *.suffix (*.gupshup.io)", entry)
	}
	if wildcard && !strings.Contains(name, ".") {
		return "", false, fmt.Errorf("upstream: media host %q: a wildcard needs a domain with a dot (*.gupshup.io)", entry)
	}
	return name, wildcard, nil
}

// allows reports whether u may receive credentials.
func (p *hostPolicy) allows(u *url.URL) bool {
	scheme := strings.ToLower(u.Scheme)
	if p.baseHost != "" && scheme == p.baseScheme && canonHost(u) == p.baseHost {
		return true
	}
	if scheme != "https" {
		return false
	}
	name := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if p.exact[name] {
		return true
	}
	for _, s := range p.suffixes {
		if len(name) > len(s) && strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// canonHost is u's host:port in lower case without the scheme's default
// port.
func canonHost(u *url.URL) string {
	host := strings.ToLower(u.Host)
	switch {
	case strings.EqualFold(u.Scheme, "https"):
		host = strings.TrimSuffix(host, ":443")
	case strings.EqualFold(u.Scheme, "http"):
		host = strings.TrimSuffix(host, ":80")
	}
	return host
}

// checkRedirect is the redirect policy of media downloads. Go copies the
// Authorization header to a redirect whose host name equals or is a
// subdomain of the first one's, whatever the port or scheme; this policy
// is stricter: the header goes only to the very host (scheme, name and
// port) of the first request, and only while no hop has left it, so a
// chain that visits another host and comes back carries no credentials
// either. A redirect from https to http is refused.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("upstream: stopped after %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: redirect to %q", ErrBadURL, req.URL.Scheme+":")
	}
	prev := via[len(via)-1].URL
	if strings.EqualFold(prev.Scheme, "https") && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: redirect from https to %s", ErrBadURL, req.URL.Scheme)
	}
	first := via[0].URL
	same := func(u *url.URL) bool {
		return strings.EqualFold(u.Scheme, first.Scheme) && canonHost(u) == canonHost(first)
	}
	keep := same(req.URL)
	for _, r := range via[1:] {
		keep = keep && same(r.URL)
	}
	if !keep {
		req.Header.Del("Authorization")
	}
	return nil
}
