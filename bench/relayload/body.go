package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// bodyParams are the parts of a Gupshup v3 callback that name the app and
// its number (Gupshup's own phone_number_id and WABA id, as in
// translate/testdata/webhook/v3).
type bodyParams struct {
	AppID        string // gs_app_id
	WABAID       string // entry[].id
	PhoneID      string // Gupshup's metadata.phone_number_id (the proxy replaces it)
	DisplayPhone string // metadata.display_phone_number
}

// statuses rotates the status of successive events; sent and delivered
// carry conversation and pricing like Gupshup's (and Meta's) callbacks.
var statuses = [...]string{"sent", "delivered", "read"}

// gsID is the Gupshup message id of event seq of run: a UUID whose first
// group is the run and whose last group is seq, so every event has its own
// dedup key (status:<gs_id>:<status>) and a delivery names its event.
func gsID(run uint32, seq uint64) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", run, seq&0xffffffffffff)
}

// wamidMarker precedes the run and seq inside a wamid's bytes.
const wamidMarker = "\x15\x02\x00\x11\x18\x14"

// wamid is the Meta message id of event seq: base64 of bytes shaped like
// a real wamid (recipient, then an id), ending in the run and seq in hex.
func wamid(run uint32, seq uint64) string {
	raw := fmt.Sprintf("\x1c\x18\x0c%s%s%08X%012X\x00", recipient(seq), wamidMarker, run, seq&0xffffffffffff)
	return "wamid." + base64.StdEncoding.EncodeToString([]byte(raw))
}

// recipient is a plausible Indian mobile number varying with seq.
func recipient(seq uint64) string {
	return "91" + strconv.FormatUint(9000000000+seq%1000000000, 10)
}

// callback appends the v3 status callback of event seq to dst.
func callback(dst []byte, p bodyParams, run uint32, seq uint64, unix int64) []byte {
	st := statuses[seq%uint64(len(statuses))]
	dst = fmt.Appendf(dst, `{"object":"whatsapp_business_account","gs_app_id":%q,"entry":[{"id":%q,"changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":%q,"phone_number_id":%q},"statuses":[{"gs_id":%q,"id":%q,"recipient_id":%q,"status":%q,"timestamp":"%d"`,
		p.AppID, p.WABAID, p.DisplayPhone, p.PhoneID, gsID(run, seq), wamid(run, seq), recipient(seq), st, unix)
	if st != "read" {
		dst = fmt.Appendf(dst, `,"conversation":{"id":"%032x","expiration_timestamp":"%d","origin":{"type":"service"}},"pricing":{"billable":true,"category":"service","pricing_model":"PMP","type":"regular"}`,
			uint64(run)<<32|seq, unix+86400)
	}
	return append(dst, `}]}}]}]}`...)
}

// statusesKey and idKey find the first status id of a Meta webhook body
// (translate writes statuses[].id first).
var (
	statusesKey = []byte(`"statuses":[`)
	idKey       = []byte(`"id":"`)
)

// eventOf finds which event a delivered Meta webhook body is: the status
// id is the gs_id (webhooks.status_id_from_gs_id, the default) or the
// wamid. ok is false for a body of another run or shape.
func eventOf(body []byte, run uint32) (seq uint64, ok bool) {
	i := bytes.Index(body, statusesKey)
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(statusesKey):]
	j := bytes.Index(rest, idKey)
	if j < 0 {
		return 0, false
	}
	rest = rest[j+len(idKey):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return 0, false
	}
	return parseEventID(string(rest[:end]), run)
}

// parseEventID inverts gsID and wamid.
func parseEventID(id string, run uint32) (uint64, bool) {
	var runHex, seqHex string
	if b64, isWAMID := strings.CutPrefix(id, "wamid."); isWAMID {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return 0, false
		}
		k := bytes.Index(raw, []byte(wamidMarker))
		if k < 0 || len(raw) != k+len(wamidMarker)+21 || raw[len(raw)-1] != 0 {
			return 0, false
		}
		tail := string(raw[k+len(wamidMarker) : len(raw)-1])
		runHex, seqHex = tail[:8], tail[8:]
	} else {
		if len(id) != 36 || id[8:24] != "-0000-4000-8000-" {
			return 0, false
		}
		runHex, seqHex = id[:8], id[24:]
	}
	r, err := strconv.ParseUint(runHex, 16, 32)
	if err != nil || uint32(r) != run {
		return 0, false
	}
	seq, err := strconv.ParseUint(seqHex, 16, 64)
	if err != nil {
		return 0, false
	}
	return seq, true
}
