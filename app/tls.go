package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"

	"waproxy/config"
)

// TLSServerConfig returns the TLS settings of the HTTPS listener: the key
// pair of tls.cert_file and tls.key_file (loaded once, here), TLS 1.2 or
// later, and ALPN offering h2 and http/1.1 as net/http does by default.
func TLSServerConfig(cfg *config.Config) (*tls.Config, error) {
	if !cfg.TLS.Enabled() {
		return nil, errors.New("tls.listen: not set")
	}
	cert, err := cfg.TLS.Certificate()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// TLSListener opens the HTTPS listener on tls.listen (see TLSServerConfig).
// Serve the proxy's handler on it with an http.Server; its connections
// speak HTTP/2 or HTTP/1.1 as the client negotiates.
func TLSListener(cfg *config.Config) (net.Listener, error) {
	tc, err := TLSServerConfig(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.TLS.Listen)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("tls.listen: %w (ports below 1024 need root or CAP_NET_BIND_SERVICE)", err)
		}
		return nil, fmt.Errorf("tls.listen: %w", err)
	}
	return tls.NewListener(ln, tc), nil
}
