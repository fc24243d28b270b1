package translate

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Size units of Meta's media limits. Meta writes "MB" and "KB"; the proxy
// reads them as binary units: 1 KB = 1024 bytes, 1 MB = 1024*1024 bytes.
const (
	kib int64 = 1 << 10
	mib int64 = 1 << 20
)

// MaxMediaBytes is the largest file of any kind (documents, 100 MB); a
// handler can cap the upload body just above it.
const MaxMediaBytes = 100 * mib

// MediaKind is one of Meta's media categories and its size limit.
type MediaKind struct {
	// Name is "audio", "document", "image", "sticker" or "video".
	Name string
	// MaxBytes is the largest file Meta accepts for this kind.
	MaxBytes int64
}

// The media kinds of Meta's supported-types table (meta-cloud-api.md §3).
//
// Stickers (image/webp) get the animated-sticker limit of 500 KB: a static
// sticker may be at most 100 KB, but static and animated WebP cannot be told
// apart without decoding the file, so the proxy checks only the larger
// limit and leaves the rest to Meta.
var (
	kindAudio    = MediaKind{Name: "audio", MaxBytes: 16 * mib}
	kindDocument = MediaKind{Name: "document", MaxBytes: 100 * mib}
	kindImage    = MediaKind{Name: "image", MaxBytes: 5 * mib}
	kindSticker  = MediaKind{Name: "sticker", MaxBytes: 500 * kib}
	kindVideo    = MediaKind{Name: "video", MaxBytes: 16 * mib}
)

