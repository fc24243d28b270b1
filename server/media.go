package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"waproxy/auth"
	"waproxy/mediacache"
	"waproxy/store"
	"waproxy/translate"
	"waproxy/upstream"
)

// MediaAPI is what the media handlers need from the Gupshup client.
type MediaAPI interface {
	UploadMedia(ctx context.Context, appID, appToken string, file upstream.MediaFile) (*upstream.Response, error)
	DownloadMedia(ctx context.Context, appID, appToken, mediaID string) (*http.Response, error)
	FetchURL(ctx context.Context, rawURL, appToken string) (*http.Response, error)
	DeleteMedia(ctx context.Context, appID, appToken, mediaID string) (*upstream.Response, error)
}

// MediaOptions enable the media routes (upload, lookup, download, delete).
type MediaOptions struct {
	// API is the Gupshup client.
	API MediaAPI
	// Index binds media ids to tenants and apps.
	Index store.MediaIndex
	// Cache holds recently fetched media. Default: a 64 MiB cache.
	Cache *mediacache.Cache
	// Signer makes and checks the download URL tokens.
	Signer *auth.URLSigner
	// PublicURL is the proxy's absolute base URL for download URLs.
	PublicURL string
	// URLTTL is how long a download URL works. Default 5m (like Graph's).
	URLTTL time.Duration
	// SpoolDir holds uploads while they are checked. Default os.TempDir().
	SpoolDir string
	// TransferTimeout replaces the server's read/write timeouts for
	// uploads and downloads, which may carry 100 MB. Default 10m.
	TransferTimeout time.Duration
}

// extendDeadlines gives a media transfer TransferTimeout instead of the
// server's short request timeouts.
func (s *Server) extendDeadlines(c *gin.Context) {
	rc := http.NewResponseController(c.Writer)
	until := time.Now().Add(s.opt.Media.TransferTimeout)
	_ = rc.SetReadDeadline(until)
	_ = rc.SetWriteDeadline(until)
}

// downloadPath is where media bytes are served: /waproxy/media/{id}.
const downloadPath = "/waproxy/media/"

// maxMediaBytes is the largest upload any kind allows (documents).
const maxMediaBytes = translate.MaxMediaBytes

// maxUploadBody caps an upload's whole multipart body: the largest file
// and 1 MiB for the other parts and the multipart framing.
const maxUploadBody = maxMediaBytes + 1<<20

// authenticate finds the caller's tenant from the bearer token or the
// access_token query parameter.
func (s *Server) authenticate(c *gin.Context) (*auth.Tenant, bool) {
	return s.authenticateWith(c, "")
}

// authenticateWith is authenticate with an access_token form field as the
// last resort.
func (s *Server) authenticateWith(c *gin.Context, formToken string) (*auth.Tenant, bool) {
	token := bearer(c.Request)
	if token == "" {
		token = c.Query("access_token")
	}
	if token == "" {
		token = formToken
	}
	tenant := s.opt.Directory.Authenticate(token)
	if tenant == nil {
		s.fail(c, translate.InvalidToken())
		return nil, false
	}
	logOf(c).tenant = tenant.Name
	return tenant, true
}

// downloader finds who downloads a proxy URL signed for subject: the
// tenant its valid token names, else the caller's bearer (so an expired
// URL fetched with the owner's bearer still works). A bad token without a
// bearer is Graph's invalid-token error.
func (s *Server) downloader(c *gin.Context, signer *auth.URLSigner, subject string) (*auth.Tenant, bool) {
	if tok := c.Query("token"); tok != "" {
		name, err := signer.Verify(tok, subject, time.Now())
		switch {
		case err == nil:
			if t := s.opt.Directory.Tenant(name); t != nil {
				logOf(c).tenant = t.Name
				return t, true
			}
		case bearer(c.Request) == "" && c.Query("access_token") == "":
			logOf(c).err = "download token: " + err.Error()
			s.fail(c, translate.InvalidToken())
			return nil, false
		}
	}
	return s.authenticate(c)
}

// spool is an uploaded file kept on disk while it is checked and sent.
type spool struct {
	f      *os.File
	size   int64
	sha    string
	name   string
	ctype  string
	limit  int64 // bytes kept at most
	capped bool  // more than limit arrived
}

// open reads the spooled bytes through the file the spool holds (not by
// its name, which a sweep may have removed: the open file stays readable).
func (sp *spool) open() (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(sp.f, 0, sp.size)), nil
}

func (sp *spool) remove() {
	if sp != nil && sp.f != nil {
		_ = sp.f.Close()
		_ = os.Remove(sp.f.Name())
	}
}

