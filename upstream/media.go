package upstream

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBadURL is returned by FetchURL for a URL that is not an absolute http
// or https URL. Nothing was sent.
var ErrBadURL = errors.New("upstream: URL not allowed")

// ErrMediaFile wraps failures of the file itself during UploadMedia and
// UpdateFlowJSON: MediaFile.Open is nil or failed, MimeType is not a media
// type, reading failed, or the file did not have MediaFile.Size bytes. The
// upload was not completed, so Gupshup stored nothing.
var ErrMediaFile = errors.New("upstream: media file")

// maxErrorBody bounds how much of a non-2xx media answer is read into a
// StatusError.
const maxErrorBody = 64 << 10

// maxRedirects is how many redirects media downloads follow.
const maxRedirects = 5

// MediaFile is a file to upload. Open is called once per attempt (a failed
// dial is retried with a fresh reader), so it must return the file from its
// beginning every time, e.g. by opening a spooled temp file again.
type MediaFile struct {
	// Name is the part's filename. Default "file" (UpdateFlowJSON:
	// "flow.json").
	Name string
	// MimeType is the file's media type, e.g. "image/jpeg" or
	// "audio/ogg; codecs=opus". Required by UploadMedia (UpdateFlowJSON:
	// default "application/json"). The part's Content-Type carries it as
	// given (normalised); UploadMedia's file_type field carries the bare type
	// without parameters ("audio/ogg").
	MimeType string
	// Size is the exact file length in bytes, or -1 when unknown. A known
	// size sends a Content-Length and the file must then have exactly Size
	// bytes (0 means an empty file); an unknown size sends the body chunked.
	Size int64
	// Open returns the file's content from its start. Required. The reader
	// is closed when the attempt ends.
	Open func() (io.ReadCloser, error)
}

// SendEvent posts a read receipt or typing indicator:
// POST /partner/app/{appID}/v1/event with Content-Type application/json and
// the body {"type":"message-event","message":<message>}, where message is the
// client's Meta JSON copied unchanged (it must be a JSON object; nothing is
// sent otherwise). Any HTTP
// answer is returned as a Response, like SendMessage; transport failures
// wrap ErrNotSent or ErrNoAnswer. Config.Timeout bounds the call.
func (c *Client) SendEvent(ctx context.Context, appID, appToken string, message []byte) (*Response, error) {
	message = bytes.TrimSpace(message)
	if len(message) == 0 || message[0] != '{' || !json.Valid(message) {
		return nil, errors.New("upstream: SendEvent: message is not a JSON object")
	}
	body := make([]byte, 0, len(message)+40)
	body = append(body, `{"type":"message-event","message":`...)
	body = append(body, message...)
	body = append(body, '}')
	return c.do(ctx, http.MethodPost, "/partner/app/"+url.PathEscape(appID)+"/v1/event",
		appToken, "application/json", body)
}

// DeleteMedia is DELETE /partner/app/{appID}/media/{mediaID}. Any HTTP answer
// is returned as a Response; Config.Timeout bounds the call.
func (c *Client) DeleteMedia(ctx context.Context, appID, appToken, mediaID string) (*Response, error) {
	return c.do(ctx, http.MethodDelete, mediaPath(appID, mediaID), appToken, "", nil)
}

// UploadMedia is POST /partner/app/{appID}/media with a multipart/form-data
// body: the field "file_type" (the bare media type), then the part "file"
// (filename file.Name, Content-Type file.MimeType, the file's bytes). The
// file is streamed, never held in memory. Any HTTP answer is returned as a
// Response (Gupshup answers {"mediaId":"…","status":"success"}).
//
// Timing: the caller's ctx bounds the whole call; Config.Timeout bounds only
// the wait for the answer's headers once the body was fully sent. Retries:
// a failed dial (nothing sent) is retried with a reader from a new
// file.Open call; nothing is retried once the request headers were written
// (ErrNoAnswer). Failures of the file wrap ErrMediaFile.
func (c *Client) UploadMedia(ctx context.Context, appID, appToken string, file MediaFile) (*Response, error) {
	const op = "UploadMedia"
	mt, partType, err := fileTypes(op, file)
	if err != nil {
		return nil, err
	}
	return c.uploadFile(ctx, multipartUpload{
		op: op, method: http.MethodPost, path: mediaPath(appID, ""), token: appToken,
		fields: [][2]string{{"file_type", mt}}, fileField: "file", defaultName: "file", partType: partType,
		file: file,
	})
}

