package pages

import "testing"

// No key is in two parts of a catalog (merge would silently keep one).
func TestCatalogPartsDisjoint(t *testing.T) {
	for lang, parts := range map[string][]map[string]string{"en": {en, teamEN, directoryEN, ssoEN}, "de": {de, teamDE, directoryDE, ssoDE}} {
		seen := map[string]int{}
		for i, p := range parts {
			for k := range p {
				if j, dup := seen[k]; dup {
					t.Errorf("%s: key %q is in parts %d and %d", lang, k, j, i)
				}
				seen[k] = i
			}
		}
	}
}
