package emulator

// JavaScript value coercion: NHS's claim checks are one JavaScript
// expression run by Apigee (docs/nhs-reference.md, validate-client-
// assertion-claims.js), so the emulator reproduces JavaScript's ToBoolean,
// ToNumber, ToString and loose equality on decoded JSON values. The rules
// that use them are in token.go (checkClaims).

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// secondsOf returns t as fractional Unix seconds.
func secondsOf(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

// jsTruthy is JavaScript's ToBoolean for decoded JSON values.
func jsTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !math.IsInf(f, 0) {
			return true
		}
		return f != 0 && !math.IsNaN(f)
	case float64:
		return x != 0 && !math.IsNaN(x)
	default: // objects and arrays
		return true
	}
}

// jsNumber is JavaScript's ToNumber for decoded JSON values.
func jsNumber(v any) float64 {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case json.Number:
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case float64:
		return x
	case string:
		t := strings.TrimSpace(x)
		if t == "" {
			return 0
		}
		if strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X") {
			n, err := strconv.ParseUint(t[2:], 16, 64)
			if err != nil {
				return math.NaN()
			}
			return float64(n)
		}
		switch t {
		case "Infinity", "+Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
		if strings.ContainsAny(t, "_xXpP") || strings.EqualFold(t, "inf") || strings.EqualFold(t, "+inf") ||
			strings.EqualFold(t, "-inf") || strings.EqualFold(t, "nan") || strings.EqualFold(t, "infinity") ||
			strings.EqualFold(t, "+infinity") || strings.EqualFold(t, "-infinity") {
			return math.NaN()
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil && !math.IsInf(f, 0) {
			return math.NaN()
		}
		return f
	case []any:
		switch len(x) {
		case 0:
			return 0
		case 1:
			if _, nested := x[0].([]any); nested {
				return jsNumber(x[0])
			}
			if x[0] == nil {
				return 0
			}
			return jsNumber(fmt.Sprint(jsString(x[0])))
		}
		return math.NaN()
	default:
		return math.NaN()
	}
}

// jsString approximates JavaScript's ToString for primitive JSON values.
func jsString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	default:
		return ""
	}
}

// jsExpired is NHS's `new Date() > new Date(exp * 1000)`. A missing exp is
// undefined (NaN: never expired) while JSON null is 0 (expired); NaN or a
// time outside JavaScript's Date range is an invalid date, never expired.
func jsExpired(exp any, present bool, now time.Time) bool {
	if !present {
		return false
	}
	ms := math.Trunc(jsNumber(exp) * 1000)
	if math.IsNaN(ms) || math.Abs(ms) > 8.64e15 {
		return false
	}
	return float64(now.UnixMilli()) > ms
}

// jsLooseEqual is JavaScript's == for decoded JSON primitives (objects and
// arrays are compared by reference in JS, so two decoded ones never match).
func jsLooseEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		switch y := b.(type) {
		case string:
			return x == y
		case json.Number, bool:
			return jsNumber(x) == jsNumber(y)
		}
	case json.Number, bool:
		switch b.(type) {
		case string, json.Number, bool:
			return jsNumber(a) == jsNumber(b)
		}
	}
	return false
}

// subKey is the API key the sub claim names: a string as is, a number by its
// JSON text (Apigee resolves the claim to a string), anything else "".
func subKey(v any) string {
	if _, isBool := v.(bool); isBool {
		return ""
	}
	return jsString(v)
}
