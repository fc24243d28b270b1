package webhook

import (
	"errors"
	"io"
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
	body, err := readAll(http.MaxBytesReader(w, req.Body, r.opt.MaxBodyBytes), req.ContentLength)
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

// readAll reads a body; with a Content-Length the buffer is allocated once
// at that size instead of growing by doubling.
func readAll(rd io.Reader, contentLength int64) ([]byte, error) {
	if contentLength <= 0 {
		return io.ReadAll(rd)
	}
	buf := make([]byte, 0, contentLength+1) // +1: the EOF read needs no growth
	for {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			// More than Content-Length said: the reader's limit decides.
			rest, err := io.ReadAll(rd)
			return append(buf, rest...), err
		}
	}
}

// MaxBodyBytes is the largest callback body the intake takes.
func (r *Relay) MaxBodyBytes() int64 { return r.opt.MaxBodyBytes }
