package translate

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Template sends on Gupshup's older POST /partner/app/{appId}/template/msg
// call (apps without the v3 passthrough): Meta's template name, language
// and components become a Gupshup template id, positional params, a
// message (media header, carousel) and postbackTexts (quick replies).
//
// The server's path for a number with send_api v2:
//
//   - V2TemplateRef reads the template name and language of a send;
//     the server looks them up in the app's template list (GET
//     /partner/app/{appId}/templates, read by ParseV2Templates); none
//     approved is TemplateNotFound.
//   - TemplateV2Form builds the form body of template/msg;
//     TemplateV2Response turns Gupshup's {"status":"submitted","messageId"}
//     into Meta's send answer. Failures go through UpstreamError, whose
//     table knows template/msg's own wordings.
//   - Any other message type is SessionNeedsV3.
//
// Where the v2 call has no place for something a Meta client sent (a
// context, a card's body parameters, a flow button's action, …) the answer
// is a Meta error naming it, never a silent drop.

// V2Template is one of an app's Gupshup templates (an item of GET
// /partner/app/{appId}/templates), as the v2 translation needs it.
type V2Template struct {
	ID       string // Gupshup template id
	Name     string // elementName (Meta's template name)
	Language string // languageCode, e.g. "en" or "en_US"
	Status   string // e.g. "APPROVED"
	Type     string // templateType in upper case: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION, CAROUSEL, CATALOG, PRODUCT, LTO …
	Header   string // header text with its placeholder ("" for none or a media header)
	Body     string // body text with {{1}} or {{name}} placeholders
	Buttons  []V2Button
}

// V2Button is a template button, in the template's order (its index).
type V2Button struct {
	Type string // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, FLOW, CATALOG, MPM, OTP … (upper case)
	Text string
}

// V2ButtonParams values (V2Options.ButtonParams).
const (
	// V2ButtonParamsAppend appends URL-button suffixes and copy codes to
	// template.params after the header and body params (the default).
	V2ButtonParamsAppend = "append"
	// V2ButtonParamsReject answers a Meta error for them instead.
	V2ButtonParamsReject = "reject"
)

// V2Options are the per-number settings of a template/msg send.
type V2Options struct {
	Source       string // the sending number, digits only ("source")
	AppName      string // the Gupshup app name ("src.name")
	Sandbox      bool   // "sandbox"
	ButtonParams string // V2ButtonParamsAppend ("" means it) or V2ButtonParamsReject
}

// v2Via is how the v2 errors name the call that cannot carry something.
const v2Via = "Gupshup's template/msg API (this number's v2 send path)"

// ParseV2Templates reads Gupshup's template list answer
// {"status":"success","templates":[…]} (also a bare array or {"data":[…]})
// into V2Templates, in Gupshup's order.
//
// containerMeta is a JSON string (an object is read too) holding
// {"header","data","footer","buttons":[{"type","text","url"?}],…}: Body is
// its data when that is a string, else the item's "data"; Header its header;
// Buttons its buttons, types upper-cased. templateType is upper-cased. Items
// that are not objects or lack id or elementName are skipped. A body that is
// no such list is an upstream bad answer (500, code 131000).
func ParseV2Templates(gupshup []byte) ([]V2Template, *Error) {
	root := parseAnswer(gupshup)
	list := root
	if root.IsObject() {
		list = root.Get("templates")
		if !list.IsArray() {
			list = root.Get("data")
		}
	}
	if !list.IsArray() {
		return nil, v2BadAnswer("The upstream answered the template list request with a body the gateway cannot read.")
	}
	var out []V2Template
	list.ForEach(func(_, it gjson.Result) bool {
		if !it.IsObject() {
			return true
		}
		t := V2Template{ID: scalarString(it.Get("id")), Name: scalarString(it.Get("elementName"))}
		if t.ID == "" || t.Name == "" {
			return true
		}
		t.Language = it.Get("languageCode").String()
		t.Status = it.Get("status").String()
		t.Type = strings.ToUpper(it.Get("templateType").String())
		cm := it.Get("containerMeta")
		if cm.Type == gjson.String {
			cm = parseAnswer([]byte(cm.Str))
		}
		if !cm.IsObject() {
			cm = gjson.Result{}
		}
		if d := cm.Get("data"); d.Type == gjson.String {
			t.Body = d.Str
		} else if d := it.Get("data"); d.Type == gjson.String {
			t.Body = d.Str
		}
		if h := cm.Get("header"); h.Type == gjson.String {
			t.Header = h.Str
		}
		cm.Get("buttons").ForEach(func(_, b gjson.Result) bool {
			if b.IsObject() {
				t.Buttons = append(t.Buttons, V2Button{
					Type: strings.ToUpper(b.Get("type").String()), Text: b.Get("text").String()})
			}
			return true
		})
		out = append(out, t)
		return true
	})
	return out, nil
}

// V2TemplateRef returns template.name and template.language.code of a Meta
// send body (type template). A body that is not a JSON object is
// InvalidParameter; a missing template, name or language code is
// MissingParameter("template") / ("template.name") /
// ("template.language.code").
func V2TemplateRef(body []byte) (name, lang string, e *Error) {
	root := gjson.ParseBytes(body)
	if !root.IsObject() || !gjson.ValidBytes(body) {
		return "", "", InvalidParameter("The request body must be a JSON object.")
	}
	root = gjson.ParseBytes(lastMembersValid(body))
	return templateRef(root.Get("template"))
}

