package bodybudget

import "io"

// ReadAll reads a request body into one buffer. With a Content-Length
// (within max) the buffer is allocated once at that size instead of
// growing by doubling; a reader that gives more than it said decides by
// its own limit (http.MaxBytesReader).
func ReadAll(r io.Reader, contentLength, max int64) ([]byte, error) {
	if contentLength <= 0 || contentLength > max {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, contentLength+1) // +1: the EOF read needs no growth
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			// More than Content-Length said: let the reader's limit decide.
			rest, err := io.ReadAll(r)
			return append(buf, rest...), err
		}
	}
}