// mediaTypes is Meta's table of uploadable MIME types, in the order the
// unsupported-type error lists them. Rows with canonical set are accepted
// spellings that the error does not list; they stand for canonical.
var mediaTypes = []struct {
	mime      string
	kind      MediaKind
	canonical string // "" = mime itself
}{
	{mime: "audio/aac", kind: kindAudio},
	{mime: "audio/amr", kind: kindAudio},
	{mime: "audio/mpeg", kind: kindAudio},
	{mime: "audio/mp4", kind: kindAudio},
	{mime: "audio/ogg", kind: kindAudio},
	{mime: "text/plain", kind: kindDocument},
	{mime: "application/pdf", kind: kindDocument},
	{mime: "application/msword", kind: kindDocument},
	{mime: "application/vnd.ms-excel", kind: kindDocument},
	{mime: "application/vnd.ms-powerpoint", kind: kindDocument},
	{mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", kind: kindDocument},
	{mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", kind: kindDocument},
	{mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation", kind: kindDocument},
	{mime: "image/jpeg", kind: kindImage},
	{mime: "image/png", kind: kindImage},
	{mime: "image/webp", kind: kindSticker},
	{mime: "video/mp4", kind: kindVideo},
	{mime: "video/3gpp", kind: kindVideo},
	{mime: "video/3gp", kind: kindVideo, canonical: "video/3gpp"},
}

// mediaEssence is mime without parameters, trimmed and lower case:
// "Audio/OGG; codecs=opus" → "audio/ogg".
func mediaEssence(mime string) string {
	if i := strings.IndexByte(mime, ';'); i >= 0 {
		mime = mime[:i]
	}
	return strings.ToLower(strings.TrimSpace(mime))
}

// lookupMediaType finds mime (parameters and case ignored) in Meta's table
// and returns its canonical spelling and kind.
func lookupMediaType(mime string) (string, MediaKind, bool) {
	e := mediaEssence(mime)
	for _, t := range mediaTypes {
		if t.mime == e {
			if t.canonical != "" {
				return t.canonical, t.kind, true
			}
			return t.mime, t.kind, true
		}
	}
	return "", MediaKind{}, false
}

// MediaKindOf returns the kind of an uploadable MIME type, or false when Meta
// does not accept it. MIME parameters ("audio/ogg; codecs=opus") and case
// are ignored; "video/3gp" is accepted as a spelling of "video/3gpp".
func MediaKindOf(mime string) (MediaKind, bool) {
	_, k, ok := lookupMediaType(mime)
	return k, ok
}

// CanonicalMediaType returns the table's spelling of mime — no parameters,
// lower case, "video/3gp" as "video/3gpp" — the form to hand to Gupshup as
// file_type. It returns "" for a type Meta does not accept.
func CanonicalMediaType(mime string) string {
	c, _, _ := lookupMediaType(mime)
	return c
}

// MediaUploadError is Meta's answer to a media file it will not take:
// HTTP 400, code 131053 "Media upload error", with reason as details.
func MediaUploadError(reason string) *Error {
	return &Error{HTTPStatus: 400, Code: CodeMediaUpload, Title: "Media upload error", Details: reason}
}

// UnsupportedMediaType is the upload error for a MIME type outside Meta's
// table. Its details use Graph's wording:
//
//	Param file must be a file with one of the following types: audio/aac, …,
//	video/3gpp. Received file of type 'application/zip'.
func UnsupportedMediaType(mime string) *Error {
	var b strings.Builder
	b.WriteString("Param file must be a file with one of the following types: ")
	first := true
	for _, t := range mediaTypes {
		if t.canonical != "" {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(t.mime)
	}
	b.WriteString(". Received file of type '")
	b.WriteString(mime)
	b.WriteString("'.")
	return MediaUploadError(b.String())
}

// MediaTooLarge is the upload error for a file of size bytes over kind's
// limit, e.g. "file is 6.2 MB (6501171 bytes); image files may be at most
// 5 MB (5242880 bytes)". The exact byte counts are given because the
// rounded figures of a file just over the limit read the same as the limit.
func MediaTooLarge(kind MediaKind, size int64) *Error {
	d := make([]byte, 0, 96)
	d = append(d, "file is "...)
	d = appendSize(d, size)
	d = append(d, " ("...)
	d = strconv.AppendInt(d, size, 10)
	d = append(d, " bytes); "...)
	d = append(d, kind.Name...)
	d = append(d, " files may be at most "...)
	d = appendLimit(d, kind.MaxBytes)
	d = append(d, " ("...)
	d = strconv.AppendInt(d, kind.MaxBytes, 10)
	d = append(d, " bytes)"...)
	return MediaUploadError(string(d))
}

// CheckMediaSize reports whether a file of size bytes fits kind's limit:
// nil when it does (exactly MaxBytes fits), MediaTooLarge when it does not.
// A negative size means unknown and passes.
func CheckMediaSize(kind MediaKind, size int64) *Error {
	if size > kind.MaxBytes {
		return MediaTooLarge(kind, size)
	}
	return nil
}

// appendSize writes n bytes rounded to one decimal in the largest unit that
// is at least 1: "6.2 MB", "600.0 KB", "12 bytes".
func appendSize(dst []byte, n int64) []byte {
	switch {
	case n >= mib:
		dst = strconv.AppendFloat(dst, float64(n)/float64(mib), 'f', 1, 64)
		return append(dst, " MB"...)
	case n >= kib:
		dst = strconv.AppendFloat(dst, float64(n)/float64(kib), 'f', 1, 64)
		return append(dst, " KB"...)
	default:
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, " bytes"...)
	}
}

// appendLimit writes a limit the way Meta's table does: "5 MB", "500 KB".
func appendLimit(dst []byte, n int64) []byte {
	switch {
	case n >= mib && n%mib == 0:
		dst = strconv.AppendInt(dst, n/mib, 10)
		return append(dst, " MB"...)
	case n >= kib && n%kib == 0:
		dst = strconv.AppendInt(dst, n/kib, 10)
		return append(dst, " KB"...)
	default:
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, " bytes"...)
	}
}

// MediaUpload is what a handler gathered from a media upload request
// (POST /{phone-number-id}/media, multipart).
type MediaUpload struct {
	// MessagingProduct is the messaging_product form field, or the query
	// parameter of the same name when the form has none (some SDKs send it
	// there); "" when absent.
	MessagingProduct string
	// HasFile reports whether the form carried a "file" part.
	HasFile bool
	// FileType is the Content-Type of the file part ("" when absent).
	FileType string
	// Type is the "type" form field ("" when absent).
	Type string
	// Size is the length of the file part in bytes; negative when unknown.
	Size int64
}

// CheckMediaUpload validates an upload the way Graph does before taking it
// and returns the canonical MIME type to store and hand to Gupshup, and its
// kind. In order:
//
//   - messaging_product absent → MissingParameter("messaging_product");
//     not "whatsapp" (case-insensitive) → the same InvalidParameter SendToForm
//     gives;
//   - no file part → MissingParameter("file");
//   - the type is the file part's Content-Type when Meta's table has it,
//     else the "type" field when the table has that (so a client that labels
//     its part application/octet-stream but sends type=image/png works);
//     neither → UnsupportedMediaType naming the part's type (the field's when
//     the part has none);
//   - a file over the kind's limit → MediaTooLarge.
func CheckMediaUpload(u MediaUpload) (string, MediaKind, *Error) {
	if u.MessagingProduct == "" {
		return "", MediaKind{}, MissingParameter("messaging_product")
	}
	if !strings.EqualFold(u.MessagingProduct, "whatsapp") {
		return "", MediaKind{}, InvalidParameter(`Param messaging_product must be "whatsapp".`)
	}
	if !u.HasFile {
		return "", MediaKind{}, MissingParameter("file")
	}
	mime, kind, ok := lookupMediaType(u.FileType)
	if !ok {
		mime, kind, ok = lookupMediaType(u.Type)
	}
	if !ok {
		got := u.FileType
		if strings.TrimSpace(got) == "" {
			got = u.Type
		}
		return "", MediaKind{}, UnsupportedMediaType(got)
	}
	if err := CheckMediaSize(kind, u.Size); err != nil {
		return "", MediaKind{}, err
	}
	return mime, kind, nil
}

// MediaUploadResponse appends Meta's answer to a media upload: {"id":"<id>"}.
func MediaUploadResponse(dst []byte, id string) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendMetaString(dst, id)
	return append(dst, '}')
}

// MediaMeta describes one media object for Meta's media lookup answer.
type MediaMeta struct {
	ID       string
	URL      string // absolute download URL
	MimeType string
	SHA256   string // hex digest; "" unknown
	Size     int64  // bytes; negative unknown
}

// MediaInfo appends Meta's answer to GET /{media-id}, members in Graph's
// order:
//
//	{"messaging_product":"whatsapp","url":"https:\/\/…","mime_type":"image\/jpeg",
//	 "sha256":"…","file_size":303833,"id":"…"}
//
// sha256 and file_size are left out when unknown. file_size is a number
// (Go SDKs decode it into int64). Strings use Graph's escaping, so "/"
// comes out as "\/".
func MediaInfo(dst []byte, m MediaMeta) []byte {
	dst = append(dst, `{"messaging_product":"whatsapp","url":`...)
	dst = AppendMetaString(dst, m.URL)
	dst = append(dst, `,"mime_type":`...)
	dst = AppendMetaString(dst, m.MimeType)
	if m.SHA256 != "" {
		dst = append(dst, `,"sha256":`...)
		dst = AppendMetaString(dst, m.SHA256)
	}
	if m.Size >= 0 {
		dst = append(dst, `,"file_size":`...)
		dst = strconv.AppendInt(dst, m.Size, 10)
	}
	dst = append(dst, `,"id":`...)
	dst = AppendMetaString(dst, m.ID)
	return append(dst, '}')
}

// GupshupMediaID reads the media id from Gupshup's upload answer
// {"mediaId":"1852559851913765","status":"success"}. A numeric mediaId is
// taken as its exact digits (never through a float). It returns false when
// there is no non-empty string or integer mediaId.
func GupshupMediaID(body []byte) (string, bool) {
	r := gjson.GetBytes(body, "mediaId")
	switch r.Type {
	case gjson.String:
		if r.Str != "" {
			return r.Str, true
		}
	case gjson.Number:
		if r.Raw != "" && strings.Trim(r.Raw, "0123456789") == "" {
			return r.Raw, true
		}
	}
	return "", false
}

// MediaNotFound is Graph's answer for a media id the tenant does not have,
// or one that expired or was deleted (code 100, subcode 33). method is the
// HTTP method in lower case ("get", "delete").
func MediaNotFound(method, id string) *Error {
	return UnknownObject(method, id)
}

// UpstreamMediaError maps Gupshup's failure answer to a media lookup,
// download or delete of id. Gupshup's 400/404 "Invalid Media Id" (expired,
// deleted or unknown id) becomes MediaNotFound, as Graph answers for such an
// id; every other answer goes through UpstreamError.
func UpstreamMediaError(method, id string, status int, body []byte, retryAfter string) *Error {
	if status == 400 || status == 404 {
		if msg, _ := upstreamMessage(gjson.ParseBytes(body)); containsFold(msg, "invalid media id") {
			e := MediaNotFound(method, id)
			e.Rule = "invalid_media_id"
			return e
		}
	}
	return UpstreamError(status, body, retryAfter)
}