// templateRef reads name and language.code of a template object.
func templateRef(t gjson.Result) (name, lang string, e *Error) {
	if !present(t) {
		return "", "", MissingParameter("template")
	}
	if !t.IsObject() {
		return "", "", InvalidParameter("Param template must be a JSON object.")
	}
	n := t.Get("name")
	if n.Type != gjson.String || n.Str == "" {
		return "", "", MissingParameter("template.name")
	}
	c := t.Get("language.code")
	if c.Type != gjson.String || c.Str == "" {
		return "", "", MissingParameter("template.language.code")
	}
	return n.Str, c.Str, nil
}

// SessionNeedsV3 is the answer to a message other than a template (any
// type but template, not a status update) for a number that sends through
// Gupshup's template/msg API.
func SessionNeedsV3(msgType string) *Error {
	return &Error{HTTPStatus: 400, Code: CodeUnsupportedType, Title: "Unsupported message type",
		Details: "This phone number sends through Gupshup's template/msg API, so only template messages are available; " +
			"a " + strconv.Quote(msgType) + " message (a session message) needs the v3 passthrough enabled on the Gupshup app."}
}

// TemplateNotFound is the answer when the app has no approved template
// with that name and language.
func TemplateNotFound(name, lang string) *Error {
	return &Error{HTTPStatus: 404, Code: CodeTemplateMissing, Title: "Template name does not exist in the translation",
		Details: "template '" + name + "' (" + lang + ") is not an approved template of this number's Gupshup app"}
}

// TemplateV2Response turns template/msg's answer
// {"status":"submitted","messageId":"…"} into Meta's send answer, appended
// to dst:
//
//	{"messaging_product":"whatsapp","contacts":[{"input":to,"wa_id":digits(to)}],"messages":[{"id":messageId}]}
//
// An answer without a messageId, or with status "error", is an upstream bad
// answer (500, code 131000), as for SendResponse; dst is returned unchanged.
func TemplateV2Response(dst, gupshup []byte, to string) ([]byte, *Error) {
	root := parseAnswer(gupshup)
	if st := lastMember(root, "status"); st.Type == gjson.String && strings.EqualFold(st.Str, "error") {
		msg, code := upstreamMessage(root)
		return dst, v2BadAnswer("The upstream answered the send with a success status but an error (" +
			upstreamDetails(msg, code) + "); the message was probably not sent.")
	}
	id, _ := idString(lastMember(root, "messageId"))
	if id == "" {
		return dst, v2BadAnswer("The upstream accepted the request but its answer carried no message id; the message may have been sent.")
	}
	dst = append(dst, `{"messaging_product":"whatsapp","contacts":[{"input":`...)
	dst = AppendMetaString(dst, to)
	dst = append(dst, `,"wa_id":"`...)
	dst = appendDigits(dst, to)
	dst = append(dst, `"}],"messages":[{"id":`...)
	dst = AppendMetaString(dst, id)
	return append(dst, "}]}"...), nil
}

// v2BadAnswer is the error for a 2xx Gupshup answer the proxy cannot use.
func v2BadAnswer(details string) *Error {
	return &Error{HTTPStatus: 500, Code: CodeGeneric, Title: "Something went wrong", Details: details,
		Rule: "upstream_bad_answer"}
}

// appendDigits appends the ASCII digits of s.
func appendDigits(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			dst = append(dst, s[i])
		}
	}
	return dst
}

// bsuidRecipient is the 100 error for a recipient given as a BSUID.
func bsuidRecipient() *Error {
	return InvalidParameter("A recipient given as a BSUID (\"recipient\", or a \"to\" that is not a phone number) cannot be reached through " +
		v2Via + ", which takes phone numbers only; BSUID recipients need the v3 passthrough.")
}

// v2Required is the 100 error for a member missing inside the template.
func v2Required(what string) *Error {
	return InvalidParameter("The " + what + " is required.")
}

// v2Unsupported is the 100 error for something the v2 call cannot carry.
func v2Unsupported(what string) *Error {
	return InvalidParameter(what + " cannot be sent through " + v2Via + "; it needs the v3 passthrough enabled on the Gupshup app.")
}

