package translate

import "testing"

// Benchmarks of the translators not covered by bench_test.go and
// webhook_bench_test.go: Flows, media, id rewriting, form bodies and the v2
// template answers. Each input is a realistic Meta or Gupshup body.

var flowObject = []byte(`{"id":"1234567890123456","name":"Réservation ☕","status":"PUBLISHED","categories":["APPOINTMENT_BOOKING","OTHER"],` +
	`"validation_errors":[],"json_version":"6.0","data_api_version":"3.0","health_status":{"can_send_message":"AVAILABLE","entities":[` +
	`{"entity_type":"FLOW","id":"1234567890123456","can_send_message":"AVAILABLE"},{"entity_type":"WABA","id":"999","can_send_message":"AVAILABLE"}]}}`)

func BenchmarkFlows(b *testing.B) {
	create := []byte(`{"name":"Réservation ☕","categories":["APPOINTMENT_BOOKING","OTHER"],"flow_json":"{\"version\":\"6.0\",\"screens\":[]}","publish":true}`)
	list := []byte(`{"status":"success","flows":[` + string(flowObject) + `,` + string(flowObject) + `]}`)
	preview := []byte(`{"id":"1234567890123456","preview":{"preview_url":"https://business.facebook.com/wa/manage/flows/1234567890123456/preview/?token=abc","expires_at":"2026-12-30T11:41:24+0000"}}`)
	fields := ParseFlowFields("id,name,status,categories,validation_errors,json_version,health_status,preview.invalidate(false)")
	dst := make([]byte, 0, 4096)
	b.Run("create_request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, e := FlowCreateRequest(create); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("get_response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, e := FlowGetResponse(dst[:0], flowObject, preview, fields, "102290129340398"); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("list_response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, e := FlowListResponse(dst[:0], list); e != nil {
				b.Fatal(e)
			}
		}
	})
}

func BenchmarkMedia(b *testing.B) {
	dst := make([]byte, 0, 1024)
	m := MediaMeta{ID: "1751740922668458", URL: "https://proxy.example.com/waproxy/media/1751740922668458?token=abc.def",
		MimeType: "image/jpeg", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 204800}
	b.Run("info", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = MediaInfo(dst[:0], m)
		}
	})
	b.Run("gupshup_media_id", func(b *testing.B) {
		body := []byte(`{"status":"success","mediaId":"1751740922668458"}`)
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := GupshupMediaID(body); !ok {
				b.Fatal("no media id")
			}
		}
	})
}

func BenchmarkRewriteMessageIDs(b *testing.B) {
	body := []byte(`{"messaging_product":"whatsapp","to":"15551234567","type":"text","context":{"message_id":"8b149927-8f3c-40da-b62c-58eeff60903e"},"text":{"body":"a reply"}}`)
	lookup := func(string) (string, bool) { return "wamid.HBgLMTU1NTAwMDAwMDEVAgARGBI0", true }
	b.ReportAllocs()
	for b.Loop() {
		if _, n := RewriteMessageIDs(body, lookup); n != 1 {
			b.Fatal("not rewritten")
		}
	}
}

func BenchmarkFieldsToJSON(b *testing.B) {
	fields := []Field{{"messaging_product", "whatsapp"}, {"to", "15551234567"}, {"type", "template"},
		{"template", `{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"Zoë"}]}]}`}}
	b.ReportAllocs()
	for b.Loop() {
		_ = FieldsToJSON(fields)
	}
}

func BenchmarkTemplateV2Answers(b *testing.B) {
	list := []byte(`{"status":"success","templates":[{"id":"3b9bf65b-979c-44d3-a269-dec2f20c4e52","elementName":"order_update","languageCode":"en",` +
		`"status":"APPROVED","templateType":"TEXT","data":"Hi {{1}} | [Track]","containerMeta":"{\"header\":\"Order {{1}}\",\"data\":\"Hi {{1}}, your order ships {{2}}.\",\"buttons\":[{\"type\":\"QUICK_REPLY\",\"text\":\"Track\"}]}"}]}`)
	answer := []byte(`{"status":"submitted","messageId":"b1c2acb-3f2e-4a5b-98cd-64f1e2ea9a01"}`)
	dst := make([]byte, 0, 512)
	b.Run("parse_list", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if t, e := ParseV2Templates(list); e != nil || len(t) != 1 {
				b.Fatal(e)
			}
		}
	})
	b.Run("send_response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, e := TemplateV2Response(dst[:0], answer, "+1 (631) 555-1234"); e != nil {
				b.Fatal(e)
			}
		}
	})
}
