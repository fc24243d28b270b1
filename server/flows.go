package server

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/tidwall/gjson"
	"go.uber.org/zap"

	"waproxy/auth"
	"waproxy/internal/bodybudget"
	"waproxy/store"
	"waproxy/translate"
	"waproxy/upstream"
)

// FlowAPI is what the Flows handlers need from the Gupshup client.
type FlowAPI interface {
	CreateFlow(ctx context.Context, appID, token string, body []byte) (*upstream.Response, error)
	ListFlows(ctx context.Context, appID, token string) (*upstream.Response, error)
	GetFlow(ctx context.Context, appID, token, flowID string) (*upstream.Response, error)
	UpdateFlow(ctx context.Context, appID, token, flowID string, body []byte) (*upstream.Response, error)
	FlowAssets(ctx context.Context, appID, token, flowID string) (*upstream.Response, error)
	FlowPreview(ctx context.Context, appID, token, flowID string, invalidate bool) (*upstream.Response, error)
	DeleteFlow(ctx context.Context, appID, token, flowID string) (*upstream.Response, error)
	DeprecateFlow(ctx context.Context, appID, token, flowID string) (*upstream.Response, error)
	PublishFlow(ctx context.Context, appID, token, flowID string) (*upstream.Response, error)
	UpdateFlowJSON(ctx context.Context, appID, token, flowID string, file upstream.MediaFile) (*upstream.Response, error)
	FetchURL(ctx context.Context, rawURL, appToken string) (*http.Response, error)
}

// FlowOptions enable Meta's Flows API on Gupshup's flow management.
type FlowOptions struct {
	// API is the Gupshup client.
	API FlowAPI
	// Index binds flow ids to tenants and apps.
	Index store.FlowIndex
	// Signer signs flow.json download URLs (the media signer).
	Signer *auth.URLSigner
	// PublicURL is the proxy's absolute base URL.
	PublicURL string
	// URLTTL is how long a flow.json download URL works. Default 5m.
	URLTTL time.Duration
}

// flowDownloadPath serves flow.json assets: /waproxy/flows/{id}/flow.json.
const flowDownloadPath = "/waproxy/flows/"

// flowURLSubject is what a flow.json URL token is signed for: never a
// media id, so a media URL's token cannot fetch a flow and back.
func flowURLSubject(id string) string { return "flow:" + id }

// flowCall makes a Gupshup flow call for a known flow and answers its
// failure (see flowStep).
func (s *Server) flowCall(c *gin.Context, p *auth.Phone, endpoint, flowID string,
	fn func(ctx context.Context, token string) (*upstream.Response, error)) (*upstream.Response, bool) {
	resp, e := s.flowStep(c, p, endpoint, flowID, fn)
	if e != nil {
		s.fail(c, e)
		return nil, false
	}
	return resp, true
}

// flowStep makes a Gupshup flow call for a known flow and returns its
// failure in Meta's terms without answering, mapping "Invalid flow id" to
// Graph's unknown object: one step of a call that may take several.
func (s *Server) flowStep(c *gin.Context, p *auth.Phone, endpoint, flowID string,
	fn func(ctx context.Context, token string) (*upstream.Response, error)) (*upstream.Response, *translate.Error) {
	resp, e := s.callSend(c, p, endpoint, fn)
	if e != nil {
		return nil, e
	}
	if resp.Status/100 != 2 {
		method := strings.ToLower(c.Request.Method)
		return nil, translate.UpstreamFlowError(method, flowID, resp.Status, resp.Body, resp.RetryAfter)
	}
	return resp, nil
}

// wabaRequest authenticates a /{version}/{waba-id}/flows call and finds the
// tenant's app for that WhatsApp Business Account.
func (s *Server) wabaRequest(c *gin.Context, formToken string) (*auth.Tenant, *auth.Phone, bool) {
	wabaID, ok := s.object(c)
	if !ok {
		return nil, nil, false
	}
	tenant, ok := s.authenticateWith(c, formToken)
	if !ok {
		return nil, nil, false
	}
	phone, ok := tenant.PhoneOfWABA(wabaID)
	if !ok {
		s.fail(c, translate.UnknownObject(strings.ToLower(c.Request.Method), wabaID))
		return nil, nil, false
	}
	logOf(c).phoneID = phone.ID
	return tenant, phone, true
}

