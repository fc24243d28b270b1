package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/tidwall/gjson"

	"waproxy/auth"
	"waproxy/internal/bodybudget"
	"waproxy/translate"
	"waproxy/upstream"
)

// request is a parsed Graph call: who, which object, and the parameters as
// one JSON object whatever the content type.
type request struct {
	tenant *auth.Tenant
	phone  *auth.Phone
	body   []byte // JSON object
}

// messages serves POST|PUT /{version}/{phone-number-id}/messages and the
// unversioned form.
func (s *Server) messages(c *gin.Context) {
	objectID, ok := s.object(c)
	if !ok {
		return
	}
	req, ok := s.parse(c, objectID)
	if !ok {
		return
	}
	l := logOf(c)

	if s.opt.IDs != nil {
		// Ids from our status webhooks are Gupshup's; Gupshup wants the
		// wamid in replies, reactions and read receipts.
		var n int
		req.body, n = translate.RewriteMessageIDs(req.body, func(id string) (string, bool) {
			return s.opt.IDs.WAMID(c.Request.Context(), id)
		})
		l.idsMapped = n
	}
	form := s.getBuf()
	defer s.putBuf(form)
	send, merr := translate.SendToForm(*form, req.body, s.opt.Translate)
	if merr != nil {
		s.fail(c, merr)
		return
	}
	*form = send.Form
	l.msgType = send.Type
	if send.Status != "" {
		l.msgType = "status:" + send.Status
	}
	if send.To != "" {
		l.to = maskPhone(send.To)
	}

	if send.Status != "" {
		s.statusUpdate(c, req, send.Event)
		return
	}
	if req.phone.SendAPI == "v2" {
		s.sendV2(c, req, send.Type)
		return
	}
	resp, ok := s.call(c, req.phone, "v3_message", nil, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Upstream.SendMessage(ctx, req.phone.AppID, token, send.Form)
	})
	if !ok {
		return
	}
	out := s.getBuf()
	defer s.putBuf(out)
	body, merr := translate.SendResponse(*out, resp.Body, send.To)
	if merr != nil {
		s.fail(c, merr)
		return
	}
	*out = body
	c.Data(http.StatusOK, jsonType, body)
}

// statusUpdate serves a read receipt (with or without a typing indicator):
// Gupshup's v1/event call with event (the body, one copy of each member),
// answered {"success":true} like Graph.
func (s *Server) statusUpdate(c *gin.Context, req *request, event []byte) {
	if _, ok := s.call(c, req.phone, "v1_event", nil, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Upstream.SendEvent(ctx, req.phone.AppID, token, event)
	}); !ok {
		return
	}
	c.Data(http.StatusOK, jsonType, []byte(translate.Success))
}

// object returns the object id of /{version}/{id}/… or /{id}/…, failing
// the request with Graph's unknown-path error when the first segment of a
// two-segment path is not a version.
func (s *Server) object(c *gin.Context) (string, bool) {
	p1, p2 := c.Param("p1"), c.Param("p2")
	if p2 == "" {
		return p1, true
	}
	if !versionRe.MatchString(p1) {
		s.fail(c, translate.UnknownPath(c.Request.Method, c.Request.URL.Path))
		return "", false
	}
	return p2, true
}

// call makes a Gupshup call through callSend and fails the request on any
// error or non-2xx answer, mapped by mapErr (nil: translate.UpstreamError).
func (s *Server) call(c *gin.Context, p *auth.Phone, endpoint string, mapErr func(*upstream.Response) *translate.Error,
	fn func(ctx context.Context, token string) (*upstream.Response, error)) (*upstream.Response, bool) {
	resp, merr := s.callSend(c, p, endpoint, fn)
	if merr != nil {
		s.fail(c, merr)
		return nil, false
	}
	if resp.Status/100 != 2 {
		if mapErr == nil {
			s.fail(c, translate.UpstreamError(resp.Status, resp.Body, resp.RetryAfter))
		} else {
			s.fail(c, mapErr(resp))
		}
		return nil, false
	}
	return resp, true
}

