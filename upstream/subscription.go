package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// ErrBadAnswer wraps 2xx answers whose body cannot be understood (not JSON,
// or missing the object the call returns).
var ErrBadAnswer = errors.New("upstream: unexpected answer")

// Subscription is a Gupshup callback subscription, decoded tolerantly: the
// id may arrive as a JSON number or string, modes as an array or a comma
// list, meta as a string or an object.
type Subscription struct {
	// ID is the subscription id, always as a string.
	ID string
	// URL is the callback URL.
	URL string
	// Tag is the subscription's name, unique per app.
	Tag string
	// Meta is the meta JSON text: the value itself when Gupshup sent a
	// string, the raw JSON when it sent an object, "" when absent or null.
	Meta string
	// Version is the callback format: 2 (Gupshup) or 3 (Meta).
	Version int
	// Modes are the subscribed event modes, e.g. MESSAGE, SENT, DELIVERED.
	Modes []string
	// Active reports whether callbacks are delivered.
	Active bool
}

// SubscriptionSpec is what CreateSubscription and UpdateSubscription send.
// Empty fields are left out of the form (on update they keep their current
// value).
type SubscriptionSpec struct {
	// URL is the callback URL.
	URL string
	// Tag names the subscription; Gupshup requires it unique per app.
	Tag string
	// Version is 2 or 3; 0 leaves the field out.
	Version int
	// Modes are sent comma-joined, e.g. MESSAGE,SENT,DELIVERED,READ,FAILED.
	Modes []string
	// Meta is a JSON text whose headers Gupshup adds to every callback,
	// e.g. {"headers":{"X-Waproxy-Secret":"…"}}.
	Meta string
	// DoCheck lets Gupshup check the URL; false sends doCheck=false.
	DoCheck bool
}

// Message returns Gupshup's "message" from the error body, or "" when the
// body has none.
func (e *StatusError) Message() string {
	if !gjson.ValidBytes(e.Body) {
		return ""
	}
	return gjson.GetBytes(e.Body, "message").String()
}

// ListSubscriptions is GET /partner/app/{appID}/subscription with the app
// token. Any 2xx answer is a success (the docs name 204 but show a body); an
// empty body or one without "subscriptions" is an empty list. Other answers
// become *StatusError.
func (c *Client) ListSubscriptions(ctx context.Context, appID, appToken string) ([]Subscription, error) {
	path := subscriptionPath(appID, "")
	r, err := c.do(ctx, http.MethodGet, path, appToken, "", nil)
	if err != nil {
		return nil, err
	}
	if err := answerError(r); err != nil {
		return nil, err
	}
	subs := []Subscription{}
	if len(strings.TrimSpace(string(r.Body))) == 0 {
		return subs, nil
	}
	if !gjson.ValidBytes(r.Body) {
		return nil, fmt.Errorf("%w: GET %s: body is not JSON: %s", ErrBadAnswer, path, truncate(r.Body, 200))
	}
	list := gjson.GetBytes(r.Body, "subscriptions")
	if list.Exists() && list.Type != gjson.Null && !list.IsArray() {
		return nil, fmt.Errorf("%w: GET %s: subscriptions is not an array", ErrBadAnswer, path)
	}
	for _, item := range list.Array() {
		if !item.IsObject() {
			return nil, fmt.Errorf("%w: GET %s: subscription is not an object: %s", ErrBadAnswer, path, item.Raw)
		}
		subs = append(subs, decodeSubscription(item))
	}
	return subs, nil
}

// CreateSubscription is POST /partner/app/{appID}/subscription with a form
// body (url, tag, version, modes, meta, showOnUI=false, doCheck). It returns
// the subscription Gupshup answered with. The call is never retried once
// the request was written.
func (c *Client) CreateSubscription(ctx context.Context, appID, appToken string, spec SubscriptionSpec) (*Subscription, error) {
	return c.writeSubscription(ctx, http.MethodPost, subscriptionPath(appID, ""), appToken, spec.form(false))
}