// TemplateV2Form translates a Meta /messages body (a JSON object of type
// "template") for the app's template tpl into the
// application/x-www-form-urlencoded body of template/msg, appended to dst,
// and returns it with "to" as the client wrote it (for the answer's
// contacts.input). Fields, in this order:
//
//	channel=whatsapp, source=<opt.Source>, src.name=<opt.AppName>,
//	destination=<digits of to>, sandbox=true|false,
//	template={"id":tpl.ID,"params":[…],"expiration"?:ms,"mpm"?:{"sections":[…]}},
//	message=<JSON> (media header or carousel only),
//	postbackTexts=[{"index":n,"text":payload},…] (quick replies only)
//
// params are header text params, body params, button params in button index
// order (URL suffixes, copy codes; only with ButtonParams append), then the
// catalog / MPM thumbnail. Positional params keep the client's order; named
// ones follow the first position of each {{name}} in tpl.Header / tpl.Body.
// When tpl.Header / tpl.Body are known (non-empty) the number of header /
// body params must match their distinct placeholders (else 400, code
// 132000). JSON is written with Meta's escaping; numbers keep their bytes.
//
// Anything the v2 call cannot carry is a code 100 error naming it. On error
// dst is returned unchanged.
func TemplateV2Form(dst, body []byte, tpl V2Template, opt V2Options) (form []byte, to string, e *Error) {
	root := gjson.ParseBytes(body)
	if !root.IsObject() || !gjson.ValidBytes(body) {
		return dst, "", InvalidParameter("The request body must be a JSON object.")
	}
	// A repeated member counts with its last value, as on Graph.
	body = lastMembersValid(body)
	root = gjson.ParseBytes(body)
	var toV, recipient, typ, tmpl, rtype gjson.Result
	var mp gjson.Result
	unknown := ""
	root.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "messaging_product":
			mp = v
		case "recipient_type":
			rtype = v
		case "to":
			toV = v
		case "recipient":
			recipient = v
		case "type":
			typ = v
		case "template":
			tmpl = v
		default:
			if unknown == "" {
				unknown = k.Str
			}
		}
		return true
	})
	if !mp.Exists() {
		return dst, "", MissingParameter("messaging_product")
	}
	if mp.Type != gjson.String || !strings.EqualFold(mp.Str, "whatsapp") {
		return dst, "", InvalidParameter(`Param messaging_product must be "whatsapp".`)
	}
	if toV.String() == "" {
		if recipient.String() != "" {
			return dst, "", bsuidRecipient()
		}
		return dst, "", MissingParameter("to")
	}
	if toV.Type != gjson.String && toV.Type != gjson.Number {
		return dst, "", InvalidParameter("Param to must be a string.")
	}
	to = scalarString(toV)
	if hasLetter(to) {
		return dst, to, bsuidRecipient()
	}
	if !hasDigit(to) {
		return dst, to, InvalidParameter("The 'to' value is not a valid WhatsApp phone number.")
	}
	switch {
	case !typ.Exists():
		return dst, to, SessionNeedsV3("text")
	case typ.Type != gjson.String || typ.Str == "":
		return dst, to, InvalidParameter("Param type must be a non-empty string.")
	case typ.Str != "template":
		return dst, to, SessionNeedsV3(typ.Str)
	}
	if rtype.Exists() && (rtype.Type != gjson.String || !strings.EqualFold(rtype.Str, "individual")) {
		return dst, to, v2Unsupported("recipient_type " + rtype.Raw + " (only \"individual\")")
	}
	if unknown != "" {
		return dst, to, v2Unsupported("The member " + strconv.Quote(unknown) + " of a send")
	}
	if _, _, e := templateRef(tmpl); e != nil {
		return dst, to, e
	}
	if tpl.ID == "" {
		return dst, to, Internal("template " + strconv.Quote(tpl.Name) + " has no Gupshup template id")
	}
	var s v2Send
	if e := s.read(tmpl, &tpl, opt); e != nil {
		return dst, to, e
	}

	start := len(dst)
	form = dst
	form = appendFormField(form, start, "channel", "whatsapp")
	form = appendFormField(form, start, "source", opt.Source)
	form = appendFormField(form, start, "src.name", opt.AppName)
	form = appendDigits(appendFormName(form, start, "destination"), to)
	form = appendFormField(form, start, "sandbox", strconv.FormatBool(opt.Sandbox))
	form = appendFormName(form, start, "template")
	js := len(form)
	form = s.appendTemplate(form, &tpl)
	form = escapeFormTail(form, js)
	if s.media.Exists() || s.cards.Exists() {
		form = appendFormName(form, start, "message")
		js = len(form)
		form = s.appendMessage(form)
		form = escapeFormTail(form, js)
	}
	if s.quickReplies > 0 {
		form = appendFormName(form, start, "postbackTexts")
		js = len(form)
		form = appendPostbacks(form, s.buttons[:s.nb])
		form = escapeFormTail(form, js)
	}
	return form, to, nil
}

// escapeFormTail escapes b[start:] in place for a urlencoded body, byte for
// byte as appendQueryEscape (net/url.QueryEscape), so JSON can be built in
// the destination buffer and escaped there without a copy.
func escapeFormTail(b []byte, start int) []byte {
	extra := 0
	for _, c := range b[start:] {
		if !formUnreserved(c) && c != ' ' {
			extra += 2
		}
	}
	n := len(b)
	if extra == 0 {
		for i := start; i < n; i++ {
			if b[i] == ' ' {
				b[i] = '+'
			}
		}
		return b
	}
	b = slices.Grow(b, extra)[:n+extra]
	const upperHex = "0123456789ABCDEF"
	j := len(b)
	for i := n - 1; i >= start; i-- {
		c := b[i]
		switch {
		case formUnreserved(c):
			j--
			b[j] = c
		case c == ' ':
			j--
			b[j] = '+'
		default:
			j -= 3
			b[j], b[j+1], b[j+2] = '%', upperHex[c>>4], upperHex[c&15]
		}
	}
	return b
}

// formUnreserved reports whether c stays as it is in a urlencoded value.
func formUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; 'a' <= c && c <= 'z' {
			return true
		}
	}
	return false
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			return true
		}
	}
	return false
}

// maxV2Buttons is the most button components a template send may have
// (Meta's limit of buttons per template).
const maxV2Buttons = 10

