// Package translate holds the pure translations between Meta's WhatsApp Cloud
// API and Gupshup's Partner API: request bodies, success answers, error
// envelopes and (later) webhooks.
//
// Everything here is a function of its arguments: no I/O, no globals, no
// clocks. Client JSON is never decoded into Go values and re-encoded; members
// are copied as the exact bytes the client sent (gjson's Raw), so numbers keep
// their digits and fields the proxy does not know pass through untouched.
//
// Phone numbers set to Gupshup's older v2 send API (no v3 passthrough)
// can send templates only, through POST /partner/app/{appId}/template/msg
// (templatev2.go): V2TemplateRef names the template a Meta send asks for,
// ParseV2Templates reads the app's template list so the caller can find its
// Gupshup id, TemplateV2Form turns the Meta components into that call's form
// (template id and positional params, a message for a media header or a
// carousel, postbackTexts for quick replies) and TemplateV2Response builds
// Meta's send answer. Whatever the v2 call cannot carry is a Meta error that
// names it; session messages get SessionNeedsV3.
package translate