// fileTypes checks file's Open and MimeType and returns the bare media type
// and the part's Content-Type (the type with its parameters, normalised).
func fileTypes(op string, file MediaFile) (mt, partType string, err error) {
	if file.Open == nil {
		return "", "", fmt.Errorf("%w: %s: Open is nil", ErrMediaFile, op)
	}
	mt, params, err := mime.ParseMediaType(file.MimeType)
	if err != nil {
		return "", "", fmt.Errorf("%w: %s: bad MimeType %q: %v", ErrMediaFile, op, file.MimeType, err)
	}
	partType = mime.FormatMediaType(mt, params)
	if partType == "" {
		return "", "", fmt.Errorf("%w: %s: bad MimeType %q", ErrMediaFile, op, file.MimeType)
	}
	return mt, partType, nil
}

// multipartUpload is a multipart/form-data call carrying plain fields, then
// one file part.
type multipartUpload struct {
	op           string // method name, for errors
	method, path string
	token        string
	fields       [][2]string // name, value; sent first, in order
	fileField    string      // the file part's name
	defaultName  string      // the filename when file.Name is empty
	partType     string      // the file part's Content-Type
	file         MediaFile
}

// uploadFile streams a multipart upload: the framing is built once, the
// file is read from a fresh file.Open per attempt and never held in memory.
// The caller's ctx bounds the whole call; Config.Timeout bounds only the
// wait for the answer's headers once the body was sent. A failed dial is
// retried with a new reader; nothing is retried once the request headers
// were written. Failures of the file wrap ErrMediaFile. Any HTTP answer is
// returned as a Response.
func (c *Client) uploadFile(ctx context.Context, u multipartUpload) (*Response, error) {
	file := u.file
	name := file.Name
	if name == "" {
		name = u.defaultName
	}
	boundary := randomBoundary()
	var head, tail bytes.Buffer
	sw := &switchWriter{w: &head}
	mw := multipart.NewWriter(sw)
	if err := mw.SetBoundary(boundary); err != nil {
		return nil, fmt.Errorf("upstream: %s: %w", u.op, err)
	}
	for _, f := range u.fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, fmt.Errorf("upstream: %s: %w", u.op, err)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", multipart.FileContentDisposition(u.fileField, name))
	h.Set("Content-Type", u.partType)
	if _, err := mw.CreatePart(h); err != nil {
		return nil, fmt.Errorf("upstream: %s: %w", u.op, err)
	}
	sw.w = &tail
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("upstream: %s: %w", u.op, err)
	}
	length := int64(-1)
	if file.Size >= 0 {
		length = int64(head.Len()) + file.Size + int64(tail.Len())
	}
	var fileErr atomic.Pointer[error]
	open := func() (io.ReadCloser, error) {
		rc, err := file.Open()
		if err != nil {
			err = fmt.Errorf("%w: opening: %w", ErrMediaFile, err)
			fileErr.Store(&err)
			return nil, err
		}
		mb := &multiBody{c: rc}
		fr := &fileReader{rc: rc, size: file.Size, fail: &fileErr, closed: &mb.closed}
		mb.Reader = io.MultiReader(bytes.NewReader(head.Bytes()), fr, bytes.NewReader(tail.Bytes()))
		return mb, nil
	}
	resp, err := c.stream(ctx, streamRequest{
		method:      u.method,
		target:      c.base + u.path,
		token:       u.token,
		contentType: mw.FormDataContentType(),
		open:        open,
		length:      length,
		fileErr:     &fileErr,
		accept:      "application/json",
	})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: reading answer: %w", ErrNoAnswer, u.method, u.path, err)
	}
	return &Response{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"), Body: b}, nil
}