// callSend makes one Gupshup call with the app token, refreshing the token
// once if Gupshup answers 401 (a rejected call was not carried out, so the
// retry cannot double-send). endpoint labels metrics.
func (s *Server) callSend(c *gin.Context, p *auth.Phone, endpoint string, call func(ctx context.Context, token string) (*upstream.Response, error)) (*upstream.Response, *translate.Error) {
	l := logOf(c)
	resp, err := s.withToken(c.Request.Context(), p, func(_ context.Context, token string) (*upstream.Response, error) {
		return s.timed(c, endpoint, token, call)
	}, func() { l.retried = true })
	if err != nil {
		switch {
		case errors.Is(err, errNoToken):
			return nil, tokenError(c, err)
		case errors.Is(err, upstream.ErrNotSent):
			l.err = "upstream unreachable"
			return nil, translate.Unreachable("connection failed")
		case errors.Is(err, upstream.ErrNoAnswer):
			l.err = "upstream gave no answer"
			return nil, noAnswerError(endpoint)
		default:
			l.err = "upstream call failed"
			return nil, translate.Internal("The upstream call could not be made.")
		}
	}
	return resp, nil
}

// withToken makes a Gupshup call with the phone's app token; after a 401
// (Gupshup refused the call, so nothing was done) it refreshes the token
// and, when that gave a new one, calls once more (then retried runs). When
// no token can be had, or the refresh failed in a way that may pass, the
// error wraps errNoToken and the token source's error.
func (s *Server) withToken(ctx context.Context, p *auth.Phone, call func(ctx context.Context, token string) (*upstream.Response, error), retried func()) (*upstream.Response, error) {
	token, err := s.opt.Tokens.Token(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoToken, err)
	}
	resp, err := call(ctx, token)
	if err == nil && resp.Status == http.StatusUnauthorized {
		fresh, ok, rerr := s.opt.Tokens.Refresh(ctx, p, token)
		switch {
		case rerr == nil && ok:
			if retried != nil {
				retried()
			}
			resp, err = call(ctx, fresh)
		case errors.Is(rerr, auth.ErrTransient):
			// Whether the rejected token is really bad is not known yet.
			return nil, fmt.Errorf("%w: %w", errNoToken, rerr)
		}
	}
	return resp, err
}

// timed makes one call and records its status and latency.
func (s *Server) timed(c *gin.Context, endpoint, token string, call func(ctx context.Context, token string) (*upstream.Response, error)) (*upstream.Response, error) {
	start := time.Now()
	resp, err := call(c.Request.Context(), token)
	d := time.Since(start)
	l := logOf(c)
	l.upstreamTime += d
	status := 0
	if resp != nil {
		status = resp.Status
	}
	l.upstreamStatus = status
	s.opt.Metrics.Upstream(endpoint, status, d)
	return resp, err
}

// parse reads the body (capped), finds the caller's token, tenant and the
// phone number, and turns the parameters into a JSON object.
func (s *Server) parse(c *gin.Context, objectID string) (*request, bool) {
	req := &request{}
	body, ok := s.readParams(c, func(formToken string) bool {
		tenant, ok := s.authenticateWith(c, formToken)
		if !ok {
			return false
		}
		logOf(c).phoneID = objectID
		phone, ok := tenant.Phone(objectID)
		if !ok {
			s.fail(c, translate.UnknownObject(strings.ToLower(c.Request.Method), objectID))
			return false
		}
		req.tenant, req.phone = tenant, phone
		return true
	})
	if !ok {
		return nil, false
	}
	req.body = body
	return req, true
}

