package webhook

import (
	"errors"
	"net/http"

	"waproxy/internal/bodybudget"
)

// intakeStatus is the answer to a callback whose body was not read.
var intakeStatus = map[string]int{
	"too_large":  http.StatusRequestEntityTooLarge,
	"busy":       http.StatusServiceUnavailable,
	"unreadable": http.StatusBadRequest,
}

// readBody reads a callback body, or returns the intake result for why it
// did not. A Content-Length over the limit is refused before anything is
// read (a sender that asked "Expect: 100-continue" gets no 100 Continue);
// a longer chunked body is refused as it is read. Either way the
// connection is closed after the answer, as the rest of the body is not
// read. A body the server's memory budget cannot take (server.
// max_buffered_bytes) is answered busy: 503 with Retry-After, so Gupshup
// sends it again.
func (r *Relay) readBody(w http.ResponseWriter, req *http.Request) ([]byte, string) {
	if req.ContentLength > r.opt.MaxBodyBytes {
		w.Header().Set("Connection", "close")
		return nil, "too_large"
	}
	body, err := bodybudget.ReadAll(http.MaxBytesReader(w, req.Body, r.opt.MaxBodyBytes), req.ContentLength, r.opt.MaxBodyBytes)
	if err == nil {
		return body, ""
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		w.Header().Set("Connection", "close")
		return nil, "too_large"
	case errors.Is(err, bodybudget.ErrExhausted):
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "1")
		return nil, "busy"
	}
	return nil, "unreadable"
}

// MaxBodyBytes is the largest callback body the intake takes.
func (r *Relay) MaxBodyBytes() int64 { return r.opt.MaxBodyBytes }
