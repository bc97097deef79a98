package httpx

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"9300000000", 24 * time.Hour}, // would overflow time.Duration
		{"18446744074", 24 * time.Hour},
		{"99999999999999999999", 0}, // does not fit an int: invalid
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tc := range cases {
		h := http.Header{}
		if tc.value != "" {
			h.Set("Retry-After", tc.value)
		}
		if got := RetryAfter(h, now); got != tc.want {
			t.Errorf("Retry-After %q: %s, want %s", tc.value, got, tc.want)
		}
	}
}

func TestReadBounded(t *testing.T) {
	if b, err := ReadBounded(strings.NewReader("12345"), 5); err != nil || string(b) != "12345" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := ReadBounded(strings.NewReader("123456"), 5); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestLimitBody(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		limit   int64
		tooBig  bool
		readAll string
	}{
		{"under", "1234", 5, false, "1234"},
		{"exactly the limit", "12345", 5, false, "12345"},
		{"one byte over", "123456", 5, true, ""},
		{"far over", strings.Repeat("x", 1<<16), 1024, true, ""},
		{"empty", "", 5, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := &closeCounter{Reader: strings.NewReader(tc.body)}
			body := LimitBody(rc, tc.limit)
			got, err := io.ReadAll(body)
			if tc.tooBig {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("err %v, want ErrTooLarge", err)
				}
				if int64(len(got)) > tc.limit {
					t.Fatalf("read %d bytes past the limit %d", len(got), tc.limit)
				}
			} else if err != nil || string(got) != tc.readAll {
				t.Fatalf("read %q, %v; want %q", got, err, tc.readAll)
			}
			if err := body.Close(); err != nil || rc.closed != 1 {
				t.Fatalf("Close: %v, underlying body closed %d times", err, rc.closed)
			}
		})
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestStatusRecorder(t *testing.T) {
	cases := []struct {
		name string
		h    func(w http.ResponseWriter)
		want int
	}{
		{"nothing written", func(w http.ResponseWriter) {}, http.StatusOK},
		{"body only", func(w http.ResponseWriter) { w.Write([]byte("x")) }, http.StatusOK},
		{"explicit", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTeapot) }, http.StatusTeapot},
		{"first wins", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound); w.WriteHeader(http.StatusOK) }, http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rr := httptest.NewRecorder()
			rec := &StatusRecorder{ResponseWriter: rr}
			tc.h(rec)
			if rec.StatusOr() != tc.want {
				t.Fatalf("recorded %d, want %d", rec.StatusOr(), tc.want)
			}
			if rr.Code != tc.want {
				t.Fatalf("passed on %d, want %d", rr.Code, tc.want)
			}
			if rec.Unwrap() != rr {
				t.Fatal("Unwrap")
			}
		})
	}
}

func TestBearer(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{"Bearer abc", "abc"},
		{"bearer abc ", "abc"},
		{"DPoP abc", ""},
		{"Bearer", ""},
		{"", ""},
		{"Basic dXNlcjpwYXNz", ""},
	} {
		r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if got := Bearer(r); got != tc.want {
			t.Errorf("Bearer(%q) = %q, want %q", tc.header, got, tc.want)
		}
	}
}
