package config

import (
	"strings"
	"testing"
)

func TestParseRejectsMalformedReferences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		env  map[string]string
		want []string // the key path with its line, then the problem
	}{
		{"unclosed reference", "public_url: http://${HOST\n" + minimal, map[string]string{"HOST": "h"},
			[]string{"public_url (line 1): ", `unclosed "${"`}},
		{"unclosed after a good reference", "public_url: http://${HOST}/${PATH\n" + minimal, map[string]string{"HOST": "h"},
			[]string{"public_url (line 1): ", `unclosed "${"`}},
		{"empty name", "listen: ${}\n" + minimal, nil,
			[]string{"listen (line 1): ", `empty variable name in "${}"`}},
		{"name starting with a digit", "public_url: http://h/${1A}\n" + minimal, map[string]string{"1A": "x"},
			[]string{"public_url (line 1): ", `invalid variable name "1A"`}},
		{"name with a dash", "listen: ${MY-ADDR}\n" + minimal, nil,
			[]string{"listen (line 1): ", "unsupported form ${MY-A…}"}},
		{"name with a space", "listen: ${ ADDR}\n" + minimal, nil,
			[]string{"listen (line 1): ", `invalid variable name " ADDR"`}},
		{"empty name with a default", "listen: ${:-127.0.0.1:1}\n" + minimal, nil,
			[]string{"listen (line 1): ", `invalid variable name ""`}},
		{"shell's required form is not supported", "listen: ${ADDR:?}\n" + minimal, map[string]string{"ADDR": "127.0.0.1:1"},
			[]string{"listen (line 1): ", "unsupported form ${ADDR:?…}", "write ${ADDR} (required) or ${ADDR:-default}"}},
		{"default without colon is not supported", "listen: ${ADDR-127.0.0.1:1}\n" + minimal, nil,
			[]string{"listen (line 1): ", "unsupported form ${ADDR-1…}"}},
		{"nested reference in a default", "listen: ${ADDR:-${OTHER}}\n" + minimal, nil,
			[]string{"listen (line 1): ", "nested ${ in the default of ${ADDR:-…}"}},
		{"in a sequence item", `
tenants:
  - name: acme
    tokens: ["${TOKEN"]
    phone_numbers: [{id: "111", app_id: app-1, app_token: sk_1}]
`, nil, []string{"tenants[0].tokens[0] (line 4): ", `unclosed "${"`}},
		{"in a nested mapping", "gupshup:\n  partner:\n    email: a@b.c\n    secret: ${9S}\n" + minimal, nil,
			[]string{"gupshup.partner.secret (line 4): ", `invalid variable name "9S"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parseErr(t, tt.raw, env(tt.env))
			if !strings.HasPrefix(err.Error(), tt.want[0]) {
				t.Errorf("error %q does not start with %q", err, tt.want[0])
			}
			wantErrContains(t, err, tt.want[1:]...)
		})
	}
}

// A problem names variables and operators, never the text around the
// reference, which may be a secret written in the file.
func TestParseMalformedReferenceHidesTheValue(t *testing.T) {
	t.Parallel()
	raw := "gupshup:\n  partner:\n    email: a@b.c\n    secret: hunter2-${SECRET_SUFFIX\n" + minimal
	err := parseErr(t, raw, noEnv)
	wantErrContains(t, err, "gupshup.partner.secret (line 4)")
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "SECRET_SUFFIX") {
		t.Errorf("error %q repeats the value", err)
	}
}

// Every problem of the file is reported at once, one line each, so a
// deployment learns all the variables it lacks in one try.
func TestParseReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	raw := `
listen: ${LISTEN_ADDR}
public_url: ${SCHEME:-http}://${HOST_A}${HOST_B}
tenants:
  - name: acme
    tokens: ["${ACME_TOKEN}"]
    phone_numbers: [{id: "111", app_id: app-1, app_token: "${BAD"}]
`
	err := parseErr(t, raw, noEnv)
	want := []string{
		"listen (line 2): environment variable LISTEN_ADDR is not set",
		"public_url (line 3): environment variable HOST_A is not set",
		"public_url (line 3): environment variable HOST_B is not set",
		"tenants[0].tokens[0] (line 6): environment variable ACME_TOKEN is not set",
		`tenants[0].phone_numbers[0].app_token (line 7): unclosed "${"`,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestExpandValue(t *testing.T) {
	t.Parallel()
	lookup := env(map[string]string{"A": "a", "EMPTY": ""})
	tests := []struct {
		in, want string
		problems int
	}{
		{"plain", "plain", 0},
		{"${A}", "a", 0},
		{"x${A}y${A}z", "xayaz", 0},
		{"${A:-d}", "a", 0},
		{"${EMPTY:-d}", "d", 0},
		{"${UNSET:-}", "", 0},
		{"${UNSET:-a:b/c}", "a:b/c", 0},
		{"$A ${A} $", "$A a $", 0},
		{"${EMPTY}", "", 1},
		{"${UNSET}${UNSET2}", "", 2},
		{"${A", "", 1},
		{"pre${A", "pre", 1},
	}
	for _, tt := range tests {
		got, problems := expandValue(tt.in, lookup)
		if got != tt.want || len(problems) != tt.problems {
			t.Errorf("expandValue(%q) = %q, %q; want %q with %d problem(s)", tt.in, got, problems, tt.want, tt.problems)
		}
	}
}
