package translate

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestMediaKindOf pins every row of Meta's supported-types table, the
// spellings the proxy tolerates and what it refuses.
func TestMediaKindOf(t *testing.T) {
	const kb, mb = 1024, 1024 * 1024
	cases := []struct {
		name, mime string
		kind       string // "" = not accepted
		max        int64
		canonical  string
	}{
		{"audio aac", "audio/aac", "audio", 16 * mb, "audio/aac"},
		{"audio amr", "audio/amr", "audio", 16 * mb, "audio/amr"},
		{"audio mpeg", "audio/mpeg", "audio", 16 * mb, "audio/mpeg"},
		{"audio mp4", "audio/mp4", "audio", 16 * mb, "audio/mp4"},
		{"audio ogg", "audio/ogg", "audio", 16 * mb, "audio/ogg"},
		{"document text", "text/plain", "document", 100 * mb, "text/plain"},
		{"document pdf", "application/pdf", "document", 100 * mb, "application/pdf"},
		{"document doc", "application/msword", "document", 100 * mb, "application/msword"},
		{"document xls", "application/vnd.ms-excel", "document", 100 * mb, "application/vnd.ms-excel"},
		{"document ppt", "application/vnd.ms-powerpoint", "document", 100 * mb, "application/vnd.ms-powerpoint"},
		{"document docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document", 100 * mb,
			"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"document xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "document", 100 * mb,
			"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"document pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "document", 100 * mb,
			"application/vnd.openxmlformats-officedocument.presentationml.presentation"},
		{"image jpeg", "image/jpeg", "image", 5 * mb, "image/jpeg"},
		{"image png", "image/png", "image", 5 * mb, "image/png"},
		{"sticker webp gets the animated limit", "image/webp", "sticker", 500 * kb, "image/webp"},
		{"video mp4", "video/mp4", "video", 16 * mb, "video/mp4"},
		{"video 3gpp", "video/3gpp", "video", 16 * mb, "video/3gpp"},
		{"video 3gp spelling is 3gpp", "video/3gp", "video", 16 * mb, "video/3gpp"},

		{"parameters ignored", "audio/ogg; codecs=opus", "audio", 16 * mb, "audio/ogg"},
		{"parameters without space ignored", "text/plain;charset=utf-8", "document", 100 * mb, "text/plain"},
		{"case ignored", "IMAGE/JPEG", "image", 5 * mb, "image/jpeg"},
		{"case and parameters ignored", "Video/3GP ; foo=bar", "video", 16 * mb, "video/3gpp"},
		{"surrounding space ignored", "  image/png  ", "image", 5 * mb, "image/png"},

		{"empty refused", "", "", 0, ""},
		{"octet-stream refused", "application/octet-stream", "", 0, ""},
		{"image/jpg is not a MIME type", "image/jpg", "", 0, ""},
		{"gif refused", "image/gif", "", 0, ""},
		{"audio/opus not in Meta's table", "audio/opus", "", 0, ""},
		{"zip refused", "application/zip", "", 0, ""},
		{"text/html refused (only text/plain)", "text/html", "", 0, ""},
		{"type without subtype refused", "image", "", 0, ""},
		{"prefix of a type refused", "image/jp", "", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, ok := MediaKindOf(c.mime)
			if ok != (c.kind != "") || k.Name != c.kind || k.MaxBytes != c.max {
				t.Errorf("MediaKindOf(%q) = %+v, %v; want %q/%d", c.mime, k, ok, c.kind, c.max)
			}
			if got := CanonicalMediaType(c.mime); got != c.canonical {
				t.Errorf("CanonicalMediaType(%q) = %q, want %q", c.mime, got, c.canonical)
			}
		})
	}
}