// upload serves POST /{version}/{phone-number-id}/media: a multipart
// upload spooled to disk (never held in memory), checked against Meta's
// types and limits, then streamed to Gupshup.
func (s *Server) upload(c *gin.Context) {
	objectID, ok := s.object(c)
	if !ok {
		return
	}
	tenant, ok := s.authenticate(c)
	if !ok {
		return
	}
	l := logOf(c)
	l.phoneID = objectID
	phone, ok := tenant.Phone(objectID)
	if !ok {
		s.fail(c, translate.UnknownObject("post", objectID))
		return
	}
	s.extendDeadlines(c)
	r := c.Request
	r.Body = http.MaxBytesReader(c.Writer, r.Body, maxUploadBody)
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(c, translate.InvalidParameter("Media must be uploaded as multipart/form-data with a file part."))
		return
	}
	product := c.Query("messaging_product")
	mimeType := c.Query("type")
	var sp *spool
	defer func() { sp.remove() }()
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) && sp != nil {
				sp.capped = true
				break
			}
			s.fail(c, translate.InvalidParameter("The multipart body could not be read."))
			return
		}
		switch part.FormName() {
		case "file":
			if sp != nil {
				break
			}
			sp, err = s.spoolPart(part, spoolLimit(mimeType, part.Header.Get("Content-Type")))
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) && sp != nil {
					sp.capped = true
					goto checked
				}
				l.err = "spooling upload failed"
				s.fail(c, translate.InvalidParameter("The uploaded file could not be read."))
				return
			}
		case "messaging_product", "type":
			v, _ := io.ReadAll(io.LimitReader(part, 1024))
			if part.FormName() == "type" {
				mimeType = strings.TrimSpace(string(v))
			} else {
				product = strings.TrimSpace(string(v))
			}
		}
		_ = part.Close()
	}
checked:
	u := translate.MediaUpload{MessagingProduct: product, HasFile: sp != nil, Type: mimeType, Size: -1}
	if sp != nil {
		u.FileType, u.Size = sp.ctype, sp.size
		if sp.capped {
			u.Size = sp.limit + 1
		}
	}
	mimeType, _, verr := translate.CheckMediaUpload(u)
	if verr != nil {
		l.msgType = "media"
		s.fail(c, verr)
		return
	}
	l.msgType = "media:" + mimeType
	file := upstream.MediaFile{Name: sp.name, MimeType: mimeType, Size: sp.size, Open: sp.open}
	resp, ok := s.call(c, phone, "media_upload", nil, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Media.API.UploadMedia(ctx, phone.AppID, token, file)
	})
	if !ok {
		return
	}
	id, ok := translate.GupshupMediaID(resp.Body)
	if !ok {
		l.err = "upload answer without media id"
		s.fail(c, translate.Internal("The upstream accepted the upload but its answer carried no media id."))
		return
	}
	m := store.Media{ID: id, Tenant: tenant.Name, AppID: phone.AppID, MimeType: mimeType, SHA256: sp.sha, Size: sp.size}
	if err := s.opt.Media.Index.PutMedia(c.Request.Context(), m); err != nil {
		s.opt.Logger.Error("recording an uploaded media id failed", zap.String("media_id", id), zap.Error(err))
		s.fail(c, translate.Internal("The media was uploaded but could not be recorded; upload it again."))
		return
	}
	c.Data(http.StatusOK, jsonType, translate.MediaUploadResponse(nil, id))
}

// spoolLimit is how much of an upload is worth keeping: the limit of its
// kind when the type is already known, else the largest any kind allows.
func spoolLimit(types ...string) int64 {
	limit := int64(0)
	for _, t := range types {
		if k, ok := translate.MediaKindOf(t); ok && k.MaxBytes > limit {
			limit = k.MaxBytes
		}
	}
	if limit == 0 {
		return maxMediaBytes
	}
	return limit
}

// spoolPart copies a file part to a temporary file, hashing and counting;
// more than limit bytes stops the copy and marks the spool capped (the
// upload is refused as too large without reading the rest).
func (s *Server) spoolPart(part *multipart.Part, limit int64) (*spool, error) {
	sp := &spool{name: part.FileName(), ctype: part.Header.Get("Content-Type"), limit: limit}
	if sp.name == "" {
		sp.name = "file"
	}
	f, err := os.CreateTemp(s.opt.Media.SpoolDir, spoolPattern)
	if err != nil {
		return nil, err
	}
	sp.f = f
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(part, limit+1))
	sp.size = n
	sp.capped = n > limit
	sp.sha = hex.EncodeToString(h.Sum(nil))
	return sp, err
}

