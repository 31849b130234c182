package store_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/invitekit/invitekit/store"
)

func TestTextRule(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		kind store.TextKind
		want string // "" = accepted; else a substring of the problem
	}{
		{"plain", "Ann Lee", 0, store.TextLine, ""},
		{"empty", "", 5, store.TextLine, ""},
		{"non-ASCII", "José Müller 山田 😀", 0, store.TextLine, ""},
		{"literal U+FFFD is text", "a\ufffdb", 0, store.TextLine, ""},
		{"format characters are text", "a\u200bb\u200e", 0, store.TextLine, ""},
		{"NUL", "a\x00b", 0, store.TextLine, "NUL"},
		{"NUL in multi-line", "a\x00b", 0, store.TextMultiline, "NUL"},
		{"Latin-1 byte", "Jos\xe9", 0, store.TextLine, "UTF-8"},
		{"overlong slash", "\xc0\xaf", 0, store.TextLine, "UTF-8"},
		{"overlong NUL", "a\xc0\x80", 0, store.TextLine, "UTF-8"},
		{"encoded surrogate", "\xed\xa0\x80", 0, store.TextLine, "UTF-8"},
		{"truncated sequence", "ab\xe2\x82", 0, store.TextLine, "UTF-8"},
		{"beyond U+10FFFF", "\xf4\x90\x80\x80", 0, store.TextLine, "UTF-8"},
		{"tab in a line", "a\tb", 0, store.TextLine, "control"},
		{"line feed in a line", "a\nb", 0, store.TextLine, "control"},
		{"escape", "a\x1b[31m", 0, store.TextLine, "control"},
		{"DEL", "a\x7f", 0, store.TextLine, "control"},
		{"C1 NEL", "a\u0085b", 0, store.TextLine, "control"},
		{"C1 CSI", "a\u009bb", 0, store.TextMultiline, "control"},
		{"tab and line breaks in multi-line", "a\tb\r\nc\n", 0, store.TextMultiline, ""},
		{"other C0 in multi-line", "a\x0bb", 0, store.TextMultiline, "other than tab"},
		{"at the max", "ééé", 3, store.TextLine, ""},
		{"over the max counts characters", "éééé", 3, store.TextLine, "at most 3 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := store.TextProblem(tt.in, tt.max, tt.kind)
			switch {
			case tt.want == "" && got != "":
				t.Fatalf("TextProblem(%q) = %q, want accepted", tt.in, got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Fatalf("TextProblem(%q) = %q, want a problem with %q", tt.in, got, tt.want)
			}
			err := store.CheckText("userProfile.firstName", tt.in, tt.max, tt.kind)
			if (err == nil) != (got == "") {
				t.Fatalf("CheckText = %v, TextProblem = %q", err, got)
			}
			if err != nil {
				var fe *store.FieldError
				if !errors.As(err, &fe) || fe.Code != store.CodeInvalidArgument || fe.Field != "userProfile.firstName" ||
					fe.Message != "userProfile.firstName "+got {
					t.Fatalf("CheckText = %#v", err)
				}
			}
		})
	}
}

// FuzzTextRule: what the rule accepts is valid UTF-8 without NUL, C0, DEL or
// C1 (tab and line breaks only in multi-line text) — every value a store
// must be able to keep.
func FuzzTextRule(f *testing.F) {
	for _, s := range []string{"", "a", "a\x00", "\xc0\xaf", "\xed\xa0\x80", "\u0085", "a\tb", "\r\n"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, multi bool) {
		kind := store.TextLine
		if multi {
			kind = store.TextMultiline
		}
		if store.TextProblem(s, 0, kind) != "" {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8 %q", s)
		}
		for _, r := range s {
			ctl := r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f)
			if ctl && !(multi && (r == '\t' || r == '\n' || r == '\r')) {
				t.Fatalf("accepted %q with %U", s, r)
			}
		}
	})
}