// TestCheckMediaSize pins the limits at their boundary: exactly the limit
// is accepted, one byte more is refused.
func TestCheckMediaSize(t *testing.T) {
	for _, mime := range []string{"audio/aac", "application/pdf", "image/png", "image/webp", "video/mp4"} {
		k, _ := MediaKindOf(mime)
		cases := []struct {
			name string
			size int64
			ok   bool
		}{
			{"unknown size passes", -1, true},
			{"empty passes", 0, true},
			{"one below the limit passes", k.MaxBytes - 1, true},
			{"exactly the limit passes", k.MaxBytes, true},
			{"one over the limit fails", k.MaxBytes + 1, false},
			{"far over the limit fails", 10 * k.MaxBytes, false},
		}
		for _, c := range cases {
			t.Run(k.Name+"/"+c.name, func(t *testing.T) {
				err := CheckMediaSize(k, c.size)
				if (err == nil) != c.ok {
					t.Fatalf("CheckMediaSize(%s, %d) = %v, want ok=%v", k.Name, c.size, err, c.ok)
				}
				if err != nil && (err.HTTPStatus != 400 || err.Code != CodeMediaUpload) {
					t.Errorf("got %d/%d, want 400/131053", err.HTTPStatus, err.Code)
				}
			})
		}
	}
}

