package translate

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/tidwall/gjson"
)

// LastMembersJSON returns body with, in every object at every depth, only
// the last member of each name: Graph reads a repeated member last-wins,
// while gjson (and so every lookup in this package) finds the first. The
// earlier members are cut out with their separating comma; every other
// byte is kept. A body without repeated names, or one that is not valid
// JSON, is returned as is (no copy). One linear pass; no recursion, so
// nesting depth costs nothing but the stack slice.
func LastMembersJSON(body []byte) []byte {
	if !gjson.ValidBytes(body) {
		return body
	}
	return lastMembersValid(body)
}

// lastMembersValid is LastMembersJSON for a body known to be valid JSON.
func lastMembersValid(body []byte) []byte {
	cuts := duplicateMembers(body)
	if len(cuts) == 0 {
		return body
	}
	sort.Slice(cuts, func(i, j int) bool { return cuts[i][0] < cuts[j][0] })
	out := make([]byte, 0, len(body))
	at := 0
	for _, c := range cuts {
		if c[1] <= at {
			continue // inside a range already cut
		}
		if c[0] > at {
			out = append(out, body[at:c[0]]...)
		}
		at = c[1]
	}
	return append(out, body[at:]...)
}

// dupMember is one member of an object being scanned: the key's content
// span (without quotes), whether it holds escapes, and where the member
// starts (its opening quote).
type dupMember struct {
	ks, ke int
	esc    bool
	start  int
}

// dupFrame is one open container of the scan.
type dupFrame struct {
	obj       bool
	base      int // index into the member stack of this object's first member
	expectKey bool
}

// duplicateMembers scans valid JSON and returns the byte ranges of every
// member that a later member of the same object repeats, from its key to
// the next member's key.
func duplicateMembers(b []byte) [][2]int {
	var cuts [][2]int
	var frames []dupFrame
	var members []dupMember
	for i := 0; i < len(b); {
		switch c := b[i]; c {
		case '{':
			frames = append(frames, dupFrame{obj: true, base: len(members), expectKey: true})
			i++
		case '[':
			frames = append(frames, dupFrame{})
			i++
		case '}':
			f := frames[len(frames)-1]
			cuts = appendDuplicateCuts(cuts, b, members[f.base:])
			members = members[:f.base]
			frames = frames[:len(frames)-1]
			i++
		case ']':
			frames = frames[:len(frames)-1]
			i++
		case ',':
			if f := &frames[len(frames)-1]; f.obj {
				f.expectKey = true
			}
			i++
		case ':':
			frames[len(frames)-1].expectKey = false
			i++
		case '"':
			start := i
			i++
			esc := false
			for b[i] != '"' {
				if b[i] == '\\' {
					esc = true
					i++
				}
				i++
			}
			i++
			if n := len(frames); n > 0 && frames[n-1].obj && frames[n-1].expectKey {
				members = append(members, dupMember{ks: start + 1, ke: i - 1, esc: esc, start: start})
			}
		default:
			i++
		}
	}
	return cuts
}

// appendDuplicateCuts appends, for one object's members, the range of each
// member a later one repeats: from its start to the next member's start.
func appendDuplicateCuts(cuts [][2]int, b []byte, ms []dupMember) [][2]int {
	if len(ms) < 2 {
		return cuts
	}
	if len(ms) <= 16 {
		for i := 0; i < len(ms)-1; i++ {
			for j := i + 1; j < len(ms); j++ {
				if sameKey(b, ms[i], ms[j]) {
					cuts = append(cuts, [2]int{ms[i].start, ms[i+1].start})
					break
				}
			}
		}
		return cuts
	}
	last := make(map[string]int, len(ms))
	for i := range ms {
		last[keyName(b, ms[i])] = i
	}
	for i := 0; i < len(ms)-1; i++ {
		if last[keyName(b, ms[i])] != i {
			cuts = append(cuts, [2]int{ms[i].start, ms[i+1].start})
		}
	}
	return cuts
}

func sameKey(b []byte, x, y dupMember) bool {
	if !x.esc && !y.esc {
		return bytes.Equal(b[x.ks:x.ke], b[y.ks:y.ke])
	}
	return keyName(b, x) == keyName(b, y)
}

// keyName is a key's decoded text.
func keyName(b []byte, m dupMember) string {
	if !m.esc {
		return string(b[m.ks:m.ke])
	}
	var s string
	if err := json.Unmarshal(b[m.ks-1:m.ke+1], &s); err != nil {
		return string(b[m.ks:m.ke])
	}
	return s
}
