package server

import (
	"context"
	"strconv"

	"github.com/gin-gonic/gin"

	"waproxy/auth"
	"waproxy/translate"
	"waproxy/upstream"
)

// finishFlowCreate runs the steps of a create-Flow request after the flow
// exists and returns the answer. Once the flow is created every answer is
// 200 with its id, so the flow is never left behind unknown to the client
// (a retried create would fail: the name is taken):
//   - endpoint_uri is set first (a metadata update); when that fails no
//     later step is tried.
//   - no flow_json: {"id"}; publish is not attempted, as Meta publishes
//     only a flow created with a valid flow JSON.
//   - the upload answered: {"id","success":true,"validation_errors":[…]};
//     publish=true publishes only when that list is empty.
//   - the upload or the publish failed: {"id","success":false,
//     "validation_errors":[…]} whose last item names the failed step and
//     carries its Graph error (translate.FlowCreatePartialResponse).
func (s *Server) finishFlowCreate(c *gin.Context, phone *auth.Phone, id string, fc translate.FlowCreate) []byte {
	if fc.EndpointURI != "" {
		// Gupshup's create takes no endpoint_uri: a metadata update sets
		// it, before the flow JSON is uploaded.
		if _, e := s.flowStep(c, phone, "flow_update", id, func(ctx context.Context, token string) (*upstream.Response, error) {
			return s.opt.Flows.API.UpdateFlow(ctx, phone.AppID, token, id, translate.FlowEndpointBody(fc.EndpointURI))
		}); e != nil {
			s.stepFailed(c, translate.FlowStepEndpoint, e)
			return translate.FlowCreatePartialResponse(nil, id, nil, translate.FlowStepEndpoint, e)
		}
	}
	if fc.FlowJSON == nil {
		return translate.FlowCreateResponse(nil, id, nil)
	}
	r, e := s.uploadFlowJSON(c, phone, id, "flow.json", fc.FlowJSON)
	if e != nil {
		s.stepFailed(c, translate.FlowStepUpload, e)
		return translate.FlowCreatePartialResponse(nil, id, nil, translate.FlowStepUpload, e)
	}
	if !fc.Publish || translate.FlowHasValidationErrors(r.Body) {
		return translate.FlowCreateResponse(nil, id, r.Body)
	}
	if _, e := s.flowStep(c, phone, "flow_publish", id, func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Flows.API.PublishFlow(ctx, phone.AppID, token, id)
	}); e != nil {
		s.stepFailed(c, translate.FlowStepPublish, e)
		return translate.FlowCreatePartialResponse(nil, id, r.Body, translate.FlowStepPublish, e)
	}
	return translate.FlowCreateResponse(nil, id, r.Body)
}

// createdFlowID finds the id of the flow just created under name in the
// app's list of flows (Gupshup's names are unique per app), for a create
// answer that did not carry it.
func (s *Server) createdFlowID(c *gin.Context, phone *auth.Phone, name string) (string, bool) {
	resp, e := s.callSend(c, phone, "flow_list", func(ctx context.Context, token string) (*upstream.Response, error) {
		return s.opt.Flows.API.ListFlows(ctx, phone.AppID, token)
	})
	if e != nil || resp.Status/100 != 2 {
		return "", false
	}
	return translate.FlowIDByName(resp.Body, name)
}

// stepFailed notes on the log line a failed step of a multi-step call
// whose answer is a success that carries the failure.
func (s *Server) stepFailed(c *gin.Context, step string, e *translate.Error) {
	l := logOf(c)
	why := "meta code " + strconv.Itoa(e.Code)
	if e.Rule != "" {
		why += ", rule " + e.Rule
	}
	if l.err != "" {
		why += ", " + l.err
	}
	l.err = step + " (" + why + ")"
	l.operator = l.operator || e.Operator
}
