package translate

import "github.com/tidwall/gjson"

// member is one member of a JSON object.
type member struct {
	name string
	v    gjson.Result
}

// allMembers appends obj's members to dst in document order, repeats
// included: for a body LastMembersJSON has already made last-wins.
func allMembers(obj gjson.Result, dst []member) []member {
	obj.ForEach(func(k, v gjson.Result) bool {
		dst = append(dst, member{k.String(), v})
		return true
	})
	return dst
}

// lastMembers appends obj's members to dst in document order, keeping of
// each name only its last occurrence (at that occurrence's place). Graph
// reads a duplicated member last-wins; gjson.Get returns the first, so
// every lookup of a client's member goes through here or lastMember.
func lastMembers(obj gjson.Result, dst []member) []member {
	start := len(dst)
	dst = allMembers(obj, dst)
	all := dst[start:]
	if len(all) < 2 {
		return dst
	}
	keep := all[:0]
	if len(all) <= 32 {
		for i := range all {
			if !nameLater(all[i+1:], all[i].name) {
				keep = append(keep, all[i])
			}
		}
	} else {
		last := make(map[string]int, len(all))
		for i := range all {
			last[all[i].name] = i
		}
		for i := range all {
			if last[all[i].name] == i {
				keep = append(keep, all[i])
			}
		}
	}
	return dst[:start+len(keep)]
}

func nameLater(ms []member, name string) bool {
	for i := range ms {
		if ms[i].name == name {
			return true
		}
	}
	return false
}

// lastMember returns the last member of obj named name (not found: a
// Result that does not exist). obj that is not an object has none.
func lastMember(obj gjson.Result, name string) gjson.Result {
	var out gjson.Result
	if !obj.IsObject() {
		return out
	}
	obj.ForEach(func(k, v gjson.Result) bool {
		if k.String() == name {
			out = v
		}
		return true
	})
	return out
}

// lastPath follows names through nested objects with lastMember.
func lastPath(obj gjson.Result, names ...string) gjson.Result {
	for _, n := range names {
		obj = lastMember(obj, n)
	}
	return obj
}
