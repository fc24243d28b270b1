package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Flow management: /partner/app/{appID}/flows[/{flowID}[/…]], app token raw
// in the Authorization header. Every method returns any HTTP answer as a
// Response, like SendMessage (the caller maps Gupshup's
// {"status":"error","message":…} answers); transport failures wrap
// ErrNotSent or ErrNoAnswer, and only failed dials (nothing sent) are
// retried. Config.Timeout bounds each call except UpdateFlowJSON, which
// streams like UploadMedia. Flow ids are path-escaped; an empty, "." or
// ".." flow id fails with ErrBadFlowID before anything is sent.

// ErrBadFlowID is returned, without sending anything, for a flow id that
// cannot be put in a path: empty, "." or "..".
var ErrBadFlowID = errors.New("upstream: bad flow id")

// emptyJSON is the body of the action calls (publish, deprecate).
var emptyJSON = []byte("{}")

// CreateFlow is POST /partner/app/{appID}/flows with the JSON body as given
// (Content-Type application/json), e.g. {"name":"…","categories":["OTHER"]}.
// Gupshup answers {"id":"<flow id>","status":"success","validation_errors":[]}.
// A body that is not a JSON object fails without sending anything.
func (c *Client) CreateFlow(ctx context.Context, appID, token string, body []byte) (*Response, error) {
	if err := jsonObject("CreateFlow", body); err != nil {
		return nil, err
	}
	return c.do(ctx, http.MethodPost, flowPath(appID, "", ""), token, "application/json", body)
}

// ListFlows is GET /partner/app/{appID}/flows; Gupshup answers
// {"status":"success","flows":[<flow>…]}.
func (c *Client) ListFlows(ctx context.Context, appID, token string) (*Response, error) {
	return c.do(ctx, http.MethodGet, flowPath(appID, "", ""), token, "", nil)
}

// GetFlow is GET /partner/app/{appID}/flows/{flowID}; Gupshup answers the
// flow object in Meta's shape (unwrapped).
func (c *Client) GetFlow(ctx context.Context, appID, token, flowID string) (*Response, error) {
	return c.flowCall(ctx, "GetFlow", http.MethodGet, appID, token, flowID, "", "", nil)
}

// UpdateFlow is PUT /partner/app/{appID}/flows/{flowID} with the JSON body as
// given, e.g. {"name":"…","categories":[…],"endpoint_uri":"…"}. A body that
// is not a JSON object fails without sending anything.
func (c *Client) UpdateFlow(ctx context.Context, appID, token, flowID string, body []byte) (*Response, error) {
	if err := jsonObject("UpdateFlow", body); err != nil {
		return nil, err
	}
	return c.flowCall(ctx, "UpdateFlow", http.MethodPut, appID, token, flowID, "", "application/json", body)
}

// FlowAssets is GET /partner/app/{appID}/flows/{flowID}/assets; Gupshup
// answers an array of {"name","asset_type","download_url"}.
func (c *Client) FlowAssets(ctx context.Context, appID, token, flowID string) (*Response, error) {
	return c.flowCall(ctx, "FlowAssets", http.MethodGet, appID, token, flowID, "assets", "", nil)
}

// FlowPreview is GET /partner/app/{appID}/flows/{flowID}/preview; Gupshup
// answers {"id","preview":{"preview_url","expires_at"}}. With invalidate
// the query invalidate=true asks for a new preview URL, as Graph's
// preview.invalidate(true) does (Gupshup does not document the parameter).
func (c *Client) FlowPreview(ctx context.Context, appID, token, flowID string, invalidate bool) (*Response, error) {
	action := "preview"
	if invalidate {
		action += "?invalidate=true"
	}
	return c.flowCall(ctx, "FlowPreview", http.MethodGet, appID, token, flowID, action, "", nil)
}

// DeleteFlow is DELETE /partner/app/{appID}/flows/{flowID} (drafts only).
func (c *Client) DeleteFlow(ctx context.Context, appID, token, flowID string) (*Response, error) {
	return c.flowCall(ctx, "DeleteFlow", http.MethodDelete, appID, token, flowID, "", "", nil)
}

// DeprecateFlow is POST /partner/app/{appID}/flows/{flowID}/deprecate with
// the body {} (application/json).
func (c *Client) DeprecateFlow(ctx context.Context, appID, token, flowID string) (*Response, error) {
	return c.flowCall(ctx, "DeprecateFlow", http.MethodPost, appID, token, flowID, "deprecate", "application/json", emptyJSON)
}

// PublishFlow is POST /partner/app/{appID}/flows/{flowID}/publish with the
// body {} (application/json). Publishing cannot be undone.
func (c *Client) PublishFlow(ctx context.Context, appID, token, flowID string) (*Response, error) {
	return c.flowCall(ctx, "PublishFlow", http.MethodPost, appID, token, flowID, "publish", "application/json", emptyJSON)
}

// UpdateFlowJSON is PUT /partner/app/{appID}/flows/{flowID}/assets with a
// multipart/form-data body holding one part, "file" (filename file.Name,
// default "flow.json"; Content-Type file.MimeType, default
// "application/json"). The file is streamed like UploadMedia's: never held
// in memory, ctx bounds the whole call and Config.Timeout only the wait for
// the answer's headers, a failed dial is retried with a fresh file.Open,
// failures of the file wrap ErrMediaFile. Gupshup answers
// {"status":"success","success":true,"validation_errors":[…]}.
func (c *Client) UpdateFlowJSON(ctx context.Context, appID, token, flowID string, file MediaFile) (*Response, error) {
	const op = "UpdateFlowJSON"
	if err := checkFlowID(op, flowID); err != nil {
		return nil, err
	}
	if file.MimeType == "" {
		file.MimeType = "application/json"
	}
	_, partType, err := fileTypes(op, file)
	if err != nil {
		return nil, err
	}
	return c.uploadFile(ctx, multipartUpload{
		op: op, method: http.MethodPut, path: flowPath(appID, flowID, "assets"), token: token,
		fileField: "file", defaultName: "flow.json", partType: partType, file: file,
	})
}

// flowCall is one buffered call on a flow.
func (c *Client) flowCall(ctx context.Context, op, method, appID, token, flowID, action, contentType string, body []byte) (*Response, error) {
	if err := checkFlowID(op, flowID); err != nil {
		return nil, err
	}
	return c.do(ctx, method, flowPath(appID, flowID, action), token, contentType, body)
}

// checkFlowID rejects flow ids that would not name one flow once in the
// path: empty (the collection), "." and "..".
func checkFlowID(op, flowID string) error {
	if flowID == "" || flowID == "." || flowID == ".." {
		return fmt.Errorf("%w: %s: invalid flow id %q", ErrBadFlowID, op, flowID)
	}
	return nil
}

// flowPath is /partner/app/{appID}/flows[/{flowID}[/{action}]].
func flowPath(appID, flowID, action string) string {
	p := "/partner/app/" + url.PathEscape(appID) + "/flows"
	if flowID != "" {
		p += "/" + url.PathEscape(flowID)
		if action != "" {
			p += "/" + action
		}
	}
	return p
}

// jsonObject checks that body is a JSON object.
func jsonObject(op string, body []byte) error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return fmt.Errorf("upstream: %s: body is not a JSON object", op)
	}
	return nil
}
