package upstream

import (
	"context"
	"net/http"
	"net/url"
)

// Templates: the app's template list and the older template send,
// POST /partner/app/{appID}/template/msg (apps whose numbers send templates
// without the v3 passthrough). Both take the app token raw in the
// Authorization header and return any HTTP answer as a Response, like
// SendMessage (the caller parses or maps Gupshup's
// {"status":"error","message":…} answers); transport failures wrap
// ErrNotSent or ErrNoAnswer, and only failed dials (nothing sent) are
// retried. Config.Timeout bounds each call.

// ListTemplates is GET /partner/app/{appID}/templates (raw app token); any
// HTTP answer is a Response. Gupshup answers
// {"status":"success","templates":[{"id","elementName","languageCode",
// "status","templateType","data","containerMeta",…}…]} (see
// translate.ParseV2Templates) and limits the call to 10 a minute per app
// (429 with Retry-After past that).
func (c *Client) ListTemplates(ctx context.Context, appID, token string) (*Response, error) {
	return c.do(ctx, http.MethodGet, "/partner/app/"+url.PathEscape(appID)+"/templates", token, "", nil)
}

// SendTemplateV2 is POST /partner/app/{appID}/template/msg with the form as
// given (application/x-www-form-urlencoded, e.g. the output of
// translate.TemplateV2Form); never retried once written (like
// SendMessage). Gupshup answers {"status":"submitted","messageId":"…"}.
func (c *Client) SendTemplateV2(ctx context.Context, appID, token string, form []byte) (*Response, error) {
	return c.do(ctx, http.MethodPost, "/partner/app/"+url.PathEscape(appID)+"/template/msg",
		token, "application/x-www-form-urlencoded", form)
}
