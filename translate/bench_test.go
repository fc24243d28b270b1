package translate

import (
	"encoding/json"
	"os"
	"testing"
)

func benchFixture(b *testing.B, name string) []byte {
	b.Helper()
	body, err := os.ReadFile("testdata/send/" + name + ".json")
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkSendToForm measures request translation per message kind with a
// reused destination buffer, as the handler does.
func BenchmarkSendToForm(b *testing.B) {
	for _, name := range []string{"text_basic", "image_by_link_caption", "interactive_list", "template_carousel"} {
		body := benchFixture(b, name)
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				s, e := SendToForm(buf, body, SendOptions{NormalizeTemplateButtons: true})
				if e != nil {
					b.Fatal(e)
				}
				buf = s.Form[:0]
			}
		})
	}
}

// BenchmarkTemplateV2Form measures the template/msg translation of a v2
// number's template sends with a reused destination buffer.
func BenchmarkTemplateV2Form(b *testing.B) {
	for _, name := range []string{"seed002_params_three", "lto_media_copy_code_url", "named_params_in_text_order", "carousel_image_cards", "mpm_sections_and_thumbnail"} {
		var fx v2Fixture
		if err := json.Unmarshal(readBenchFile(b, "testdata/templatev2/"+name+".json"), &fx); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			opt := v2DefaultOptions
			b.ReportAllocs()
			b.SetBytes(int64(len(fx.Body)))
			for b.Loop() {
				form, _, e := TemplateV2Form(buf[:0], fx.Body, fx.Template, opt)
				if e != nil {
					b.Fatal(e)
				}
				buf = form
			}
		})
	}
}

func readBenchFile(b *testing.B, path string) []byte {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkSendResponse(b *testing.B) {
	up := []byte(`{"messages":[{"id":"8b149927-8f3c-40da-b62c-58eeff60903e"}],"messaging_product":"whatsapp","contacts":[{"input":"919970123444","wa_id":"919970123444"}]}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		out, e := SendResponse(buf[:0], up, "919970123444")
		if e != nil {
			b.Fatal(e)
		}
		buf = out
	}
}

func BenchmarkUpstreamError(b *testing.B) {
	body := []byte(`{"status":"error","message":"Number does not exist on WhatsApp","code":1002}`)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		e := UpstreamError(400, body, "")
		buf = e.AppendBody(buf[:0], "AI5Ob2z72R0JAUB5zOF-nao")
	}
}