// TestMediaErrorBodies pins the exact bytes of the media errors.
func TestMediaErrorBodies(t *testing.T) {
	image, _ := MediaKindOf("image/jpeg")
	sticker, _ := MediaKindOf("image/webp")
	cases := []struct {
		name string
		e    *Error
		http int
		want string
	}{
		{"upload error carries the reason as details", MediaUploadError("bad file"), 400,
			`{"error":{"message":"(#131053) Media upload error","type":"OAuthException","code":131053,` +
				`"error_data":{"messaging_product":"whatsapp","details":"bad file"},"fbtrace_id":"trace"}}`},
		{"unsupported type lists Meta's table and names the type received", UnsupportedMediaType("application/zip"), 400,
			`{"error":{"message":"(#131053) Media upload error","type":"OAuthException","code":131053,` +
				`"error_data":{"messaging_product":"whatsapp","details":"Param file must be a file with one of the following types: ` +
				`audio\/aac, audio\/amr, audio\/mpeg, audio\/mp4, audio\/ogg, text\/plain, application\/pdf, application\/msword, ` +
				`application\/vnd.ms-excel, application\/vnd.ms-powerpoint, ` +
				`application\/vnd.openxmlformats-officedocument.wordprocessingml.document, ` +
				`application\/vnd.openxmlformats-officedocument.spreadsheetml.sheet, ` +
				`application\/vnd.openxmlformats-officedocument.presentationml.presentation, ` +
				`image\/jpeg, image\/png, image\/webp, video\/mp4, video\/3gpp. Received file of type 'application\/zip'."},` +
				`"fbtrace_id":"trace"}}`},
		{"too large in MB with exact bytes", MediaTooLarge(image, 6501171), 400,
			`{"error":{"message":"(#131053) Media upload error","type":"OAuthException","code":131053,` +
				`"error_data":{"messaging_product":"whatsapp","details":"file is 6.2 MB (6501171 bytes); ` +
				`image files may be at most 5 MB (5242880 bytes)"},"fbtrace_id":"trace"}}`},
		{"one byte over reads differently from the limit", MediaTooLarge(image, 5*1024*1024+1), 400,
			`{"error":{"message":"(#131053) Media upload error","type":"OAuthException","code":131053,` +
				`"error_data":{"messaging_product":"whatsapp","details":"file is 5.0 MB (5242881 bytes); ` +
				`image files may be at most 5 MB (5242880 bytes)"},"fbtrace_id":"trace"}}`},
		{"sticker limit in KB", MediaTooLarge(sticker, 600*1024), 400,
			`{"error":{"message":"(#131053) Media upload error","type":"OAuthException","code":131053,` +
				`"error_data":{"messaging_product":"whatsapp","details":"file is 600.0 KB (614400 bytes); ` +
				`sticker files may be at most 500 KB (512000 bytes)"},"fbtrace_id":"trace"}}`},
		{"media not found is Graph's unknown object", MediaNotFound("get", "1852559851913765"), 400,
			`{"error":{"message":"Unsupported get request. Object with ID '1852559851913765' does not exist, ` +
				`cannot be loaded due to missing permissions, or does not support this operation. ` +
				`Please read the Graph API documentation at https:\/\/developers.facebook.com\/docs\/graph-api",` +
				`"type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"trace"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.e.HTTPStatus != c.http {
				t.Errorf("HTTP %d, want %d", c.e.HTTPStatus, c.http)
			}
			if got := string(c.e.Body("trace")); got != c.want {
				t.Errorf("body\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestAppendSize pins the human-readable sizes of MediaTooLarge.
func TestAppendSize(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{1023, "1023 bytes"},
		{1024, "1.0 KB"},
		{1536, "1.5 KB"},
		{1024*1024 - 1, "1024.0 KB"},
		{1024 * 1024, "1.0 MB"},
		{100 * 1024 * 1024, "100.0 MB"},
	}
	for _, c := range cases {
		if got := string(appendSize(nil, c.n)); got != c.want {
			t.Errorf("appendSize(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	limits := []struct {
		n    int64
		want string
	}{
		{16 * 1024 * 1024, "16 MB"},
		{500 * 1024, "500 KB"},
		{1000, "1000 bytes"},
		{1024*1024 + 1024, "1025 KB"},
	}
	for _, c := range limits {
		if got := string(appendLimit(nil, c.n)); got != c.want {
			t.Errorf("appendLimit(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

// TestCheckMediaUpload pins the order and outcome of the upload checks.
func TestCheckMediaUpload(t *testing.T) {
	ok := MediaUpload{MessagingProduct: "whatsapp", HasFile: true, FileType: "image/jpeg", Type: "image/jpeg", Size: 1000}
	with := func(f func(*MediaUpload)) MediaUpload { u := ok; f(&u); return u }
	cases := []struct {
		name     string
		in       MediaUpload
		mime     string
		kind     string
		code     int
		details  string // checked when non-empty
		contains string // substring of details
	}{
		{"valid image", ok, "image/jpeg", "image", 0, "", ""},
		{"messaging_product case-insensitive", with(func(u *MediaUpload) { u.MessagingProduct = "WhatsApp" }), "image/jpeg", "image", 0, "", ""},
		{"messaging_product missing", with(func(u *MediaUpload) { u.MessagingProduct = "" }), "", "", 100,
			"The parameter messaging_product is required.", ""},
		{"messaging_product not whatsapp", with(func(u *MediaUpload) { u.MessagingProduct = "instagram" }), "", "", 100,
			`Param messaging_product must be "whatsapp".`, ""},
		{"messaging_product checked before the file", MediaUpload{MessagingProduct: "sms"}, "", "", 100,
			`Param messaging_product must be "whatsapp".`, ""},
		{"file missing", with(func(u *MediaUpload) { u.HasFile = false }), "", "", 100, "The parameter file is required.", ""},
		{"part type wins over the type field", with(func(u *MediaUpload) { u.Type = "image/png" }), "image/jpeg", "image", 0, "", ""},
		{"octet-stream part falls back to the type field",
			with(func(u *MediaUpload) { u.FileType = "application/octet-stream"; u.Type = "video/3gp" }), "video/3gpp", "video", 0, "", ""},
		{"part without type falls back to the type field",
			with(func(u *MediaUpload) { u.FileType = ""; u.Type = "audio/ogg; codecs=opus" }), "audio/ogg", "audio", 0, "", ""},
		{"part type used when type field is absent",
			with(func(u *MediaUpload) { u.FileType = "Application/PDF"; u.Type = "" }), "application/pdf", "document", 0, "", ""},
		{"unsupported names the part type",
			with(func(u *MediaUpload) { u.FileType = "application/octet-stream"; u.Type = "image/gif" }), "", "", 131053, "",
			"Received file of type 'application/octet-stream'."},
		{"unsupported without part type names the field",
			with(func(u *MediaUpload) { u.FileType = ""; u.Type = "image/gif" }), "", "", 131053, "",
			"Received file of type 'image/gif'."},
		{"no type at all", with(func(u *MediaUpload) { u.FileType = ""; u.Type = "" }), "", "", 131053, "",
			"Received file of type ''."},
		{"exactly the limit of the resolved kind", with(func(u *MediaUpload) { u.FileType = "image/webp"; u.Size = 500 * 1024 }),
			"image/webp", "sticker", 0, "", ""},
		{"over the limit of the resolved kind", with(func(u *MediaUpload) { u.FileType = "image/webp"; u.Size = 500*1024 + 1 }),
			"", "", 131053, "", "sticker files may be at most 500 KB"},
		{"unknown size is not checked", with(func(u *MediaUpload) { u.Size = -1 }), "image/jpeg", "image", 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mime, kind, err := CheckMediaUpload(c.in)
			if c.code == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if mime != c.mime || kind.Name != c.kind {
					t.Errorf("got %q/%q, want %q/%q", mime, kind.Name, c.mime, c.kind)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, got %q/%q", mime, kind.Name)
			}
			if err.Code != c.code || err.HTTPStatus != 400 {
				t.Errorf("got %d/%d, want 400/%d", err.HTTPStatus, err.Code, c.code)
			}
			if c.details != "" && err.Details != c.details {
				t.Errorf("details %q, want %q", err.Details, c.details)
			}
			if !strings.Contains(err.Details, c.contains) {
				t.Errorf("details %q lack %q", err.Details, c.contains)
			}
			if mime != "" || kind != (MediaKind{}) {
				t.Errorf("error with a result %q/%+v", mime, kind)
			}
		})
	}
}

// TestCheckMediaUploadMatchesSendToForm pins that a bad messaging_product
// gets the very error a send body gets.
func TestCheckMediaUploadMatchesSendToForm(t *testing.T) {
	_, want := SendToForm(nil, []byte(`{"messaging_product":"sms","to":"1","text":{"body":"x"}}`), SendOptions{})
	_, _, got := CheckMediaUpload(MediaUpload{MessagingProduct: "sms", HasFile: true, FileType: "image/png"})
	if want == nil || got == nil || string(got.Body("t")) != string(want.Body("t")) {
		t.Errorf("upload %v, send %v", got, want)
	}
}

// TestMediaAnswers pins the exact bytes of the media success answers.
func TestMediaAnswers(t *testing.T) {
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"upload answer", MediaUploadResponse(nil, "4490709327384033"), `{"id":"4490709327384033"}`},
		{"upload answer escapes the id", MediaUploadResponse(nil, `a"b/c`), `{"id":"a\"b\/c"}`},
		{"upload answer appends to dst", MediaUploadResponse([]byte("x"), "1"), `x{"id":"1"}`},
		{"info with every member, in Graph's order",
			MediaInfo(nil, MediaMeta{ID: "1852559851913765", URL: "https://proxy.example/v21.0/media/1852559851913765/download?t=abc.def",
				MimeType: "image/jpeg", SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Size: 303833}),
			`{"messaging_product":"whatsapp","url":"https:\/\/proxy.example\/v21.0\/media\/1852559851913765\/download?t=abc.def",` +
				`"mime_type":"image\/jpeg","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",` +
				`"file_size":303833,"id":"1852559851913765"}`},
		{"info with zero size keeps file_size",
			MediaInfo(nil, MediaMeta{ID: "1", URL: "u", MimeType: "text/plain", SHA256: "ab", Size: 0}),
			`{"messaging_product":"whatsapp","url":"u","mime_type":"text\/plain","sha256":"ab","file_size":0,"id":"1"}`},
		{"info without sha256 and size",
			MediaInfo(nil, MediaMeta{ID: "7", URL: "https://h/x", MimeType: "audio/ogg", Size: -1}),
			`{"messaging_product":"whatsapp","url":"https:\/\/h\/x","mime_type":"audio\/ogg","id":"7"}`},
		{"info with size but no sha256",
			MediaInfo(nil, MediaMeta{ID: "7", URL: "u", MimeType: "video/mp4", Size: 16777216}),
			`{"messaging_product":"whatsapp","url":"u","mime_type":"video\/mp4","file_size":16777216,"id":"7"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if string(c.got) != c.want {
				t.Errorf("\n got %s\nwant %s", c.got, c.want)
			}
			body := c.got
			if body[0] == 'x' {
				body = body[1:]
			}
			if !gjson.ValidBytes(body) {
				t.Errorf("invalid JSON %s", body)
			}
		})
	}
}