// ownedMedia finds a media id the tenant may use; anything else is Graph's
// "object does not exist" (never a hint that another tenant has it).
func (s *Server) ownedMedia(c *gin.Context, tenant *auth.Tenant, id string) (store.Media, bool) {
	m, ok, err := s.opt.Media.Index.Media(c.Request.Context(), id)
	if err != nil {
		s.opt.Logger.Error("media index lookup failed", zap.String("media_id", id), zap.Error(err))
		s.fail(c, translate.Internal("The media could not be looked up."))
		return m, false
	}
	if !ok || m.Tenant != tenant.Name {
		s.fail(c, translate.UnknownObject(strings.ToLower(c.Request.Method), id))
		return m, false
	}
	if pid := c.Query("phone_number_id"); pid != "" {
		if _, mine := tenant.Phone(pid); !mine {
			s.fail(c, translate.UnknownObject(strings.ToLower(c.Request.Method), pid))
			return m, false
		}
	}
	return m, true
}

// mediaRequest reads the media id from a /{version}/{media-id} path,
// authenticates the caller and checks it owns the media.
func (s *Server) mediaRequest(c *gin.Context) (*auth.Tenant, store.Media, bool) {
	id, ok := s.object(c)
	if !ok {
		return nil, store.Media{}, false
	}
	tenant, ok := s.authenticate(c)
	if !ok {
		return nil, store.Media{}, false
	}
	m, ok := s.ownedMedia(c, tenant, id)
	return tenant, m, ok
}

// mediaInfo serves GET /{version}/{media-id}: Meta's lookup with a
// short-lived download URL on the proxy.
func (s *Server) mediaInfo(c *gin.Context) {
	tenant, m, ok := s.mediaRequest(c)
	if !ok {
		return
	}
	id := m.ID
	if m.Size < 0 || m.SHA256 == "" || m.MimeType == "" {
		// Inbound media whose size or hash Gupshup did not report: fetch
		// it once (the download that usually follows is then served from
		// the cache) and remember what it is. Without it the answer simply
		// omits what is unknown.
		if f, err := s.fetchMedia(c, tenant, m); err == nil {
			m.Size, m.SHA256 = f.size, f.sha256
			if m.MimeType == "" {
				m.MimeType = f.mimeType
			}
			_ = s.opt.Media.Index.PutMedia(c.Request.Context(), m)
		} else {
			logOf(c).err = "media fetch for lookup failed"
		}
	}
	exp := time.Now().Add(s.opt.Media.URLTTL)
	u := s.opt.Media.PublicURL + downloadPath + id + "?token=" + s.opt.Media.Signer.Sign(tenant.Name, id, exp)
	c.Data(http.StatusOK, jsonType, translate.MediaInfo(nil, translate.MediaMeta{
		ID: id, URL: u, MimeType: m.MimeType, SHA256: m.SHA256, Size: m.Size}))
}

// deleteMedia serves DELETE /{version}/{media-id}.
func (s *Server) deleteMedia(c *gin.Context) {
	tenant, m, ok := s.mediaRequest(c)
	if !ok {
		return
	}
	id := m.ID
	phone, ok := tenant.PhoneOfApp(m.AppID)
	if !ok {
		s.fail(c, translate.UnknownObject("delete", id))
		return
	}
	notFound := func(r *upstream.Response) *translate.Error {
		return translate.UpstreamMediaError("delete", id, r.Status, r.Body, r.RetryAfter)
	}
	if _, ok := s.call(c, phone, "media_delete", notFound, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Media.API.DeleteMedia(ctx, m.AppID, token, id)
	}); !ok {
		return
	}
	_ = s.opt.Media.Index.DeleteMedia(c.Request.Context(), id)
	s.cache().Delete(id)
	c.Data(http.StatusOK, jsonType, []byte(translate.Success))
}