// Button kinds of a send's button components.
const (
	btnQuickReply = iota + 1
	btnURL
	btnCopyCode
	btnCatalog
	btnMPM
	btnFlow
)

// v2Btn is one button component of a send.
type v2Btn struct {
	index int
	kind  int
	value gjson.Result // payload, URL suffix or coupon code; absent for none
}

// v2Send is a template send's components, checked and sorted out for the
// v2 call (everything refers into the client's body).
type v2Send struct {
	header, body           gjson.Result // text parameters of the header / body component
	headerNamed, bodyNamed bool
	media                  gjson.Result // header media or location parameter object
	mediaType              string
	buttons                [maxV2Buttons]v2Btn // by index after read
	nb                     int                 // buttons used
	quickReplies           int                 // buttons with a postback text
	thumbnail              gjson.Result
	sections               gjson.Result // MPM action.sections
	expiration             string       // LTO expiration_time_ms digits
	cards                  gjson.Result // carousel cards
	cardType               string       // IMAGE or VIDEO
	seen                   [4]bool      // header, body, limited_time_offer, carousel components seen
}

const (
	seenHeader = iota
	seenBody
	seenLTO
	seenCarousel
)

// read checks the template's components and sorts them out.
func (s *v2Send) read(t gjson.Result, tpl *V2Template, opt V2Options) *Error {
	var bad string
	t.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		switch k.Str {
		case "name", "language", "components", "namespace":
		default:
			bad = "template." + k.Str
			return false
		}
		return true
	})
	if bad == "" {
		t.Get("language").ForEach(func(k, _ gjson.Result) bool {
			if k.Str != "code" && k.Str != "policy" {
				bad = "template.language." + k.Str
				return false
			}
			return true
		})
	}
	if bad != "" {
		return v2Unsupported("The member " + strconv.Quote(bad))
	}
	comps := t.Get("components")
	if !present(comps) {
		return s.checkCounts(tpl)
	}
	if !comps.IsArray() {
		return InvalidParameter("Param template.components must be an array.")
	}
	var e *Error
	i := 0
	comps.ForEach(func(_, c gjson.Result) bool {
		e = s.component(i, c, opt)
		i++
		return e == nil
	})
	if e != nil {
		return e
	}
	// Sort the buttons by index (few: insertion sort) and refuse doubles.
	b := s.buttons[:s.nb]
	for i := 1; i < len(b); i++ {
		for j := i; j > 0 && b[j].index < b[j-1].index; j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
	for i := 1; i < len(b); i++ {
		if b[i].index == b[i-1].index {
			return InvalidParameter("template.components has two button components with index " + strconv.Itoa(b[i].index) + ".")
		}
	}
	return s.checkCounts(tpl)
}

// component reads components[i].
func (s *v2Send) component(i int, c gjson.Result, opt V2Options) *Error {
	where := func() string { return "template.components[" + strconv.Itoa(i) + "]" }
	if !c.IsObject() {
		return InvalidParameter("Param " + where() + " must be a JSON object.")
	}
	ct := c.Get("type")
	if ct.Type != gjson.String || ct.Str == "" {
		return v2Required(where() + ".type")
	}
	params := c.Get("parameters")
	if present(params) && !params.IsArray() {
		return InvalidParameter("Param " + where() + ".parameters must be an array.")
	}
	switch foldKey(ct.Str, "header", "body", "button", "limited_time_offer", "carousel") {
	case "header":
		if e := s.once(seenHeader, "header"); e != nil {
			return e
		}
		return s.readHeader(params)
	case "body":
		if e := s.once(seenBody, "body"); e != nil {
			return e
		}
		named, e := valueParams(params, "body")
		s.body, s.bodyNamed = params, named
		return e
	case "button":
		return s.readButton(c, params, opt)
	case "limited_time_offer":
		if e := s.once(seenLTO, "limited_time_offer"); e != nil {
			return e
		}
		return s.readLTO(params)
	case "carousel":
		if e := s.once(seenCarousel, "carousel"); e != nil {
			return e
		}
		return s.readCarousel(c.Get("cards"))
	default:
		return v2Unsupported("The template component type " + strconv.Quote(ct.Str))
	}
}

// once refuses a second component of one type.
func (s *v2Send) once(k int, name string) *Error {
	if s.seen[k] {
		return InvalidParameter("template.components has more than one " + name + " component.")
	}
	s.seen[k] = true
	return nil
}

// readHeader reads the header parameters: text values or one media or
// location parameter.
func (s *v2Send) readHeader(params gjson.Result) *Error {
	first := params.Get("0")
	mt := foldKey(first.Get("type").String(), "image", "video", "document", "location")
	if mt == "" {
		named, e := valueParams(params, "header")
		s.header, s.headerNamed = params, named
		return e
	}
	if n := count(params); n > 1 {
		return InvalidParameter("The template header takes one " + mt + " parameter; " + strconv.Itoa(n) + " parameters were given.")
	}
	obj := first.Get(mt)
	if !obj.IsObject() {
		return v2Required("template header parameter " + mt)
	}
	if mt != "location" && scalarString(obj.Get("id")) == "" && scalarString(obj.Get("link")) == "" {
		return InvalidParameter("The template header " + mt + " parameter needs an id or a link.")
	}
	s.media, s.mediaType = obj, mt
	return nil
}

