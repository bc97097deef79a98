// Package textsafe makes text that came from a server or a file inert
// before it is printed to a terminal or written to a text log: a token
// endpoint's error_description, a response header, a JWKS member, a name
// in a key file. Such text could otherwise clear the screen, move the
// cursor to fake an "ok" line, set the clipboard (OSC 52) or reorder what
// the reader sees (Unicode bidi overrides).
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every character that a terminal acts on written
// as a Go escape: the C0 controls (including newline, carriage return and
// tab) and DEL as \x1b, \n, \r, \t or \x7f; the C1 controls (U+0080 to
// U+009F), the bidi controls (U+061C, U+200E, U+200F, U+202A to U+202E,
// U+2066 to U+2069) and the line and paragraph separators (U+2028, U+2029)
// as \u00XX or \uXXXX; and each byte that is not valid UTF-8 (which a
// terminal may read as a C1 control) as \xXX. Everything else, including a
// backslash, is kept. The result is one line.
func Escape(s string) string { return escape(s, false) }

// EscapeLines is Escape keeping newlines and tabs: for a message of
// several lines that the program itself laid out. Text from a server is
// passed through Escape first, so that it cannot add a line of its own.
func EscapeLines(s string) string { return escape(s, true) }

func escape(s string, keepLines bool) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafe(r, size, keepLines) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case !unsafe(r, size, keepLines):
			b.WriteString(s[i : i+size])
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// unsafe reports whether the rune r (size bytes of input) must be escaped.
func unsafe(r rune, size int, keepLines bool) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return true
	case r == '\n' || r == '\t':
		return !keepLines
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029,
		r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