// download serves GET /waproxy/media/{id}: the bytes, to the owning
// tenant's bearer token or to a valid URL token (never decided by Host).
// Objects small enough for the cache are kept there, so a retry or a
// second client costs Gupshup nothing; larger ones are streamed through.
func (s *Server) download(c *gin.Context) {
	id := c.Param("id")
	tenant, ok := s.downloader(c, s.opt.Media.Signer, id)
	if !ok {
		return
	}
	m, ok := s.ownedMedia(c, tenant, id)
	if !ok {
		return
	}
	if item, ok := s.cache().Get(id); ok {
		serveItem(c, item)
		return
	}
	s.extendDeadlines(c)
	resp, e := s.openMedia(c, tenant, m)
	if e != nil {
		s.fail(c, e)
		return
	}
	defer resp.Body.Close()
	ctype := resp.Header.Get("Content-Type")
	if m.MimeType != "" {
		ctype = m.MimeType
	}
	if s.cache().Fits(resp.ContentLength) {
		data, err := io.ReadAll(io.LimitReader(resp.Body, resp.ContentLength+1))
		if err != nil || int64(len(data)) != resp.ContentLength {
			logOf(c).err = "media download cut short"
			s.fail(c, translate.Internal("The media could not be fetched completely."))
			return
		}
		item := mediacache.Item{Data: data, MimeType: ctype}
		s.cache().Put(id, data, ctype)
		serveItem(c, item)
		return
	}
	c.Header("Content-Type", ctype)
	if resp.ContentLength >= 0 {
		c.Header("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	c.Status(http.StatusOK)
	if _, err := io.Copy(c.Writer, resp.Body); err != nil {
		logOf(c).err = "media stream interrupted"
	}
}

func serveItem(c *gin.Context, item mediacache.Item) {
	c.Header("Content-Length", strconv.Itoa(len(item.Data)))
	c.Data(http.StatusOK, item.MimeType, item.Data)
}

// fetched is what one fetch of a whole object taught.
type fetched struct {
	mimeType string
	size     int64
	sha256   string
}

// fetchMedia reads the whole object, from the cache or from Gupshup
// (caching it when it fits), for the lookup's size and hash.
func (s *Server) fetchMedia(c *gin.Context, tenant *auth.Tenant, m store.Media) (fetched, error) {
	if item, ok := s.cache().Get(m.ID); ok {
		sum := sha256.Sum256(item.Data)
		return fetched{item.MimeType, int64(len(item.Data)), hex.EncodeToString(sum[:])}, nil
	}
	resp, e := s.openMedia(c, tenant, m)
	if e != nil {
		return fetched{}, e
	}
	defer resp.Body.Close()
	f := fetched{mimeType: resp.Header.Get("Content-Type")}
	h := sha256.New()
	var keep *bytes.Buffer
	w := io.Writer(h)
	if s.cache().Fits(resp.ContentLength) {
		keep = bytes.NewBuffer(make([]byte, 0, resp.ContentLength))
		w = io.MultiWriter(h, keep)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return fetched{}, err
	}
	f.size, f.sha256 = n, hex.EncodeToString(h.Sum(nil))
	if keep != nil && n == resp.ContentLength {
		s.cache().Put(m.ID, keep.Bytes(), f.mimeType)
	}
	return f, nil
}

// openMedia opens the media stream at Gupshup: the inbound webhook URL when
// known, else the media id. A 401 refreshes the app token once.
func (s *Server) openMedia(c *gin.Context, tenant *auth.Tenant, m store.Media) (*http.Response, *translate.Error) {
	phone, ok := tenant.PhoneOfApp(m.AppID)
	if !ok {
		return nil, translate.UnknownObject("get", m.ID)
	}
	ctx := c.Request.Context()
	l := logOf(c)
	open := func(token string) (*http.Response, error) {
		start := time.Now()
		var resp *http.Response
		var err error
		endpoint := "media_download"
		if m.URL != "" {
			endpoint = "media_url"
			resp, err = s.opt.Media.API.FetchURL(ctx, m.URL, token)
		} else {
			resp, err = s.opt.Media.API.DownloadMedia(ctx, m.AppID, token, m.ID)
		}
		status := 0
		var se *upstream.StatusError
		switch {
		case resp != nil:
			status = resp.StatusCode
		case errors.As(err, &se):
			status = se.Status
		}
		d := time.Since(start)
		l.upstreamStatus, l.upstreamTime = status, l.upstreamTime+d
		s.opt.Metrics.Upstream(endpoint, status, d)
		return resp, err
	}
	token, err := s.opt.Tokens.Token(ctx, phone)
	if err != nil {
		return nil, tokenError(c, err)
	}
	resp, err := open(token)
	var se *upstream.StatusError
	if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
		fresh, ok, rerr := s.opt.Tokens.Refresh(ctx, phone, token)
		switch {
		case rerr == nil && ok:
			l.retried = true
			resp, err = open(fresh)
		case errors.Is(rerr, auth.ErrTransient):
			return nil, tokenError(c, rerr)
		}
	}
	if err == nil {
		return resp, nil
	}
	if errors.As(err, &se) {
		// "Invalid Media Id" (expired at Gupshup: 7 days for inbound), or
		// an inbound file URL that is gone, is Graph's unknown object.
		if m.URL != "" && (se.Status == http.StatusNotFound || se.Status == http.StatusGone) {
			return nil, translate.MediaNotFound("get", m.ID)
		}
		return nil, translate.UpstreamMediaError("get", m.ID, se.Status, se.Body, "")
	}
	if e, ok := downloadError(c, err, "media"); ok {
		return nil, e
	}
	l.err = "media fetch failed"
	return nil, translate.Internal("The media could not be fetched.")
}

// cache returns the media cache.
func (s *Server) cache() *mediacache.Cache { return s.opt.Media.Cache }