// paramValue is the value of a header or body parameter: text, or the
// fallback_value of a currency or date_time.
func paramValue(p gjson.Result, where string, n int) (gjson.Result, *Error) {
	pos := func() string { return "template " + where + " parameter " + strconv.Itoa(n+1) }
	if !p.IsObject() {
		return gjson.Result{}, InvalidParameter("The " + pos() + " must be a JSON object.")
	}
	pt := p.Get("type")
	var v gjson.Result
	switch foldKey(pt.String(), "text", "currency", "date_time") {
	case "text":
		v = p.Get("text")
	case "currency":
		v = p.Get("currency.fallback_value")
	case "date_time":
		v = p.Get("date_time.fallback_value")
	default:
		if pt.String() == "" {
			return v, v2Required(pos() + " type")
		}
		return v, v2Unsupported("A " + where + " parameter of type " + strconv.Quote(pt.String()) + " (" + pos() + "; only text, currency and date_time)")
	}
	if v.Type != gjson.String && v.Type != gjson.Number {
		if strings.EqualFold(pt.Str, "text") {
			return v, v2Required(pos() + " text")
		}
		return v, v2Required(pos() + " " + strings.ToLower(pt.Str) + ".fallback_value")
	}
	return v, nil
}

// valueParams checks the value parameters of a header or body and reports
// whether they are named (parameter_name); mixing both is refused.
func valueParams(params gjson.Result, where string) (named bool, e *Error) {
	n, names := 0, 0
	params.ForEach(func(_, p gjson.Result) bool {
		if _, e = paramValue(p, where, n); e != nil {
			return false
		}
		if present(p.Get("parameter_name")) {
			names++
		}
		n++
		return true
	})
	if e != nil {
		return false, e
	}
	if names > 0 && names != n {
		return false, InvalidParameter("The template " + where + " mixes named (parameter_name) and positional parameters.")
	}
	return names > 0, nil
}

// buttonKind classifies a button component's sub_type (any case).
func buttonKind(st string) int {
	switch foldKey(st, "quick_reply", "url", "copy_code", "catalog", "mpm", "flow") {
	case "quick_reply":
		return btnQuickReply
	case "url":
		return btnURL
	case "copy_code":
		return btnCopyCode
	case "catalog":
		return btnCatalog
	case "mpm":
		return btnMPM
	case "flow":
		return btnFlow
	}
	return 0
}

// buttonIndex reads a button's index, a number or a string of digits;
// where names the button in an error.
func buttonIndex(c gjson.Result, where func() string) (int, *Error) {
	v := c.Get("index")
	s := scalarString(v)
	if !present(v) {
		return 0, v2Required(where() + " index")
	}
	if !isDigits(s) || len(s) > 4 {
		return 0, InvalidParameter("The " + where() + " index must be a button position (0, 1, …), not " + v.Raw + ".")
	}
	n, _ := strconv.Atoi(s)
	return n, nil
}

// readButton reads a button component.
func (s *v2Send) readButton(c, params gjson.Result, opt V2Options) *Error {
	st := c.Get("sub_type").String()
	kind := buttonKind(st)
	if st == "" {
		return v2Required("template button sub_type")
	}
	if kind == 0 {
		return v2Unsupported("A template button of sub_type " + strconv.Quote(st))
	}
	name := func() string { return "template button " + strings.ToLower(st) }
	idx, e := buttonIndex(c, name)
	if e != nil {
		return e
	}
	where := func() string { return name() + " (index " + strconv.Itoa(idx) + ")" }
	b := v2Btn{index: idx, kind: kind}
	p := params.Get("0")
	if p.Exists() {
		switch kind {
		case btnQuickReply:
			if b.value, e = quickReplyPayload(p, where); e != nil {
				return e
			}
			s.quickReplies++
		case btnURL, btnCopyCode:
			param, path := "button url parameter", "text"
			if kind == btnCopyCode {
				param, path = "button copy_code parameter", "coupon_code"
			}
			if opt.ButtonParams == V2ButtonParamsReject {
				return InvalidParameter("The " + param + " (" + where() + ") cannot be sent: this number's template/msg translation " +
					"is configured to reject URL-button suffixes and copy codes, whose place in Gupshup's params is not documented.")
			}
			b.value = p.Get(path)
			if b.value.Type != gjson.String && b.value.Type != gjson.Number {
				return v2Required(where() + " parameter " + path)
			}
		case btnCatalog, btnMPM:
			if s.thumbnail.Exists() {
				return InvalidParameter("The template has more than one catalog or mpm button with a thumbnail_product_retailer_id.")
			}
			th := p.Get("action.thumbnail_product_retailer_id")
			if th.Type != gjson.String && th.Type != gjson.Number || scalarString(th) == "" {
				return v2Required(where() + " action.thumbnail_product_retailer_id")
			}
			s.thumbnail = th
			if kind == btnMPM {
				if e := checkSections(p.Get("action.sections"), where); e != nil {
					return e
				}
				s.sections = p.Get("action.sections")
			}
		case btnFlow:
			return v2Unsupported("The button flow parameters (flow_token, flow_action_data) of the " + where())
		}
	}
	if s.nb == len(s.buttons) {
		return InvalidParameter("The template has more than " + strconv.Itoa(maxV2Buttons) + " button components.")
	}
	s.buttons[s.nb] = b
	s.nb++
	return nil
}