// DownloadMedia is GET /partner/app/{appID}/media/{mediaID}. On a 2xx answer
// it returns the response with its body unread: the caller streams it and
// must close it. Other answers become *StatusError (body read, at most
// 64 KiB). Config.Timeout bounds the wait for the answer's headers; the body
// streams under ctx. Failed dials are retried; up to 5 redirects are
// followed, the token only while they stay on the base URL's host (see
// checkRedirect).
func (c *Client) DownloadMedia(ctx context.Context, appID, appToken, mediaID string) (*http.Response, error) {
	return c.download(ctx, c.base+mediaPath(appID, mediaID), appToken)
}

// FetchURL is GET rawURL, for the media url of a webhook (Gupshup's
// filemanager) or a flow asset's download_url. Only absolute http and https
// URLs without user info are fetched; others fail with ErrBadURL without
// sending anything.
//
// appToken, when not empty, is sent as the Authorization header only to a
// host that may receive credentials: the base URL's own scheme and host,
// or over https a host of Config.MediaHosts. Another https URL is fetched
// without the header (Gupshup may serve media elsewhere, and its media
// URLs are not known to need it); another http URL fails with ErrBadURL
// without sending anything. Redirects never carry the header past a change
// of host and never go from https to http (see checkRedirect). The answer
// follows DownloadMedia's contract.
func (c *Client) FetchURL(ctx context.Context, rawURL, appToken string) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q (want an absolute http or https URL)", ErrBadURL, redact(rawURL))
	}
	if u.User != nil {
		// Not quoted: user info may hold a password.
		return nil, fmt.Errorf("%w: a URL with user info", ErrBadURL)
	}
	if !c.hosts.allows(u) {
		if u.Scheme != "https" {
			return nil, fmt.Errorf("%w: %s: plain http to a host that is not Gupshup's", ErrBadURL, redact(rawURL))
		}
		appToken = ""
	}
	// The URL is sent as given, not re-encoded: it may be signed.
	return c.download(ctx, rawURL, appToken)
}

func (c *Client) download(ctx context.Context, target, token string) (*http.Response, error) {
	resp, err := c.stream(ctx, streamRequest{method: http.MethodGet, target: target, token: token, follow: true, accept: "*/*"})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil {
			return nil, fmt.Errorf("%w: GET %s: reading answer: %w", ErrNoAnswer, redact(target), err)
		}
		return nil, &StatusError{Status: resp.StatusCode, Body: b}
	}
	return resp, nil
}

// streamRequest is one media call.
type streamRequest struct {
	method, target, token string
	contentType           string
	// open returns a fresh body for each attempt; nil means no body.
	open func() (io.ReadCloser, error)
	// length is the body's Content-Length, -1 when unknown.
	length int64
	// fileErr is set by the body when the file failed.
	fileErr *atomic.Pointer[error]
	// follow makes the call follow redirects.
	follow bool
	// accept is the Accept header.
	accept string
}

// stream performs a media call: only failed dials (nothing sent) are
// retried, and only when the body can be opened again.
func (c *Client) stream(ctx context.Context, sr streamRequest) (*http.Response, error) {
	return retryDials(ctx, c.dials, func() (*http.Response, error) { return c.streamOnce(ctx, sr) })
}

