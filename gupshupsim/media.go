package gupshupsim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// MaxMediaBytes is the largest file POST /partner/app/{appId}/media accepts
// (Gupshup documents 100 MB); larger files answer 413.
const MaxMediaBytes = 100 << 20

// maxUploadOverhead is what an upload body may carry beyond the file
// (multipart framing, file_type, other fields).
const maxUploadOverhead = 1 << 20

// Media rate limits, enforced only with Options.MediaRateLimits (Gupshup
// documents them; they are low enough to get in the way of tests).
const (
	MediaDownloadRateLimit = 5  // GET /partner/app/{appId}/media/{id} per app per window
	MediaDeleteRateLimit   = 10 // DELETE /partner/app/{appId}/media/{id} per app per window
	MediaRateLimitWindow   = time.Hour
)

// Media error messages. The first three are Gupshup's documented wordings;
// msgInvalidFileType is the simulator's own.
const (
	msgInvalidMediaID  = "Invalid Media Id"
	msgFileTooLarge    = "File size exceeds the maximum limit!"
	msgNotCAPI         = "Only CAPI apps allowed to generate media ID"
	msgUploadFailed    = "Unable to upload requested Media"
	msgInvalidFileType = "Invalid file type"
)

// mediaTypes are the file_type values an upload accepts (Gupshup's
// documented list).
var mediaTypes = []string{
	"audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg", "audio/opus",
	"application/pdf",
	"application/msword",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.ms-powerpoint",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"application/vnd.ms-excel",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"text/plain",
	"image/jpeg", "image/png", "image/webp",
	"video/mp4", "video/3gpp",
}

var mediaTypeSet = func() map[string]bool {
	m := make(map[string]bool, len(mediaTypes))
	for _, t := range mediaTypes {
		m[t] = true
	}
	return m
}()

// MediaInfo describes an uploaded file.
type MediaInfo struct {
	AppID           string
	FileName        string // the file part's filename
	FileType        string // the file_type field (bare media type, lower case); served as Content-Type
	PartContentType string // the file part's own Content-Type header, as sent
	Size            int64
	SHA256          string // hex
	Downloads       int    // successful GETs of the media
}

type storedMedia struct {
	MediaInfo
	path string
}

// mediaStore is the state of uploaded media; guarded by Sim.mu.
type mediaStore struct {
	rateLimit bool
	dir       string // temporary directory, created by the first upload
	closed    bool
	items     map[string]*storedMedia
	downloads map[string]int         // by media id, uploaded and inbound
	dlCalls   map[string][]time.Time // per app
	delCalls  map[string][]time.Time // per app
}

func newMediaStore(opts Options) *mediaStore {
	return &mediaStore{
		rateLimit: opts.MediaRateLimits && !opts.DisableRateLimits,
		items:     make(map[string]*storedMedia),
		downloads: make(map[string]int),
		dlCalls:   make(map[string][]time.Time),
		delCalls:  make(map[string][]time.Time),
	}
}

// Media reports the media type, size and hex sha256 of a file uploaded to
// the app, and whether the app has such a media id.
func (s *Sim) Media(appID, mediaID string) (mimeType string, size int64, sha256hex string, ok bool) {
	info, ok := s.MediaInfo(appID, mediaID)
	return info.FileType, info.Size, info.SHA256, ok
}

// MediaInfo describes a file uploaded to the app, and reports whether the
// app has such a media id.
func (s *Sim) MediaInfo(appID, mediaID string) (MediaInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.store.items[mediaID]
	if m == nil || m.AppID != appID {
		return MediaInfo{}, false
	}
	info := m.MediaInfo
	info.Downloads = s.store.downloads[mediaID]
	return info, true
}

// MediaDownloads returns how many times the media was downloaded
// successfully: GET /partner/app/{appId}/media/{id} for uploaded media, GET
// /wa/{appId}/wa/media/{id} for the media of simulated inbound messages.
// Counts survive Reset and deletion.
func (s *Sim) MediaDownloads(mediaID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.downloads[mediaID]
}