// ownedFlow finds a flow the tenant may use and the phone (app) it is under.
func (s *Server) ownedFlow(c *gin.Context, tenant *auth.Tenant, id string) (*auth.Phone, bool) {
	f, ok, err := s.opt.Flows.Index.Flow(c.Request.Context(), id)
	if err != nil {
		s.opt.Logger.Error("flow index lookup failed", zap.String("flow_id", id), zap.Error(err))
		s.fail(c, translate.Internal("The flow could not be looked up."))
		return nil, false
	}
	var phone *auth.Phone
	if ok && f.Tenant == tenant.Name {
		phone, ok = tenant.PhoneOfApp(f.AppID)
	}
	if !ok || phone == nil {
		s.fail(c, translate.FlowNotFound(strings.ToLower(c.Request.Method), id))
		return nil, false
	}
	return phone, true
}

// isFlow reports whether id is a known flow (for routes that serve both
// flows and media ids).
func (s *Server) isFlow(c *gin.Context, id string) bool {
	if s.opt.Flows == nil {
		return false
	}
	_, ok, _ := s.opt.Flows.Index.Flow(c.Request.Context(), id)
	return ok
}

// createFlow serves POST /{version}/{waba-id}/flows.
func (s *Server) createFlow(c *gin.Context) {
	var tenant *auth.Tenant
	var phone *auth.Phone
	params, ok := s.readParams(c, func(formToken string) (ok bool) {
		tenant, phone, ok = s.wabaRequest(c, formToken)
		return ok
	})
	if !ok {
		return
	}
	fc, e := translate.FlowCreateRequest(params)
	if e != nil {
		s.fail(c, e)
		return
	}
	if fc.CloneFlowID != "" {
		s.fail(c, translate.InvalidParameter("clone_flow_id is not supported by this endpoint: create the flow and upload its flow.json."))
		return
	}
	api := s.opt.Flows.API
	resp, ok := s.call(c, phone, "flow_create", nil, func(ctx context.Context, token string) (*upstream.Response, error) {
		return api.CreateFlow(ctx, phone.AppID, token, fc.Body)
	})
	if !ok {
		return
	}
	id, ok := translate.FlowID(resp.Body)
	if !ok {
		// The flow exists: find its id rather than leave it unknown.
		id, ok = s.createdFlowID(c, phone, fc.Name)
	}
	if !ok {
		s.fail(c, translate.Internal("The upstream created the flow but its answer carried no flow id."))
		return
	}
	if err := s.opt.Flows.Index.PutFlow(c.Request.Context(), store.Flow{ID: id, Tenant: tenant.Name, AppID: phone.AppID}); err != nil {
		s.opt.Logger.Error("recording a flow failed", zap.String("flow_id", id), zap.Error(err))
	}
	c.Data(http.StatusOK, jsonType, s.finishFlowCreate(c, phone, id, fc))
}

// listFlows serves GET /{version}/{waba-id}/flows; listed flows become the
// tenant's.
func (s *Server) listFlows(c *gin.Context) {
	tenant, phone, ok := s.wabaRequest(c, "")
	if !ok {
		return
	}
	resp, ok := s.call(c, phone, "flow_list", nil, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Flows.API.ListFlows(ctx, phone.AppID, token)
	})
	if !ok {
		return
	}
	out, e := translate.FlowListResponse(nil, resp.Body)
	if e != nil {
		s.fail(c, e)
		return
	}
	for _, id := range gjson.GetBytes(out, "data.#.id").Array() {
		if id.Str == "" {
			continue
		}
		if err := s.opt.Flows.Index.PutFlow(c.Request.Context(), store.Flow{ID: id.Str, Tenant: tenant.Name, AppID: phone.AppID}); err != nil {
			s.opt.Logger.Error("recording a flow failed", zap.String("flow_id", id.Str), zap.Error(err))
		}
	}
	c.Data(http.StatusOK, jsonType, out)
}

// flowRequest authenticates a /{version}/{flow-id}[/…] call and checks the
// tenant owns the flow.
func (s *Server) flowRequest(c *gin.Context, formToken string) (*auth.Tenant, *auth.Phone, string, bool) {
	id, ok := s.object(c)
	if !ok {
		return nil, nil, "", false
	}
	tenant, ok := s.authenticateWith(c, formToken)
	if !ok {
		return nil, nil, "", false
	}
	phone, ok := s.ownedFlow(c, tenant, id)
	return tenant, phone, id, ok
}