// readParams reads the body (capped at MaxBodyBytes), turns it into one
// JSON object of parameters, and runs authorize with the form's
// access_token (authorize writes its own errors). A parameter error is
// written only after authorize passed: authentication and unknown objects
// come first, as on Graph. ok is false when the answer was written.
func (s *Server) readParams(c *gin.Context, authorize func(formToken string) bool) (params []byte, ok bool) {
	r := c.Request
	raw, err := bodybudget.ReadAll(http.MaxBytesReader(c.Writer, r.Body, s.opt.MaxBodyBytes), r.ContentLength, s.opt.MaxBodyBytes)
	if err != nil {
		s.readError(c, err, s.opt.MaxBodyBytes)
		return nil, false
	}
	params, formToken, perr := paramsJSON(r.Header.Get("Content-Type"), raw)
	if !authorize(formToken) {
		return nil, false
	}
	if perr != nil {
		s.fail(c, perr)
		return nil, false
	}
	return params, true
}

// bearer returns the token of an "Authorization: Bearer …" (or "OAuth …")
// header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}

// paramsJSON turns a Graph request body into one JSON object: JSON as is,
// urlencoded and multipart fields through translate.FieldsToJSON. It also
// returns an access_token form field, if any.
func paramsJSON(contentType string, raw []byte) ([]byte, string, *translate.Error) {
	var mt string
	var params map[string]string
	switch contentType {
	case "application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8", "":
		// What SDKs send: no parsing (and no allocation) needed.
		mt = strings.TrimSuffix(strings.TrimSuffix(contentType, "; charset=utf-8"), "; charset=UTF-8")
	default:
		var err error
		if mt, params, err = mime.ParseMediaType(contentType); err != nil {
			mt = ""
		}
	}
	switch mt {
	case "application/json", "text/json", "text/plain", "":
		trimmed := bytes.TrimSpace(raw)
		if len(trimmed) == 0 {
			return nil, "", translate.InvalidParameter("The request body is empty; send the message as a JSON object.")
		}
		if mt != "application/json" && trimmed[0] != '{' {
			return nil, "", translate.InvalidParameter("Unsupported Content-Type " + quoteCT(contentType) +
				"; send application/json, application/x-www-form-urlencoded or multipart/form-data.")
		}
		return raw, "", nil
	case "application/x-www-form-urlencoded":
		if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '{' && gjson.ValidBytes(trimmed) {
			// A JSON body labelled as a form (curl -d without -H): no form
			// starts with "{", so take it for what it is.
			return raw, "", nil
		}
		fields, token, err := urlencodedFields(raw)
		if err != nil {
			return nil, "", translate.InvalidParameter("The form body could not be parsed.")
		}
		return translate.FieldsToJSON(fields), token, nil
	case "multipart/form-data":
		fields, token, err := multipartFields(raw, params["boundary"])
		if err != nil {
			return nil, "", translate.InvalidParameter("The multipart body could not be parsed.")
		}
		return translate.FieldsToJSON(fields), token, nil
	default:
		return nil, "", translate.InvalidParameter("Unsupported Content-Type " + quoteCT(contentType) +
			"; send application/json, application/x-www-form-urlencoded or multipart/form-data.")
	}
}

func quoteCT(ct string) string {
	if ct == "" {
		return "(none)"
	}
	if len(ct) > 100 {
		ct = ct[:100]
	}
	return "'" + ct + "'"
}

// urlencodedFields parses a form body keeping field order.
func urlencodedFields(raw []byte) ([]translate.Field, string, error) {
	var fields []translate.Field
	token := ""
	for _, kv := range strings.Split(string(raw), "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return nil, "", err
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return nil, "", err
		}
		if dk == "access_token" {
			token = dv
		}
		fields = append(fields, translate.Field{Name: dk, Value: dv})
	}
	return fields, token, nil
}

// multipartFields reads the non-file parts of a multipart body in order.
func multipartFields(raw []byte, boundary string) ([]translate.Field, string, error) {
	if boundary == "" {
		return nil, "", errors.New("no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	var fields []translate.Field
	token := ""
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields, token, nil
		}
		if err != nil {
			return nil, "", err
		}
		if p.FileName() != "" {
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, "", err
		}
		if p.FormName() == "access_token" {
			token = string(v)
		}
		fields = append(fields, translate.Field{Name: p.FormName(), Value: string(v)})
	}
}