// quickReplyPayload is a quick reply's payload; Meta's own samples also
// send {"type":"text","text":…}, read the same way.
func quickReplyPayload(p gjson.Result, where func() string) (gjson.Result, *Error) {
	v := p.Get("payload")
	if !present(v) {
		v = p.Get("text")
	}
	if v.Type != gjson.String && v.Type != gjson.Number {
		return v, v2Required(where() + " parameter payload")
	}
	return v, nil
}

// checkSections checks MPM sections: [{"title"?,"product_items":[{"product_retailer_id"}]}].
func checkSections(secs gjson.Result, where func() string) *Error {
	if !secs.IsArray() || count(secs) == 0 {
		return v2Required(where() + " action.sections")
	}
	var e *Error
	n := 0
	secs.ForEach(func(_, sec gjson.Result) bool {
		sw := func() string { return where() + " action.sections[" + strconv.Itoa(n) + "]" }
		items := sec.Get("product_items")
		if !sec.IsObject() || !items.IsArray() || count(items) == 0 {
			e = v2Required(sw() + ".product_items")
			return false
		}
		if t := sec.Get("title"); present(t) && t.Type != gjson.String {
			e = InvalidParameter("Param " + sw() + ".title must be a string.")
			return false
		}
		items.ForEach(func(_, it gjson.Result) bool {
			if scalarString(it.Get("product_retailer_id")) == "" {
				e = v2Required(sw() + ".product_items[].product_retailer_id")
			}
			return e == nil
		})
		n++
		return e == nil
	})
	return e
}

// count is the number of elements of an array (0 for anything else),
// without building them.
func count(a gjson.Result) int {
	n := 0
	if a.IsArray() {
		a.ForEach(func(_, _ gjson.Result) bool {
			n++
			return true
		})
	}
	return n
}

// readLTO reads the limited_time_offer expiration (milliseconds).
func (s *v2Send) readLTO(params gjson.Result) *Error {
	v := params.Get("0.limited_time_offer.expiration_time_ms")
	if !present(v) {
		return nil
	}
	ms := scalarString(v)
	if !isDigits(ms) {
		return InvalidParameter("Param limited_time_offer.expiration_time_ms must be a Unix time in milliseconds, not " + v.Raw + ".")
	}
	s.expiration = ms
	return nil
}

// readCarousel checks the carousel cards: one image or video header each
// (all of one kind), quick-reply payloads; no body or URL parameters.
func (s *v2Send) readCarousel(cards gjson.Result) *Error {
	if !cards.IsArray() || count(cards) == 0 {
		return v2Required("template carousel cards")
	}
	if s.media.Exists() {
		return InvalidParameter("A template with a carousel has no header media; both were given.")
	}
	var e *Error
	n := 0
	cards.ForEach(func(_, card gjson.Result) bool {
		e = s.readCard(n, card)
		n++
		return e == nil
	})
	if e == nil {
		s.cards = cards
	}
	return e
}

// readCard checks carousel card n.
func (s *v2Send) readCard(n int, card gjson.Result) *Error {
	where := func() string { return "template carousel card " + strconv.Itoa(n) }
	comps := card.Get("components")
	if !card.IsObject() || !comps.IsArray() {
		return v2Required(where() + " components")
	}
	var e *Error
	header := false
	var idx [maxV2Buttons]int
	nb := 0
	comps.ForEach(func(_, c gjson.Result) bool {
		params := c.Get("parameters")
		hasParams := params.Get("0").Exists()
		switch ct := c.Get("type").String(); foldKey(ct, "header", "body", "button") {
		case "header":
			if header {
				e = InvalidParameter("The " + where() + " has more than one header component.")
				return false
			}
			header = true
			e = s.readCardHeader(params.Get("0"), where)
		case "body":
			if hasParams {
				e = v2Unsupported("The " + where() + " body parameters")
			}
		case "button":
			st := c.Get("sub_type").String()
			bw := func() string { return where() + " " + strings.ToLower(st) + " button" }
			switch buttonKind(st) {
			case btnQuickReply:
				var i int
				if i, e = buttonIndex(c, bw); e != nil {
					return false
				}
				for k := range nb {
					if idx[k] == i {
						e = InvalidParameter("The " + where() + " has two buttons with index " + strconv.Itoa(i) + ".")
						return false
					}
				}
				if nb == len(idx) {
					e = InvalidParameter("The " + where() + " has more than " + strconv.Itoa(maxV2Buttons) + " buttons.")
					return false
				}
				idx[nb] = i
				nb++
				if hasParams {
					_, e = quickReplyPayload(params.Get("0"), bw)
				}
			case 0:
				e = v2Unsupported("A " + where() + " button of sub_type " + strconv.Quote(st))
			default:
				if hasParams {
					e = v2Unsupported("The " + bw() + " parameters")
				}
			}
		default:
			e = v2Unsupported("The " + where() + " component type " + strconv.Quote(ct))
		}
		return e == nil
	})
	if e == nil && !header {
		return v2Required(where() + " header (image or video)")
	}
	return e
}