// objectRoute serves GET or DELETE /{version}/{id}, where the id is a flow
// (known to the flow index) or else a media id.
func (s *Server) objectRoute(flow, media gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := s.object(c)
		switch {
		case !ok:
		case s.isFlow(c, id):
			flow(c)
		case s.opt.Media == nil:
			s.fail(c, translate.UnknownPath(c.Request.Method, c.Request.URL.Path))
		default:
			media(c)
		}
	}
}

// getFlow serves GET /{version}/{flow-id}?fields=…
func (s *Server) getFlow(c *gin.Context) {
	_, phone, id, ok := s.flowRequest(c, "")
	if !ok {
		return
	}
	api := s.opt.Flows.API
	fields := translate.ParseFlowFields(c.Query("fields"))
	resp, ok := s.flowCall(c, phone, "flow_get", id, func(ctx context.Context, token string) (*upstream.Response, error) {
		return api.GetFlow(ctx, phone.AppID, token, id)
	})
	if !ok {
		return
	}
	var preview []byte
	if fields.Preview {
		r, ok := s.flowCall(c, phone, "flow_preview", id, func(ctx context.Context, token string) (*upstream.Response, error) {
			return api.FlowPreview(ctx, phone.AppID, token, id, fields.InvalidatePreview)
		})
		if !ok {
			return
		}
		preview = r.Body
	}
	out, e := translate.FlowGetResponse(nil, resp.Body, preview, fields, phone.WABAID)
	if e != nil {
		s.fail(c, e)
		return
	}
	c.Data(http.StatusOK, jsonType, out)
}

// updateFlow serves POST /{version}/{flow-id} (name, categories,
// endpoint_uri).
func (s *Server) updateFlow(c *gin.Context) {
	var phone *auth.Phone
	var id string
	params, ok := s.readParams(c, func(formToken string) (ok bool) {
		_, phone, id, ok = s.flowRequest(c, formToken)
		return ok
	})
	if !ok {
		return
	}
	body, e := translate.FlowUpdateRequest(params)
	if e != nil {
		s.fail(c, e)
		return
	}
	if _, ok := s.flowCall(c, phone, "flow_update", id, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Flows.API.UpdateFlow(ctx, phone.AppID, token, id, body)
	}); !ok {
		return
	}
	c.Data(http.StatusOK, jsonType, []byte(translate.Success))
}

// flowAction serves POST /{version}/{flow-id}/publish and /deprecate.
func (s *Server) flowAction(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		_, phone, id, ok := s.flowRequest(c, "")
		if !ok {
			return
		}
		api := s.opt.Flows.API
		call := api.PublishFlow
		if action == "deprecate" {
			call = api.DeprecateFlow
		}
		if _, ok := s.flowCall(c, phone, "flow_"+action, id, func(ctx context.Context, token string) (*upstream.Response, error) {
			return call(ctx, phone.AppID, token, id)
		}); !ok {
			return
		}
		c.Data(http.StatusOK, jsonType, []byte(translate.Success))
	}
}

// deleteFlow serves DELETE /{version}/{flow-id} (DRAFT flows only, Gupshup
// says which).
func (s *Server) deleteFlow(c *gin.Context) {
	_, phone, id, ok := s.flowRequest(c, "")
	if !ok {
		return
	}
	if _, ok := s.flowCall(c, phone, "flow_delete", id, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Flows.API.DeleteFlow(ctx, phone.AppID, token, id)
	}); !ok {
		return
	}
	_ = s.opt.Flows.Index.DeleteFlow(c.Request.Context(), id)
	c.Data(http.StatusOK, jsonType, []byte(translate.Success))
}

// flowAssets serves GET /{version}/{flow-id}/assets; download URLs point at
// the proxy.
func (s *Server) flowAssets(c *gin.Context) {
	tenant, phone, id, ok := s.flowRequest(c, "")
	if !ok {
		return
	}
	resp, ok := s.flowCall(c, phone, "flow_assets", id, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Flows.API.FlowAssets(ctx, phone.AppID, token, id)
	})
	if !ok {
		return
	}
	exp := time.Now().Add(s.opt.Flows.URLTTL)
	u := s.opt.Flows.PublicURL + flowDownloadPath + id + "/flow.json?token=" + s.opt.Flows.Signer.Sign(tenant.Name, flowURLSubject(id), exp)
	out, e := translate.FlowAssetsResponse(nil, resp.Body, func(string) string { return u })
	if e != nil {
		s.fail(c, e)
		return
	}
	c.Data(http.StatusOK, jsonType, out)
}

