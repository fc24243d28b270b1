// Package translate holds the pure translations between Meta's WhatsApp Cloud
// API and Gupshup's Partner API: request bodies, success answers, error
// envelopes and (later) webhooks.
//
// Everything here is a function of its arguments: no I/O, no globals, no
// clocks. Client JSON is never decoded into Go values and re-encoded; members
// are copied as the exact bytes the client sent (gjson's Raw), so numbers keep
// their digits and fields the proxy does not know pass through untouched.
package translate
