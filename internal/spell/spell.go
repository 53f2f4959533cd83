// Package spell finds the name a misspelt one most likely meant, for
// messages that say "did you mean …?" about a field or a setting.
package spell

import "strings"

// Nearest is the name among names a misspelt key most likely meant: the
// same name in another case, one the key begins (four letters or more), or
// one a letter or two away; "" when none is that close.
func Nearest(names []string, key string) string {
	best, bestD := "", 3
	for _, n := range names {
		if strings.EqualFold(n, key) {
			return n
		}
		if len(key) >= 4 && strings.HasPrefix(n, key) {
			return n
		}
		if d := Distance(n, key); d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	return best
}

// Distance is the Levenshtein distance of two short strings.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