// readCardHeader checks a card's header parameter: image or video with id
// or link, of the carousel's one kind.
func (s *v2Send) readCardHeader(p gjson.Result, where func() string) *Error {
	var mt, ht string
	switch foldKey(p.Get("type").String(), "image", "video") {
	case "image":
		mt, ht = "image", "IMAGE"
	case "video":
		mt, ht = "video", "VIDEO"
	default:
		return v2Unsupported("A " + where() + " header of type " + strconv.Quote(p.Get("type").String()) + " (only image or video)")
	}
	obj := p.Get(mt)
	id, link := scalarString(obj.Get("id")), scalarString(obj.Get("link"))
	switch {
	case id == "" && link == "":
		return InvalidParameter("The " + where() + " header " + mt + " needs an id or a link.")
	case id != "" && link != "":
		return InvalidParameter("The " + where() + " header " + mt + " has both an id and a link; give one.")
	}
	if s.cardType != "" && s.cardType != ht {
		return InvalidParameter("The carousel cards mix image and video headers; all cards must have one header type.")
	}
	s.cardType = ht
	return nil
}

// checkCounts checks the header and body params against the template's
// text: named params must name its placeholders; when the text is known the
// count must match its distinct placeholders (132000).
func (s *v2Send) checkCounts(tpl *V2Template) *Error {
	if e := checkParams(s.header, s.headerNamed, tpl.Header, "header"); e != nil {
		return e
	}
	return checkParams(s.body, s.bodyNamed, tpl.Body, "body")
}

func checkParams(params gjson.Result, named bool, text, where string) *Error {
	n := 0
	var e *Error
	if named {
		var prev [8]string
		params.ForEach(func(_, p gjson.Result) bool {
			name := p.Get("parameter_name").String()
			if !hasPlaceholder(text, name) {
				e = InvalidParameter("The template " + where + " parameter_name " + strconv.Quote(name) +
					" is not a placeholder of the template's " + where + " text.")
				return false
			}
			for k := 0; k < n && k < len(prev); k++ {
				if prev[k] == name {
					e = InvalidParameter("The template " + where + " parameter_name " + strconv.Quote(name) + " is given twice.")
					return false
				}
			}
			if n < len(prev) {
				prev[n] = name
			}
			n++
			return true
		})
		if e != nil {
			return e
		}
	} else {
		n = count(params)
	}
	if text == "" {
		return nil
	}
	if want := distinctPlaceholders(text); n != want {
		return &Error{HTTPStatus: 400, Code: CodeTemplateParamCount,
			Title: "Number of parameters does not match the expected number of params",
			Details: where + ": number of localizable_params (" + strconv.Itoa(n) +
				") does not match the expected number of params (" + strconv.Itoa(want) + ")"}
	}
	return nil
}

// nextPlaceholder finds the first {{name}} of s at or after i and returns
// name (spaces trimmed) and the index after it; next is -1 when there is
// none. Braces inside a name make it no placeholder.
func nextPlaceholder(s string, i int) (name string, next int) {
	for i < len(s) {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			return "", -1
		}
		open := i + j + 2
		k := strings.Index(s[open:], "}}")
		if k < 0 {
			return "", -1
		}
		name = strings.TrimSpace(s[open : open+k])
		if name != "" && !strings.ContainsAny(name, "{}") {
			return name, open + k + 2
		}
		i = i + j + 1
	}
	return "", -1
}

// firstPlaceholder reports whether the placeholder name found just before
// end is its first occurrence in s.
func firstPlaceholder(s, name string, end int) bool {
	for i := 0; ; {
		n, next := nextPlaceholder(s, i)
		if next < 0 || next >= end {
			return true
		}
		if n == name {
			return false
		}
		i = next
	}
}

// distinctPlaceholders counts the distinct {{…}} placeholders of s.
func distinctPlaceholders(s string) int {
	count := 0
	for i := 0; ; {
		name, next := nextPlaceholder(s, i)
		if next < 0 {
			return count
		}
		if firstPlaceholder(s, name, next) {
			count++
		}
		i = next
	}
}

// hasPlaceholder reports whether s has the placeholder {{name}}.
func hasPlaceholder(s, name string) bool {
	for i := 0; ; {
		n, next := nextPlaceholder(s, i)
		if next < 0 {
			return false
		}
		if n == name {
			return true
		}
		i = next
	}
}

// appendTemplate appends the template JSON:
// {"id","params":[…],"expiration"?,"mpm"?}.
func (s *v2Send) appendTemplate(dst []byte, tpl *V2Template) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendMetaString(dst, tpl.ID)
	dst = append(dst, `,"params":[`...)
	start := len(dst)
	dst = appendValues(dst, start, s.header, s.headerNamed, tpl.Header, "header")
	dst = appendValues(dst, start, s.body, s.bodyNamed, tpl.Body, "body")
	for _, b := range s.buttons[:s.nb] {
		if (b.kind == btnURL || b.kind == btnCopyCode) && b.value.Exists() {
			dst = appendParam(dst, start, b.value)
		}
	}
	if s.thumbnail.Exists() {
		dst = appendParam(dst, start, s.thumbnail)
	}
	dst = append(dst, ']')
	if s.expiration != "" {
		dst = append(dst, `,"expiration":`...)
		dst = append(dst, s.expiration...)
	}
	if s.sections.Exists() {
		dst = append(dst, `,"mpm":{"sections":[`...)
		ss := len(dst)
		s.sections.ForEach(func(_, sec gjson.Result) bool {
			if len(dst) > ss {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if t := sec.Get("title"); t.Type == gjson.String {
				dst = append(dst, `"title":`...)
				dst = appendMetaJSON(dst, t.Raw)
				dst = append(dst, ',')
			}
			dst = append(dst, `"products":[`...)
			ps := len(dst)
			sec.Get("product_items").ForEach(func(_, it gjson.Result) bool {
				dst = appendParam(dst, ps, it.Get("product_retailer_id"))
				return true
			})
			dst = append(dst, "]}"...)
			return true
		})
		dst = append(dst, "]}"...)
	}
	return append(dst, '}')
}

