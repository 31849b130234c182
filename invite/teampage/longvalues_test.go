package teampage_test

import (
	"net/url"
	"strings"
	"testing"
)

// Typing more than the limit is refused with a message a person reads
// (no internal field path, nothing cut silently), the add form posts to
// the page's own URL, and the inputs no longer cut what is typed.
func TestAddMemberLongValues(t *testing.T) {
	f := newFixture(t, nil)
	_, page, _ := get(t, f.base+"/")
	mustContain(t, page, `action="`+strings.TrimPrefix(f.base, f.srv.URL)+`/" class="ik-form"`)
	for _, id := range []string{"ik-add-first", "ik-add-last", "ik-add-email"} {
		i := strings.Index(page, `id="`+id+`"`)
		if i < 0 {
			t.Fatalf("no input %s", id)
		}
		if tag := page[i : i+strings.Index(page[i:], ">")]; strings.Contains(tag, "maxlength") {
			t.Errorf("%s cuts what is typed: %s", id, tag)
		}
	}
	status, body, _ := post(t, f.base+"/", url.Values{"email": {"x@example.com"}, "first_name": {strings.Repeat("a", 301)}})
	if status != 422 {
		t.Fatalf("301-character first name: status %d", status)
	}
	mustContain(t, body, "First name must be at most 100", `value="`+strings.Repeat("a", 301)+`"`)
	if strings.Contains(body, "userProfile.") {
		t.Errorf("the page shows an internal field path")
	}
	// A good add from the page's URL still works (redirect back).
	if status, _, _ := post(t, f.base+"/", url.Values{"email": {"y@example.com"}}); status != 303 {
		t.Fatalf("add via the page URL: %d", status)
	}
}