// closeMedia removes uploaded media and their directory; later uploads
// fail.
func (s *Sim) closeMedia() {
	s.mu.Lock()
	st := s.store
	st.closed = true
	dir := st.dir
	st.dir = ""
	clear(st.items)
	s.mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// isMediaUpload reports whether r is POST /partner/app/{appId}/media[/],
// whose body the simulator streams instead of reading it first.
func isMediaUpload(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/partner/app/")
	if !ok {
		return false
	}
	appID, sub, ok := strings.Cut(rest, "/")
	return ok && appID != "" && (sub == "media" || sub == "media/")
}

// countingBody counts the bytes read of a request body.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// serveInboundMedia serves GET /wa/{appId}/wa/media/{id}, counting the
// downloads of known media.
func (s *Sim) serveInboundMedia(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method == http.MethodGet {
		s.mu.Lock()
		if s.media[id] {
			s.store.downloads[id]++
		}
		s.mu.Unlock()
	}
	s.serveMedia(w, r, id)
}

// mediaCollection serves /partner/app/{appId}/media.
func (s *Sim) mediaCollection(w http.ResponseWriter, r *http.Request, appID string) {
	if r.Method != http.MethodPost {
		writeMethodNotAllowed(w, http.MethodPost)
		return
	}
	s.uploadMedia(w, r, appID)
}

// mediaItem serves /partner/app/{appId}/media/{id}.
func (s *Sim) mediaItem(w http.ResponseWriter, r *http.Request, appID, id string) {
	switch r.Method {
	case http.MethodGet:
		s.downloadMedia(w, r, appID, id)
	case http.MethodDelete:
		s.deleteMedia(w, r, appID, id)
	default:
		writeMethodNotAllowed(w, "GET, DELETE")
	}
}

// uploadMedia handles POST /partner/app/{appId}/media: a multipart body
// with the fields file (a file part) and file_type, streamed to a
// temporary file while it is hashed.
func (s *Sim) uploadMedia(w http.ResponseWriter, r *http.Request, appID string) {
	if !s.appAuth(w, r, appID) {
		return
	}
	s.mu.Lock()
	notCAPI := s.apps[appID].NotCAPI
	s.mu.Unlock()
	if notCAPI {
		writeError(w, http.StatusBadRequest, msgNotCAPI)
		return
	}
	const maxBody = MaxMediaBytes + maxUploadOverhead
	if r.ContentLength > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, msgFileTooLarge)
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		writeError(w, http.StatusBadRequest, msgUnsupportedType)
		return
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, maxBody), params["boundary"])

	var fileType string
	var staged *stagedFile
	defer func() {
		if staged != nil {
			staged.discard()
		}
	}()
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			uploadReadError(w, err)
			return
		}
		switch p.FormName() {
		case "file_type":
			b, err := io.ReadAll(io.LimitReader(p, 257))
			if err != nil {
				uploadReadError(w, err)
				return
			}
			if fileType = normalFileType(string(b)); fileType == "" {
				writeError(w, http.StatusBadRequest, "file_type is missing/invalid")
				return
			}
			if !mediaTypeSet[fileType] {
				writeError(w, http.StatusBadRequest, msgInvalidFileType)
				return
			}
		case "file":
			if p.FileName() == "" || staged != nil {
				// A URL string instead of a file (Gupshup fetches it; the
				// simulator does not), or a second file.
				writeError(w, http.StatusBadRequest, "file is missing/invalid")
				return
			}
			staged, err = s.stage(p)
			if err != nil {
				var tooBig *errTooLarge
				switch {
				case errors.As(err, &tooBig):
					writeError(w, http.StatusRequestEntityTooLarge, msgFileTooLarge)
				case errors.Is(err, errStore):
					writeError(w, http.StatusInternalServerError, msgUploadFailed)
				default:
					uploadReadError(w, err)
				}
				return
			}
		}
	}
	if staged == nil {
		writeError(w, http.StatusBadRequest, "file is missing/invalid")
		return
	}
	if fileType == "" {
		writeError(w, http.StatusBadRequest, "file_type is missing/invalid")
		return
	}

	s.mu.Lock()
	if s.store.closed {
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, msgUploadFailed)
		return
	}
	id := s.newMediaID()
	s.store.items[id] = &storedMedia{
		MediaInfo: MediaInfo{
			AppID: appID, FileName: staged.name, FileType: fileType, PartContentType: staged.partType,
			Size: staged.size, SHA256: staged.sha256,
		},
		path: staged.path,
	}
	staged = nil // kept
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		MediaID string `json:"mediaId"`
		Status  string `json:"status"`
	}{id, "success"})
}

// uploadReadError answers a failure to read an upload body: 413 when it
// exceeded the size limit, else 400 (malformed multipart; when the client
// went away mid-body nobody reads the answer).
func uploadReadError(w http.ResponseWriter, err error) {
	if errors.As(err, new(*http.MaxBytesError)) {
		writeError(w, http.StatusRequestEntityTooLarge, msgFileTooLarge)
		return
	}
	writeError(w, http.StatusBadRequest, "body is missing/invalid")
}

// normalFileType returns the lower-case bare media type of a file_type
// value, or "" when it is not a media type.
func normalFileType(v string) string {
	mt, _, err := mime.ParseMediaType(strings.TrimSpace(v))
	if err != nil || !strings.Contains(mt, "/") {
		return ""
	}
	return mt
}

var errStore = errors.New("gupshupsim: storing media")

type errTooLarge struct{}

func (*errTooLarge) Error() string { return "gupshupsim: file too large" }