// TestGupshupMediaID pins which upload answers yield a media id.
func TestGupshupMediaID(t *testing.T) {
	cases := []struct {
		name, body, id string
		ok             bool
	}{
		{"documented string", `{"mediaId":"1852559851913765","status":"success"}`, "1852559851913765", true},
		{"number keeps its digits", `{"status":"success","mediaId":18525598519137659}`, "18525598519137659", true},
		{"non-numeric string kept", `{"mediaId":"abc-123"}`, "abc-123", true},
		{"empty string", `{"mediaId":"","status":"success"}`, "", false},
		{"missing", `{"status":"success"}`, "", false},
		{"null", `{"mediaId":null}`, "", false},
		{"float refused", `{"mediaId":1.5}`, "", false},
		{"exponent refused", `{"mediaId":1e20}`, "", false},
		{"negative refused", `{"mediaId":-5}`, "", false},
		{"object refused", `{"mediaId":{"id":"1"}}`, "", false},
		{"error answer", `{"status":"error","message":"Only CAPI apps allowed to generate media ID"}`, "", false},
		{"not JSON", `<html>`, "", false},
		{"empty body", ``, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, ok := GupshupMediaID([]byte(c.body))
			if id != c.id || ok != c.ok {
				t.Errorf("got %q, %v; want %q, %v", id, ok, c.id, c.ok)
			}
		})
	}
}