// UpdateSubscription is PUT /partner/app/{appID}/subscription/{id} with the
// same form as CreateSubscription plus active=true.
func (c *Client) UpdateSubscription(ctx context.Context, appID, appToken, id string, spec SubscriptionSpec) (*Subscription, error) {
	return c.writeSubscription(ctx, http.MethodPut, subscriptionPath(appID, id), appToken, spec.form(true))
}

func (c *Client) writeSubscription(ctx context.Context, method, path, appToken string, form url.Values) (*Subscription, error) {
	r, err := c.do(ctx, method, path, appToken, "application/x-www-form-urlencoded", []byte(form.Encode()))
	if err != nil {
		return nil, err
	}
	if err := answerError(r); err != nil {
		return nil, err
	}
	if !gjson.ValidBytes(r.Body) || len(strings.TrimSpace(string(r.Body))) == 0 {
		return nil, fmt.Errorf("%w: %s %s: body is not JSON: %s", ErrBadAnswer, method, path, truncate(r.Body, 200))
	}
	obj := gjson.GetBytes(r.Body, "subscription")
	if !obj.IsObject() {
		// Tolerate an answer that is the subscription itself.
		if root := gjson.ParseBytes(r.Body); root.IsObject() && root.Get("id").Exists() {
			obj = root
		} else {
			return nil, fmt.Errorf("%w: %s %s: answer has no subscription: %s", ErrBadAnswer, method, path, truncate(r.Body, 200))
		}
	}
	s := decodeSubscription(obj)
	return &s, nil
}

// answerError maps a non-2xx answer, or a 2xx whose body says
// "status":"error", to *StatusError.
func answerError(r *Response) error {
	if r.Status/100 != 2 {
		return &StatusError{Status: r.Status, Body: r.Body}
	}
	if gjson.ValidBytes(r.Body) && gjson.GetBytes(r.Body, "status").String() == "error" {
		return &StatusError{Status: r.Status, Body: r.Body}
	}
	return nil
}

func subscriptionPath(appID, id string) string {
	p := "/partner/app/" + url.PathEscape(appID) + "/subscription"
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p
}

// form encodes the spec; update adds active=true.
func (s SubscriptionSpec) form(update bool) url.Values {
	f := url.Values{}
	if s.URL != "" {
		f.Set("url", s.URL)
	}
	if s.Tag != "" {
		f.Set("tag", s.Tag)
	}
	if s.Version != 0 {
		f.Set("version", strconv.Itoa(s.Version))
	}
	if len(s.Modes) > 0 {
		f.Set("modes", strings.Join(s.Modes, ","))
	}
	if s.Meta != "" {
		f.Set("meta", s.Meta)
	}
	f.Set("showOnUI", "false")
	f.Set("doCheck", strconv.FormatBool(s.DoCheck))
	if update {
		f.Set("active", "true")
	}
	return f
}

// decodeSubscription reads one subscription object.
func decodeSubscription(o gjson.Result) Subscription {
	s := Subscription{
		ID:      scalarString(o.Get("id")),
		URL:     o.Get("url").String(),
		Tag:     o.Get("tag").String(),
		Version: int(o.Get("version").Int()),
		Active:  o.Get("active").Bool(),
	}
	switch m := o.Get("meta"); m.Type {
	case gjson.String:
		s.Meta = m.String()
	case gjson.JSON:
		s.Meta = m.Raw
	}
	modes := o.Get("modes")
	switch {
	case modes.IsArray():
		for _, m := range modes.Array() {
			if v := strings.TrimSpace(m.String()); v != "" {
				s.Modes = append(s.Modes, v)
			}
		}
	case modes.Type == gjson.String:
		for _, m := range strings.Split(modes.String(), ",") {
			if v := strings.TrimSpace(m); v != "" {
				s.Modes = append(s.Modes, v)
			}
		}
	}
	return s
}

// scalarString renders a JSON string or number as a string; numbers keep
// their exact digits.
func scalarString(r gjson.Result) string {
	switch r.Type {
	case gjson.String:
		return r.String()
	case gjson.Number:
		return r.Raw
	}
	return ""
}