// stagedFile is an upload written to the media directory.
type stagedFile struct {
	name, partType, path string
	size                 int64
	sha256               string
}

func (f *stagedFile) discard() { os.Remove(f.path) }

// stage streams a file part to a new file in the media directory, hashing
// it; files over MaxMediaBytes fail with *errTooLarge.
func (s *Sim) stage(p *multipart.Part) (*stagedFile, error) {
	dir, err := s.mediaDir()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, errors.Join(errStore, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(p, MaxMediaBytes+1))
	if cerr := f.Close(); err == nil && cerr != nil {
		err = errors.Join(errStore, cerr)
	}
	if err == nil && n > MaxMediaBytes {
		err = &errTooLarge{}
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &stagedFile{
		name: p.FileName(), partType: p.Header.Get("Content-Type"), path: f.Name(),
		size: n, sha256: hex.EncodeToString(h.Sum(nil)),
	}, nil
}

// mediaDir returns the media directory, creating it on first use.
func (s *Sim) mediaDir() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store
	if st.closed {
		return "", errStore
	}
	if st.dir == "" {
		dir, err := os.MkdirTemp("", "gupshupsim-media-")
		if err != nil {
			return "", errors.Join(errStore, err)
		}
		st.dir = dir
	}
	return st.dir, nil
}

// newMediaID returns an unused 16-digit media id. s.mu must be held.
func (s *Sim) newMediaID() string {
	return unused16Digits(func(id string) bool { return s.store.items[id] != nil || s.media[id] })
}

// unused16Digits returns a random 16-digit decimal id (Meta's id form)
// that used does not report as taken.
func unused16Digits(used func(id string) bool) string {
	limit := big.NewInt(9_000_000_000_000_000)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			panic("gupshupsim: " + err.Error())
		}
		if id := strconv.FormatInt(1_000_000_000_000_000+n.Int64(), 10); !used(id) {
			return id
		}
	}
}

// mediaRate applies a media rate limit, answering 429 when it is hit.
func (s *Sim) mediaRate(w http.ResponseWriter, calls map[string][]time.Time, appID string, limit int) bool {
	if !s.store.rateLimit {
		return true
	}
	s.mu.Lock()
	list := calls[appID]
	ok, wait := slidingWindow(&list, limit, MediaRateLimitWindow, s.now())
	calls[appID] = list
	s.mu.Unlock()
	if !ok {
		writeTooMany(w, wait)
	}
	return ok
}

// slidingWindow records a call in a sliding-window limiter and reports
// whether it is admitted; when it is not, it returns how long until it
// would be.
func slidingWindow(calls *[]time.Time, limit int, window time.Duration, now time.Time) (bool, time.Duration) {
	cutoff := now.Add(-window)
	kept := (*calls)[:0]
	for _, t := range *calls {
		if t.After(cutoff) {
			kept = append(kept, t)
		}
	}
	*calls = kept
	if len(kept) >= limit {
		return false, kept[0].Sub(cutoff)
	}
	*calls = append(kept, now)
	return true, 0
}

// lookupMedia returns the app's media, or nil.
func (s *Sim) lookupMedia(appID, id string) *storedMedia {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.store.items[id]
	if m == nil || m.AppID != appID {
		return nil
	}
	return m
}

// downloadMedia handles GET /partner/app/{appId}/media/{id}: the raw bytes
// with the file_type as Content-Type.
func (s *Sim) downloadMedia(w http.ResponseWriter, r *http.Request, appID, id string) {
	if !s.appAuth(w, r, appID) || !s.mediaRate(w, s.store.dlCalls, appID, MediaDownloadRateLimit) {
		return
	}
	m := s.lookupMedia(appID, id)
	if m == nil {
		writeError(w, http.StatusBadRequest, msgInvalidMediaID)
		return
	}
	f, err := os.Open(m.path)
	if err != nil {
		// Deleted (or the Sim closed) since the lookup.
		writeError(w, http.StatusBadRequest, msgInvalidMediaID)
		return
	}
	defer f.Close()
	s.mu.Lock()
	s.store.downloads[id]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", m.FileType)
	w.Header().Set("Content-Length", strconv.FormatInt(m.Size, 10))
	w.WriteHeader(http.StatusOK)
	io.Copy(w, f)
}

// deleteMedia handles DELETE /partner/app/{appId}/media/{id}.
func (s *Sim) deleteMedia(w http.ResponseWriter, r *http.Request, appID, id string) {
	if !s.appAuth(w, r, appID) || !s.mediaRate(w, s.store.delCalls, appID, MediaDeleteRateLimit) {
		return
	}
	s.mu.Lock()
	m := s.store.items[id]
	if m == nil || m.AppID != appID {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, msgInvalidMediaID)
		return
	}
	delete(s.store.items, id)
	s.mu.Unlock()
	os.Remove(m.path)
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
}