// TestUpstreamMediaError pins how Gupshup's media failures reach the client.
func TestUpstreamMediaError(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		body        string
		http, code  int
		sub         int
		rule        string
		wantMessage string // substring of error.message
	}{
		{"400 invalid media id is Graph's unknown object", 400, `{"status":"error","message":"Invalid Media Id"}`,
			400, 100, 33, "invalid_media_id", "Unsupported get request. Object with ID '42' does not exist"},
		{"404 invalid media id is Graph's unknown object", 404, `{"status":"error","message":"invalid media id"}`,
			400, 100, 33, "invalid_media_id", "Object with ID '42'"},
		{"invalid media id in a message object", 400, `{"status":"error","message":{"message":"Invalid Media Id"}}`,
			400, 100, 33, "invalid_media_id", "Object with ID '42'"},
		{"500 with the same text stays a server error", 500, `{"status":"error","message":"Invalid Media Id"}`,
			500, 131000, 0, "upstream_5xx", "(#131000)"},
		{"413 file size", 413, `{"status":"error","message":"File size exceeds the maximum limit!"}`,
			400, 131053, 0, "file_too_large", "(#131053) Media upload error"},
		{"only CAPI apps", 400, `{"status":"error","message":"Only CAPI apps allowed to generate media ID"}`,
			403, 10, 0, "capi_only", "(#10) Permission denied"},
		{"unable to upload", 500, `{"status":"error","message":"Unable to upload requested Media"}`,
			500, 131000, 0, "upstream_5xx", "(#131000) Something went wrong"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := UpstreamMediaError("get", "42", c.status, []byte(c.body), "")
			r := gjson.ParseBytes(e.Body("T")).Get("error")
			if e.HTTPStatus != c.http || e.Code != c.code || int(r.Get("error_subcode").Int()) != c.sub || e.Rule != c.rule {
				t.Errorf("got http=%d code=%d rule=%s %s", e.HTTPStatus, e.Code, e.Rule, e.Body("T"))
			}
			if !strings.Contains(r.Get("message").Str, c.wantMessage) {
				t.Errorf("message %q lacks %q", r.Get("message").Str, c.wantMessage)
			}
		})
	}
}
