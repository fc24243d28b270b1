package translate

import "testing"

// TestFlowCreatePartialResponse pins the answer to a create-Flow request
// whose flow exists but whose upload or publish failed.
func TestFlowCreatePartialResponse(t *testing.T) {
	refused := &Error{HTTPStatus: 400, Code: 100, Title: "Invalid parameter", Details: "Gupshup: Flow cannot be published right now."}
	internal := &Error{HTTPStatus: 500, Code: 131000, Title: "Something went wrong", Details: "The upstream call could not be made."}
	tests := []struct {
		name        string
		assetAnswer []byte
		step        string
		e           *Error
		want        string
	}{
		{"upload failed: only the step's item", nil, FlowStepUpload, internal,
			`{"id":"1","success":false,"validation_errors":[{"error":"FLOW_JSON_UPLOAD_FAILED","error_type":"FLOW_STEP_ERROR",` +
				`"message":"The flow was created as a draft, but its flow JSON was not uploaded: (#131000) Something went wrong (The upstream call could not be made). ` +
				`Upload it with POST \/{flow-id}\/assets; creating the flow again fails because its name is taken."}]}`},
		{"endpoint_uri update failed", nil, FlowStepEndpoint, refused,
			`{"id":"1","success":false,"validation_errors":[{"error":"FLOW_ENDPOINT_URI_UPDATE_FAILED","error_type":"FLOW_STEP_ERROR",` +
				`"message":"The flow was created as a draft, but its endpoint_uri was not set: (#100) Invalid parameter (Gupshup: Flow cannot be published right now). ` +
				`Set it with POST \/{flow-id}; no flow JSON was uploaded and nothing was published."}]}`},
		{"publish failed after a clean upload", []byte(`{"status":"success","success":true,"validation_errors":[]}`), FlowStepPublish, refused,
			`{"id":"1","success":false,"validation_errors":[{"error":"FLOW_PUBLISH_FAILED","error_type":"FLOW_STEP_ERROR",` +
				`"message":"The flow was created and its flow JSON uploaded, but it was not published: (#100) Invalid parameter (Gupshup: Flow cannot be published right now). ` +
				`Publish it with POST \/{flow-id}\/publish."}]}`},
		{"the upload's validation errors come first", []byte(`{"validation_errors":[{"error":"X","message":"m"}]}`), FlowStepPublish, refused,
			`{"id":"1","success":false,"validation_errors":[{"error":"X","message":"m"},{"error":"FLOW_PUBLISH_FAILED","error_type":"FLOW_STEP_ERROR",` +
				`"message":"The flow was created and its flow JSON uploaded, but it was not published: (#100) Invalid parameter (Gupshup: Flow cannot be published right now). ` +
				`Publish it with POST \/{flow-id}\/publish."}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(FlowCreatePartialResponse(nil, "1", tc.assetAnswer, tc.step, tc.e)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestFlowHasValidationErrors pins which upload answers stop a publish.
func TestFlowHasValidationErrors(t *testing.T) {
	tests := []struct {
		answer string
		want   bool
	}{
		{`{"status":"success","success":true,"validation_errors":[]}`, false},
		{`{"status":"success"}`, false},
		{``, false},
		{`{"validation_errors":[{"error":"INVALID_JSON"}]}`, true},
		{`{"validationErrors":["bad"]}`, true},
		{`{"data":{"validation_errors":"[{\"error\":\"X\"}]"}}`, true},
		{`{"validation_errors":[1,null]}`, false}, // items Meta's shape drops
	}
	for _, tc := range tests {
		if got := FlowHasValidationErrors([]byte(tc.answer)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.answer, got, tc.want)
		}
	}
}

// TestFlowIDByName pins the lookup of a created flow's id by its name in
// the list shapes Gupshup may answer.
func TestFlowIDByName(t *testing.T) {
	tests := []struct {
		name, list, flow, want string
	}{
		{"bare array", `[{"id":"1","name":"a"},{"id":"2","name":"b"}]`, "b", "2"},
		{"flows member, numeric id", `{"status":"success","flows":[{"id":1234567890123456,"name":"a"}]}`, "a", "1234567890123456"},
		{"data wrapper, flowId", `{"data":[{"flow":{"flowId":"9","name":"x y"}}]}`, "x y", "9"},
		{"exact name only", `[{"id":"1","name":"A"},{"id":"2","name":"a "}]`, "a", ""},
		{"a match without id is skipped", `[{"name":"a"},{"id":"3","name":"a"}]`, "a", "3"},
		{"not a list", `{"status":"error"}`, "a", ""},
		{"not JSON", `<html>`, "a", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FlowIDByName([]byte(tc.list), tc.flow)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("got %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

// TestFlowEndpointBody pins the metadata update that sets endpoint_uri.
func TestFlowEndpointBody(t *testing.T) {
	if got := string(FlowEndpointBody("https://example.com/a?b=1&c=\"d\"")); got != `{"endpoint_uri":"https:\/\/example.com\/a?b=1&c=\"d\""}` {
		t.Errorf("got %s", got)
	}
}