// appendParam appends a string or number value as a JSON string (with a
// comma unless it is the first element after start).
func appendParam(dst []byte, start int, v gjson.Result) []byte {
	if len(dst) > start {
		dst = append(dst, ',')
	}
	if v.Type == gjson.String {
		return appendMetaJSON(dst, v.Raw)
	}
	return AppendMetaString(dst, v.Raw)
}

// appendValues appends a header's or body's parameter values: in the
// given order, or for named ones in the order of their placeholders in text.
func appendValues(dst []byte, start int, params gjson.Result, named bool, text, where string) []byte {
	if !named {
		n := 0
		params.ForEach(func(_, p gjson.Result) bool {
			v, _ := paramValue(p, where, n)
			dst = appendParam(dst, start, v)
			n++
			return true
		})
		return dst
	}
	for i := 0; ; {
		name, next := nextPlaceholder(text, i)
		if next < 0 {
			return dst
		}
		i = next
		if !firstPlaceholder(text, name, next) {
			continue
		}
		n := 0
		params.ForEach(func(_, p gjson.Result) bool {
			if p.Get("parameter_name").String() == name {
				v, _ := paramValue(p, where, n)
				dst = appendParam(dst, start, v)
				return false
			}
			n++
			return true
		})
	}
}

// appendMessage appends the message JSON: the header media or location,
// or the carousel.
func (s *v2Send) appendMessage(dst []byte) []byte {
	if s.media.Exists() {
		dst = append(dst, `{"type":"`...)
		dst = append(dst, s.mediaType...)
		dst = append(dst, `","`...)
		dst = append(dst, s.mediaType...)
		dst = append(dst, `":`...)
		dst = appendMetaJSON(dst, s.media.Raw)
		return append(dst, '}')
	}
	dst = append(dst, `{"type":"carousel","cardHeaderType":"`...)
	dst = append(dst, s.cardType...)
	dst = append(dst, `","cards":[`...)
	cs := len(dst)
	s.cards.ForEach(func(_, card gjson.Result) bool {
		if len(dst) > cs {
			dst = append(dst, ',')
		}
		dst = appendCard(dst, card)
		return true
	})
	return append(dst, "]}"...)
}

// appendCard appends one carousel card: {"id"|"link":…,"postbackTexts"?:[…]}.
func appendCard(dst []byte, card gjson.Result) []byte {
	var bbuf [4]v2Btn
	btns := bbuf[:0]
	quick := 0
	card.Get("components").ForEach(func(_, c gjson.Result) bool {
		switch foldKey(c.Get("type").String(), "header", "button") {
		case "header":
			p := c.Get("parameters.0")
			obj := p.Get(foldKey(p.Get("type").String(), "image", "video"))
			key := "id"
			v := obj.Get("id")
			if scalarString(v) == "" {
				key, v = "link", obj.Get("link")
			}
			dst = append(dst, `{"`...)
			dst = append(dst, key...)
			dst = append(dst, `":`...)
			dst = appendParam(dst, len(dst), v)
		case "button":
			if buttonKind(c.Get("sub_type").String()) != btnQuickReply {
				return true
			}
			i, _ := buttonIndex(c, nowhere)
			b := v2Btn{index: i, kind: btnQuickReply}
			if p := c.Get("parameters.0"); p.Exists() {
				b.value, _ = quickReplyPayload(p, nowhere)
				quick++
			}
			btns = append(btns, b)
		}
		return true
	})
	if quick > 0 {
		for i := 1; i < len(btns); i++ {
			for j := i; j > 0 && btns[j].index < btns[j-1].index; j-- {
				btns[j], btns[j-1] = btns[j-1], btns[j]
			}
		}
		dst = append(dst, `,"postbackTexts":`...)
		dst = appendPostbacks(dst, btns)
	}
	return append(dst, '}')
}

// appendPostbacks appends [{"index":n,"text":payload},…] for the quick
// replies with a payload, in button order.
func appendPostbacks(dst []byte, btns []v2Btn) []byte {
	dst = append(dst, '[')
	start := len(dst)
	for _, b := range btns {
		if b.kind != btnQuickReply || !b.value.Exists() {
			continue
		}
		if len(dst) > start {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"index":`...)
		dst = strconv.AppendInt(dst, int64(b.index), 10)
		dst = append(dst, `,"text":`...)
		dst = appendParam(dst, len(dst), b.value)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// nowhere names nothing: for reads of members already checked.
func nowhere() string { return "" }

// foldKey returns the key that s equals ASCII case-insensitively (keys are
// lower case), or "" for none, without allocating.
func foldKey(s string, keys ...string) string {
	for _, k := range keys {
		if strings.EqualFold(s, k) {
			return k
		}
	}
	return ""
}