// uploadFlowAsset serves POST /{version}/{flow-id}/assets: multipart file
// (flow.json), name, asset_type=FLOW_JSON.
func (s *Server) uploadFlowAsset(c *gin.Context) {
	r := c.Request
	raw, err := bodybudget.ReadAll(http.MaxBytesReader(c.Writer, r.Body, s.opt.MaxBodyBytes), r.ContentLength, s.opt.MaxBodyBytes)
	if err != nil {
		s.readError(c, err, s.opt.MaxBodyBytes)
		return
	}
	fields, file, formToken, perr := flowAssetForm(r.Header.Get("Content-Type"), raw)
	_, phone, id, ok := s.flowRequest(c, formToken)
	if !ok {
		return
	}
	if perr != nil {
		s.fail(c, perr)
		return
	}
	name, e := translate.FlowAssetParams(translate.FieldsToJSON(fields))
	if e != nil {
		s.fail(c, e)
		return
	}
	if file == nil {
		s.fail(c, translate.MissingParameter("file"))
		return
	}
	resp, e := s.uploadFlowJSON(c, phone, id, name, file)
	if e != nil {
		s.fail(c, e)
		return
	}
	c.Data(http.StatusOK, jsonType, translate.FlowValidationResponse(nil, resp.Body))
}

// uploadFlowJSON sends flow JSON to Gupshup's PUT …/flows/{id}/assets.
func (s *Server) uploadFlowJSON(c *gin.Context, phone *auth.Phone, id, name string, data []byte) (*upstream.Response, *translate.Error) {
	file := upstream.MediaFile{Name: name, MimeType: "application/json", Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
	return s.flowStep(c, phone, "flow_json", id, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Flows.API.UpdateFlowJSON(ctx, phone.AppID, token, id, file)
	})
}

// flowAssetForm reads a multipart asset upload: its text fields, the file
// part's bytes and an access_token field.
func flowAssetForm(contentType string, raw []byte) ([]translate.Field, []byte, string, *translate.Error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" {
		return nil, nil, "", translate.InvalidParameter("Flow assets must be uploaded as multipart/form-data with a file part.")
	}
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	var fields []translate.Field
	var file []byte
	token := ""
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields, file, token, nil
		}
		if err != nil {
			return nil, nil, "", translate.InvalidParameter("The multipart body could not be parsed.")
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, "", translate.InvalidParameter("The multipart body could not be parsed.")
		}
		switch {
		case p.FormName() == "file":
			file = v
		case p.FormName() == "access_token":
			token = string(v)
		default:
			fields = append(fields, translate.Field{Name: p.FormName(), Value: string(v)})
		}
	}
}

// flowJSONDownload serves GET /waproxy/flows/{id}/flow.json: the flow's
// JSON from Gupshup's asset download URL, to the owner's bearer or a valid
// URL token.
func (s *Server) flowJSONDownload(c *gin.Context) {
	id := c.Param("id")
	tenant, ok := s.downloader(c, s.opt.Flows.Signer, flowURLSubject(id))
	if !ok {
		return
	}
	phone, ok := s.ownedFlow(c, tenant, id)
	if !ok {
		return
	}
	api := s.opt.Flows.API
	resp, ok := s.flowCall(c, phone, "flow_assets", id, func(ctx context.Context, token string) (*upstream.Response, error) {
		return api.FlowAssets(ctx, phone.AppID, token, id)
	})
	if !ok {
		return
	}
	src := ""
	_, _ = translate.FlowAssetsResponse(nil, resp.Body, func(u string) string {
		if src == "" {
			src = u // Gupshup's download URL of the (first) flow.json
		}
		return u
	})
	if src == "" {
		s.fail(c, translate.FlowNotFound("get", id+"/flow.json"))
		return
	}
	dl, err := api.FetchURL(c.Request.Context(), src, "")
	if err != nil {
		if e, ok := downloadError(c, err, "flow JSON"); ok {
			s.fail(c, e)
			return
		}
		logOf(c).err = "flow.json download failed"
		s.fail(c, translate.Internal("The flow JSON could not be fetched."))
		return
	}
	defer dl.Body.Close()
	c.Header("Content-Type", "application/json")
	if dl.ContentLength >= 0 {
		c.Header("Content-Length", strconv.FormatInt(dl.ContentLength, 10))
	}
	c.Status(http.StatusOK)
	_, _ = io.Copy(c.Writer, dl.Body)
}
