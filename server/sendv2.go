package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"waproxy/templates"
	"waproxy/translate"
	"waproxy/upstream"
)

// TemplateAPI is what template sends on send_api v2 numbers need from the
// Gupshup client.
type TemplateAPI interface {
	ListTemplates(ctx context.Context, appID, token string) (*upstream.Response, error)
	SendTemplateV2(ctx context.Context, appID, token string, form []byte) (*upstream.Response, error)
}

// V2Options enable template sends through Gupshup's template/msg call for
// phone numbers configured with send_api v2.
type V2Options struct {
	// API is the Gupshup client.
	API TemplateAPI
	// Cache tunes the template list cache (zero values: its defaults).
	Cache templates.Config
	// ButtonParams is translate.V2ButtonParamsAppend ("" means it) or
	// translate.V2ButtonParamsReject.
	ButtonParams string
}

// listFailure is a non-2xx answer of Gupshup's template list call.
type listFailure struct{ resp *upstream.Response }

func (f *listFailure) Error() string {
	return "gupshup template list: HTTP " + http.StatusText(f.resp.Status)
}

// templateLister fetches an app's templates for the cache, with the app
// token of the phone number the app serves (refreshed once on a 401). The
// number is looked up per call, so numbers added by a config reload work.
type templateLister struct {
	s      *Server
	logger *zap.Logger
}

func newTemplateLister(s *Server) *templateLister {
	return &templateLister{s: s, logger: s.opt.Logger}
}

// List implements templates.Lister.
func (l *templateLister) List(ctx context.Context, appID string) ([]translate.V2Template, error) {
	p, ok := l.s.opt.Directory.PhoneOfApp(appID)
	if !ok {
		return nil, errors.New("template list: unknown app " + appID)
	}
	api := l.s.opt.V2.API
	resp, err := l.s.withToken(ctx, p, func(ctx context.Context, token string) (*upstream.Response, error) {
		start := time.Now()
		resp, err := api.ListTemplates(ctx, appID, token)
		status := 0
		if resp != nil {
			status = resp.Status
		}
		l.s.opt.Metrics.Upstream("templates_list", status, time.Since(start))
		return resp, err
	}, nil)
	if err != nil {
		return nil, err
	}
	if resp.Status/100 != 2 {
		return nil, &listFailure{resp: resp}
	}
	tpls, e := translate.ParseV2Templates(resp.Body)
	if e != nil {
		return nil, e
	}
	return tpls, nil
}

// sendV2 serves a /messages send to a send_api v2 number: template
// messages go to Gupshup's template/msg with the template looked up by
// name and language; anything else is refused without calling Gupshup.
func (s *Server) sendV2(c *gin.Context, req *request, msgType string) {
	if msgType != "template" {
		s.fail(c, translate.SessionNeedsV3(msgType))
		return
	}
	if s.opt.V2 == nil || s.templates == nil {
		s.fail(c, translate.Internal("Gateway configuration problem: template sends for this number are not enabled."))
		return
	}
	name, lang, e := translate.V2TemplateRef(req.body)
	if e != nil {
		s.fail(c, e)
		return
	}
	phone := req.phone
	tpl, err := s.templates.Lookup(c.Request.Context(), phone.AppID, name, lang)
	if err != nil {
		s.fail(c, s.lookupError(c, phone.AppID, name, lang, err))
		return
	}
	buf := s.getBuf()
	defer s.putBuf(buf)
	form, to, e := translate.TemplateV2Form(*buf, req.body, tpl, translate.V2Options{
		Source: phone.Source, AppName: phone.AppName, Sandbox: phone.Sandbox, ButtonParams: s.opt.V2.ButtonParams})
	if e != nil {
		s.fail(c, e)
		return
	}
	*buf = form
	api := s.opt.V2.API
	resp, ok := s.call(c, phone, "template_msg", func(r *upstream.Response) *translate.Error {
		merr := translate.UpstreamError(r.Status, r.Body, r.RetryAfter)
		if merr.Code == translate.CodeTemplateMissing {
			// The list was stale: the template was removed or is no
			// longer approved.
			s.templates.Invalidate(phone.AppID)
		}
		return merr
	}, func(ctx context.Context, token string) (*upstream.Response, error) {
		return api.SendTemplateV2(ctx, phone.AppID, token, form)
	})
	if !ok {
		return
	}
	out := s.getBuf()
	defer s.putBuf(out)
	body, merr := translate.TemplateV2Response(*out, resp.Body, to)
	if merr != nil {
		s.fail(c, merr)
		return
	}
	*out = body
	c.Data(http.StatusOK, jsonType, body)
}

// lookupError maps a failed template lookup to the client's Meta error.
func (s *Server) lookupError(c *gin.Context, appID, name, lang string, err error) *translate.Error {
	var lf *listFailure
	var te *translate.Error
	switch {
	case errors.Is(err, templates.ErrNotFound):
		return translate.TemplateNotFound(name, lang)
	case errors.As(err, &lf):
		logOf(c).err = "template list refused"
		return translate.UpstreamError(lf.resp.Status, lf.resp.Body, lf.resp.RetryAfter)
	case errors.As(err, &te):
		logOf(c).err = "template list unreadable"
		return te
	case errors.Is(err, errNoToken):
		// Before the transport cases: a token fetch that failed to
		// connect wraps upstream.ErrNotSent too.
		return tokenError(c, err)
	case errors.Is(err, upstream.ErrNotSent), errors.Is(err, upstream.ErrNoAnswer):
		logOf(c).err = "template list unreachable"
		return translate.Unreachable("the Gupshup template list could not be fetched")
	default:
		logOf(c).err = "template lookup failed"
		s.opt.Logger.Error("template lookup failed", zap.String("app_id", appID), zap.Error(err))
		return translate.Internal("The template could not be looked up.")
	}
}
