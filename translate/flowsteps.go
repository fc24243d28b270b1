package translate

import (
	"strings"

	"github.com/tidwall/gjson"
)

// The steps of a create-Flow request that come after the flow exists. A
// step that fails is reported as an item of the answer's
// validation_errors whose "error" names the step.
const (
	// FlowStepEndpoint is setting endpoint_uri (a metadata update).
	FlowStepEndpoint = "FLOW_ENDPOINT_URI_UPDATE_FAILED"
	// FlowStepUpload is the flow JSON upload (flow_json).
	FlowStepUpload = "FLOW_JSON_UPLOAD_FAILED"
	// FlowStepPublish is the publish (publish=true).
	FlowStepPublish = "FLOW_PUBLISH_FAILED"
)

// flowStepErrorType is the error_type of a failed step's item.
const flowStepErrorType = "FLOW_STEP_ERROR"

// FlowHasValidationErrors reports whether Gupshup's answer to a flow JSON
// upload lists validation errors (in any of the places
// FlowValidationResponse reads them from). Meta publishes a flow created
// with publish=true only when its flow JSON has none.
func FlowHasValidationErrors(assetAnswer []byte) bool {
	n := 0
	findValidationErrors(parseAnswer(assetAnswer)).ForEach(func(_, it gjson.Result) bool {
		if it.IsObject() || it.Type == gjson.String {
			n++
		}
		return n == 0
	})
	return n > 0
}

// FlowEndpointBody is the body of Gupshup's metadata update that sets a
// new flow's endpoint_uri: {"endpoint_uri":"…"}.
func FlowEndpointBody(uri string) []byte {
	return append(AppendMetaString([]byte(`{"endpoint_uri":`), uri), '}')
}

// FlowCreatePartialResponse appends the answer to a create-Flow request
// whose flow was created but whose endpoint_uri update (step
// FlowStepEndpoint, assetAnswer nil), flow JSON upload (FlowStepUpload,
// assetAnswer nil) or publish (FlowStepPublish, assetAnswer Gupshup's
// answer to the upload) failed with e:
//
//	{"id":"…","success":false,"validation_errors":[…,{"error":"FLOW_PUBLISH_FAILED",
//	 "error_type":"FLOW_STEP_ERROR","message":"The flow was created … (#…) …"}]}
//
// It is an HTTP 200 answer on purpose: the flow exists, so the request
// must not look retryable (a second create fails, the name being taken),
// and the id sits where every client reads it. The upload's validation
// errors, if any, come first; the last item says which step failed, why
// (e's Graph message and details) and what to call to finish.
func FlowCreatePartialResponse(dst []byte, id string, assetAnswer []byte, step string, e *Error) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendMetaString(dst, id)
	dst = append(dst, `,"success":false,"validation_errors":`...)
	dst = appendValidationErrors(dst, findValidationErrors(parseAnswer(assetAnswer)))
	dst = dst[:len(dst)-1] // reopen the array
	if dst[len(dst)-1] != '[' {
		dst = append(dst, ',')
	}
	dst = append(dst, `{"error":`...)
	dst = AppendMetaString(dst, step)
	dst = append(dst, `,"error_type":"`+flowStepErrorType+`","message":`...)
	dst = AppendMetaString(dst, flowStepMessage(step, e))
	return append(dst, "}]}"...)
}

// flowStepMessage says what exists, what failed and how to finish.
func flowStepMessage(step string, e *Error) string {
	why := "unknown error"
	if e != nil {
		why = strings.TrimSuffix(e.message(), ".")
		if e.Details != "" && !strings.Contains(why, e.Details) {
			why += " (" + strings.TrimSuffix(e.Details, ".") + ")"
		}
	}
	switch step {
	case FlowStepPublish:
		return "The flow was created and its flow JSON uploaded, but it was not published: " + why +
			". Publish it with POST /{flow-id}/publish."
	case FlowStepEndpoint:
		return "The flow was created as a draft, but its endpoint_uri was not set: " + why +
			". Set it with POST /{flow-id}; no flow JSON was uploaded and nothing was published."
	}
	return "The flow was created as a draft, but its flow JSON was not uploaded: " + why +
		". Upload it with POST /{flow-id}/assets; creating the flow again fails because its name is taken."
}

// FlowIDByName finds the id of the flow named name in Gupshup's list of
// flows (the shapes FlowListResponse reads). Gupshup's flow names are
// unique per app, so after a create Gupshup accepted without saying the
// new id, the flow of that name is the one created. It returns false when
// no flow with an id has that name.
func FlowIDByName(gupshupList []byte, name string) (string, bool) {
	items, ok := flowItems(parseAnswer(gupshupList), "flows")
	if !ok {
		return "", false
	}
	id := ""
	items.ForEach(func(_, it gjson.Result) bool {
		it = unwrapFlow(it)
		if n := flowMember(it, "name"); n.Type == gjson.String && n.Str == name {
			id = flowIDOf(it)
		}
		return id == ""
	})
	return id, id != ""
}
