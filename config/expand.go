package config

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environment references in values. Two forms exist:
//
//	${NAME}            required: an unset or empty NAME is an error naming
//	                   the key and the variable
//	${NAME:-default}   optional: default when NAME is unset or empty
//	                   (${NAME:-} for an empty default)
//
// NAME is a letter or underscore followed by letters, digits and
// underscores. Anything else after "${" (no closing brace, an empty or
// invalid name, another operator such as ${NAME:?} or ${NAME-x}, a "${"
// inside a default) is an error naming the key, so a typo cannot silently
// become literal text. A "$" not followed by "{" is literal. Expanded text is
// never expanded again.

// expandNode expands every scalar value under n and reports every problem
// at once, one per line, each naming the key path and its line.
func expandNode(n *yaml.Node, path string, lookup func(string) (string, bool)) error {
	var errs []error
	walkScalars(n, path, func(s *yaml.Node, at string) {
		if !strings.Contains(s.Value, "${") {
			return
		}
		v, problems := expandValue(s.Value, lookup)
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s (line %d): %s", at, s.Line, p))
		}
		s.Value = v
		// Let the expanded text resolve like a literal would (a number for
		// an int field, a string for a string field).
		s.Tag = ""
	})
	return errors.Join(errs...)
}

// walkScalars calls f with every scalar value node under n and its key path
// ("tenants[0].tokens[1]"). Mapping keys are not values and are skipped.
func walkScalars(n *yaml.Node, path string, f func(*yaml.Node, string)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walkScalars(c, path, f)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkScalars(c, fmt.Sprintf("%s[%d]", path, i), f)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			walkScalars(n.Content[i+1], p, f)
		}
	case yaml.ScalarNode:
		f(n, path)
	}
}

// expandValue replaces the references in s. The problems it returns name
// variables and operators, never the surrounding text (which may be a
// secret).
func expandValue(s string, lookup func(string) (string, bool)) (string, []string) {
	var b strings.Builder
	var problems []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), problems
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return b.String(), append(problems, `unclosed "${" (no matching "}"); write ${NAME} or ${NAME:-default}`)
		}
		ref := rest[:j]
		s = rest[j+1:]
		v, problem := resolveRef(ref, lookup)
		if problem != "" {
			problems = append(problems, problem)
		}
		b.WriteString(v)
	}
}

// resolveRef resolves the text between "${" and "}".
func resolveRef(ref string, lookup func(string) (string, bool)) (string, string) {
	if ref == "" {
		return "", `empty variable name in "${}"`
	}
	n := nameLen(ref)
	name, op := ref[:n], ref[n:]
	if n == 0 || name[0] >= '0' && name[0] <= '9' {
		cand, _, _ := strings.Cut(ref, ":")
		return "", fmt.Sprintf("invalid variable name %q in ${…} (letters, digits and _, not starting with a digit)", cand)
	}
	v, set := lookup(name)
	set = set && v != ""
	switch {
	case op == "":
		if !set {
			return "", "environment variable " + name + " is not set (required: ${" + name + "} has no default)"
		}
		return v, ""
	case strings.HasPrefix(op, ":-"):
		def := op[2:]
		if strings.Contains(def, "${") {
			return "", "nested ${ in the default of ${" + name + ":-…} is not supported"
		}
		if set {
			return v, ""
		}
		return def, ""
	default:
		o := op
		if r := []rune(o); len(r) > 2 {
			o = string(r[:2])
		}
		return "", fmt.Sprintf("unsupported form ${%s%s…}: write ${%s} (required) or ${%s:-default}", name, o, name, name)
	}
}

// nameLen is the length of the run of name characters at the start of s.
func nameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return i
		}
	}
	return len(s)
}
