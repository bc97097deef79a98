package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	cases := []struct {
		name, in, want, wantLines string
	}{
		{"plain", "Invalid 'kid' header", "Invalid 'kid' header", "Invalid 'kid' header"},
		{"empty", "", "", ""},
		{"unicode kept", "café – ✓", "café – ✓", "café – ✓"},
		{"clear screen", "a\x1b[2Jb", `a\x1b[2Jb`, `a\x1b[2Jb`},
		{"fake ok line", "bad\nok    token", `bad\nok    token`, "bad\nok    token"},
		{"carriage return", "x\rok", `x\rok`, `x\rok`},
		{"tab", "a\tb", `a\tb`, "a\tb"},
		{"OSC 52 clipboard", "\x1b]52;c;ZWNobyBoaQ==\x07", `\x1b]52;c;ZWNobyBoaQ==\x07`, `\x1b]52;c;ZWNobyBoaQ==\x07`},
		{"DEL and NUL", "a\x7fb\x00", `a\x7fb\x00`, `a\x7fb\x00`},
		{"C1 CSI as a rune", "a\u009b2J", `a\u009b2J`, `a\u009b2J`},
		{"C1 CSI as a raw byte", "a\x9b2J", `a\x9b2J`, `a\x9b2J`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`, `abc\u202edcba`},
		{"bidi isolates", "\u2066x\u2069", `\u2066x\u2069`, `\u2066x\u2069`},
		{"line separator", "a\u2028b", `a\u2028b`, `a\u2028b`},
		{"backslash kept", `a\nb`, `a\nb`, `a\nb`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Escape(tc.in); got != tc.want {
				t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := EscapeLines(tc.in); got != tc.wantLines {
				t.Errorf("EscapeLines(%q) = %q, want %q", tc.in, got, tc.wantLines)
			}
		})
	}
}

// FuzzEscape: whatever the input, Escape's output is valid UTF-8 with no
// control, bidi or separator character, and EscapeLines' has none but
// newlines and tabs.
func FuzzEscape(f *testing.F) {
	f.Add("\x1b[2J\nok\x1b]52;c;aGk=\x07\u202e\x9b")
	f.Fuzz(func(t *testing.T, s string) {
		for _, keep := range []bool{false, true} {
			out := escape(s, keep)
			if !utf8.ValidString(out) {
				t.Fatalf("escape(%q, %v) = %q: not UTF-8", s, keep, out)
			}
			for _, r := range out {
				if keep && (r == '\n' || r == '\t') {
					continue
				}
				if unsafe(r, utf8.RuneLen(r), keep) {
					t.Fatalf("escape(%q, %v) = %q keeps %U", s, keep, out, r)
				}
			}
			if !keep && strings.ContainsAny(out, "\n\r") {
				t.Fatalf("Escape(%q) = %q spans lines", s, out)
			}
		}
	})
}