// streamOnce performs one attempt. The answer's headers must arrive within
// c.timeout of the request being fully written; after that the body is
// bounded by ctx only. On success the returned body releases the attempt's
// context when closed.
func (c *Client) streamOnce(ctx context.Context, sr streamRequest) (*http.Response, error) {
	ctx, cancel := context.WithCancel(ctx)
	hw := &headerWait{timeout: c.timeout, cancel: cancel}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) { hw.start() },
	}
	var body io.ReadCloser
	if sr.open != nil {
		var err error
		if body, err = sr.open(); err != nil {
			cancel()
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), sr.method, sr.target, body)
	if err != nil {
		if body != nil {
			body.Close()
		}
		cancel()
		return nil, fmt.Errorf("upstream: %w", err)
	}
	if body != nil {
		req.ContentLength = sr.length
		req.GetBody = sr.open
	}
	if sr.token != "" {
		req.Header.Set("Authorization", sr.token)
	}
	if sr.contentType != "" {
		req.Header.Set("Content-Type", sr.contentType)
	}
	req.Header.Set("Accept", sr.accept)
	hc := c.hc
	if sr.follow {
		hc = c.follow
	}
	resp, err := hc.Do(req)
	timedOut := hw.done()
	what := sr.method + " " + redact(sr.target)
	if err != nil {
		cancel()
		if sr.fileErr != nil {
			if fe := sr.fileErr.Load(); fe != nil {
				return nil, *fe
			}
		}
		if timedOut {
			return nil, fmt.Errorf("%w: %s: no answer within %s: %w", ErrNoAnswer, what, c.timeout, context.DeadlineExceeded)
		}
		if !wrote.Load() {
			return nil, fmt.Errorf("%w: %s: %w", ErrNotSent, what, err)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrNoAnswer, what, err)
	}
	if timedOut {
		// The deadline passed just as the headers arrived; the context is
		// canceled, so the body could not be read.
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %s: no answer within %s: %w", ErrNoAnswer, what, c.timeout, context.DeadlineExceeded)
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// headerWait cancels a call whose answer headers do not arrive within
// timeout of the request being written.
type headerWait struct {
	timeout time.Duration
	cancel  context.CancelFunc

	mu    sync.Mutex
	t     *time.Timer
	state int // 0 waiting, 1 headers arrived (or call ended), 2 timed out
}

// start (re)starts the wait; called each time a request (or redirect) was
// fully written.
func (h *headerWait) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state != 0 {
		return
	}
	if h.t == nil {
		h.t = time.AfterFunc(h.timeout, h.fire)
		return
	}
	h.t.Reset(h.timeout)
}

func (h *headerWait) fire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state == 0 {
		h.state = 2
		h.cancel()
	}
}

// done stops the wait and reports whether it timed out.
func (h *headerWait) done() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.t != nil {
		h.t.Stop()
	}
	if h.state == 0 {
		h.state = 1
	}
	return h.state == 2
}

// cancelBody releases the call's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// multiBody is the multipart body of one attempt; closing it closes the
// file.
type multiBody struct {
	io.Reader
	c      io.Closer
	once   sync.Once
	closed atomic.Bool
}

func (b *multiBody) Close() error {
	var err error
	b.once.Do(func() {
		b.closed.Store(true)
		err = b.c.Close()
	})
	return err
}

// fileReader reads the file, checks it has exactly size bytes (when size
// is known) and records its failures in fail. A read failing because the
// transport closed the body (the call already failed or was answered) is
// not the file's failure.
type fileReader struct {
	rc     io.Reader
	size   int64
	n      int64
	fail   *atomic.Pointer[error]
	closed *atomic.Bool
}

func (f *fileReader) Read(p []byte) (int, error) {
	if f.size >= 0 && int64(len(p)) > f.size-f.n+1 {
		// Read at most one byte past the end, to notice a longer file.
		p = p[:f.size-f.n+1]
	}
	n, err := f.rc.Read(p)
	f.n += int64(n)
	if f.size >= 0 && f.n > f.size {
		return n, f.failed(fmt.Errorf("%w: longer than its Size %d", ErrMediaFile, f.size))
	}
	if err == io.EOF {
		if f.size >= 0 && f.n < f.size {
			return n, f.failed(fmt.Errorf("%w: %d bytes, shorter than its Size %d", ErrMediaFile, f.n, f.size))
		}
		return n, io.EOF
	}
	if err != nil {
		return n, f.failed(fmt.Errorf("%w: reading: %w", ErrMediaFile, err))
	}
	return n, nil
}

func (f *fileReader) failed(err error) error {
	if !f.closed.Load() {
		f.fail.Store(&err)
	}
	return err
}

// switchWriter writes to w, which can be swapped.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

func randomBoundary() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "waproxy-" + hex.EncodeToString(b[:])
}

func mediaPath(appID, mediaID string) string {
	p := "/partner/app/" + url.PathEscape(appID) + "/media"
	if mediaID != "" {
		p += "/" + url.PathEscape(mediaID)
	}
	return p
}

// redact drops the query of a URL for error messages (filemanager URLs may
// carry signatures).
func redact(target string) string {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		return target[:i] + "?…"
	}
	return target
}
