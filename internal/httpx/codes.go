package httpx

import "sort"

// Codes are the codes of the one error table, each once, sorted (with
// "internal", what unknown errors render as). The refusal pages
// (internal/pages) are tested against it: every code has words.
func Codes() []string {
	seen := map[string]bool{internal.Code: true}
	for _, e := range problems {
		seen[e.Code] = true
	}
	for _, e := range signInProblems {
		seen[e.Code] = true
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
