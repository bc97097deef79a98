package emulator

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// outcome builds the expected OperationOutcome of docs/nhs-reference.md, "PDS errors" as
// generic JSON, independently of the types of pds_errors.go.
func outcome(severity, issueCode, code, display, diagnostics string) any {
	issue := map[string]any{
		"severity": severity, "code": issueCode,
		"details": map[string]any{"coding": []any{map[string]any{
			"system":  "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode",
			"version": "1", "code": code, "display": display,
		}}},
	}
	if diagnostics != "" {
		issue["diagnostics"] = diagnostics
	}
	return map[string]any{"resourceType": "OperationOutcome", "issue": []any{issue}}
}

func denied(diag string) any {
	return outcome("error", "forbidden", "ACCESS_DENIED", "Access Denied - Unauthorised", diag)
}

func assertOutcome(t *testing.T, res httpResult, status int, want any) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d: %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/fhir+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var got any
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatalf("%s: %v", res.body, err)
	}
	if !reflect.DeepEqual(got, want) {
		w, _ := json.Marshal(want)
		t.Errorf("body\n got %s\nwant %s", res.body, w)
	}
}

func TestPDSErrors(t *testing.T) {
	const patient = PDSBasePath + "/Patient/9000000009"
	rid := uuid.NewString()
	type tc struct {
		name    string
		mod     func(*Config)
		method  string
		path    string
		headers func(tok string) map[string]string
		status  int
		want    any
		check   func(t *testing.T, h http.Header)
	}
	auth := func(extra ...string) func(string) map[string]string {
		return func(tok string) map[string]string {
			h := map[string]string{"Authorization": "Bearer " + tok, "X-Request-ID": rid}
			for i := 0; i < len(extra); i += 2 {
				if extra[i+1] == "\x00" {
					delete(h, extra[i])
				} else {
					h[extra[i]] = extra[i+1]
				}
			}
			return h
		}
	}
	cases := []tc{
		{name: "no Authorization", path: patient, headers: auth("Authorization", "\x00"), status: 401, want: denied("Missing Authorization header")},
		{name: "no Authorization beats bad X-Request-ID", path: patient, headers: auth("Authorization", "\x00", "X-Request-ID", "bad"),
			status: 401, want: denied("Missing Authorization header")},
		{name: "empty Authorization", path: patient, headers: auth("Authorization", ""), status: 401, want: denied("Empty Authorization header")},
		{name: "Bearer without token", path: patient, headers: auth("Authorization", "Bearer"), status: 401, want: denied("Missing access token")},
		{name: "Bearer space without token", path: patient, headers: auth("Authorization", "Bearer "), status: 401, want: denied("Missing access token")},
		{name: "Basic scheme", path: patient, headers: auth("Authorization", "Basic dXNlcjpwYXNz"), status: 401,
			want: denied("Invalid token type 'Basic', must be 'Bearer'")},
		{name: "unknown token", path: patient, headers: auth("Authorization", "Bearer g1112R_ccQ1Ebbb4gtHBP1aaaNM"), status: 401,
			want: denied("Invalid Access Token")},
		{name: "missing X-Request-ID", path: patient, headers: auth("X-Request-ID", "\x00"), status: 400,
			want: outcome("error", "required", "MISSING_VALUE", "Required value is missing",
				"Invalid request with error - X-Request-ID header must be supplied to access this resource")},
		{name: "bad X-Request-ID", path: patient, headers: auth("X-Request-ID", "1234"), status: 400,
			want: outcome("error", "value", "INVALID_VALUE", "Provided value is invalid", "Invalid value - '1234' in header 'X-Request-ID'")},
		{name: "empty X-Request-ID", path: patient, headers: auth("X-Request-ID", ""), status: 400,
			want: outcome("error", "value", "INVALID_VALUE", "Provided value is invalid", "Invalid value - '' in header 'X-Request-ID'")},
		// An echoed header value is cut at 128 bytes, on a UTF-8 boundary.
		{name: "long bad X-Request-ID is cut", path: patient, headers: auth("X-Request-ID", strings.Repeat("x", 5000)), status: 400,
			want: outcome("error", "value", "INVALID_VALUE", "Provided value is invalid", "Invalid value - '"+strings.Repeat("x", 128)+"…' in header 'X-Request-ID'")},
		{name: "long multibyte X-Request-ID is cut whole", path: patient, headers: auth("X-Request-ID", "x"+strings.Repeat("é", 100)), status: 400,
			want: outcome("error", "value", "INVALID_VALUE", "Provided value is invalid", "Invalid value - 'x"+strings.Repeat("é", 63)+"…' in header 'X-Request-ID'")},
		{name: "long scheme is cut", path: patient, headers: auth("Authorization", strings.Repeat("A", 5000)+" tok"), status: 401,
			want: denied("Invalid token type '" + strings.Repeat("A", 128) + "…', must be 'Bearer'")},
		{name: "invalid NHS number", path: PDSBasePath + "/Patient/9000000000", headers: auth(), status: 400,
			want: outcome("error", "value", "INVALID_RESOURCE_ID", "Resource Id is invalid", "")},
		{name: "NHS number not digits", path: PDSBasePath + "/Patient/90000000O9", headers: auth(), status: 400,
			want: outcome("error", "value", "INVALID_RESOURCE_ID", "Resource Id is invalid", "")},
		{name: "not found", path: PDSBasePath + "/Patient/9111231130", headers: auth(), status: 404,
			want: outcome("information", "not-found", "RESOURCE_NOT_FOUND", "Resource not found", "")},
		{name: "invalidated", path: PDSBasePath + "/Patient/9990003343", headers: auth(), status: 404,
			want: outcome("error", "processing", "INVALIDATED_RESOURCE",
				"Resource that has been marked as invalid was requested - invalid resources cannot be retrieved", "")},
		{name: "unsupported path", path: PDSBasePath + "/Coverage", headers: auth(), status: 400,
			want: outcome("error", "value", "UNSUPPORTED_REQUEST", "The request is not one that is supported.", "Unsupported path - '/Coverage'")},
		{name: "unsupported nested path", path: PDSBasePath + "/Patient/9000000009/RelatedPerson", headers: auth(), status: 400,
			want: outcome("error", "value", "UNSUPPORTED_REQUEST", "The request is not one that is supported.",
				"Unsupported path - '/Patient/9000000009/RelatedPerson'")},
		{name: "PATCH app-restricted", method: http.MethodPatch, path: patient, headers: auth(), status: 403,
			want: outcome("error", "forbidden", "INVALID_METHOD", "Cannot update resource with application-restricted access token",
				"Your app has insufficient permissions to use this method. Please contact support.")},
		{name: "POST app-restricted", method: http.MethodPost, path: PDSBasePath + "/Patient", headers: auth(), status: 403,
			want: outcome("error", "forbidden", "INVALID_METHOD", "Cannot update resource with application-restricted access token",
				"Your app has insufficient permissions to use this method. Please contact support.")},
		{name: "search _max-results=2", path: PDSBasePath + "/Patient?family=Smith&birthdate=2010-10-22&_max-results=2", headers: auth(), status: 403,
			want: outcome("error", "token", "INVALID_VALUE", "Cannot retrieve more than one result with application-restricted access token",
				"Your app has insufficient permissions to perform this search. Please contact support.")},
		{name: "token without PDS scope", mod: func(c *Config) { c.Apps[0].Scopes = []string{"urn:nhsd:apim:app:level3:hello-world"} },
			path: patient, headers: auth(), status: 401, want: denied("Invalid API call as no apiproduct match found")},
		{name: "rate limited", mod: func(c *Config) { c.PDSRateLimit = 1 }, path: patient, headers: auth(), status: 429,
			want: outcome("error", "value", "TOO_MANY_REQUESTS", "Too many requests",
				"Your application, Test App, has exceeded its quota of 1 requests every 1 second(s) and is being rate limited. Please see: https://digital.nhs.uk/developer/guides-and-documentation/reference-guide#rate-limits for more details."),
			check: func(t *testing.T, h http.Header) {
				if h.Get("Retry-After") != "1" {
					t.Errorf("Retry-After = %q", h.Get("Retry-After"))
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, c.mod)
			tok := e.token()
			if c.name == "rate limited" {
				if r := e.get(c.path, c.headers(tok)); r.status != 200 {
					t.Fatalf("first request: %d %s", r.status, r.body)
				}
			}
			m := c.method
			if m == "" {
				m = http.MethodGet
			}
			req, _ := http.NewRequest(m, e.ts.URL+c.path, strings.NewReader("[]"))
			h := c.headers(tok)
			h["X-Correlation-ID"] = "corr-1"
			for k, v := range h {
				req.Header[http.CanonicalHeaderKey(k)] = []string{v}
			}
			res := e.do(req)
			assertOutcome(t, res, c.status, c.want)
			if res.header.Get("X-Correlation-ID") != "corr-1" {
				t.Errorf("X-Correlation-ID not mirrored: %q", res.header.Get("X-Correlation-ID"))
			}
			if v, ok := h["X-Request-ID"]; ok && res.header.Get("X-Request-ID") != v {
				t.Errorf("X-Request-ID not mirrored: %q", res.header.Get("X-Request-ID"))
			}
			if c.check != nil {
				c.check(t, res.header)
			}
		})
	}
}

func TestPDSExpiredToken(t *testing.T) {
	e := newTestEnv(t, nil)
	tok := e.token()
	e.clock.Advance(599 * time.Second)
	hdr := map[string]string{"Authorization": "Bearer " + tok, "X-Request-ID": uuid.NewString()}
	assertOutcome(t, e.get(PDSBasePath+"/Patient/9000000009", hdr), 401, denied("Access Token expired"))
	// After the grace period the token is purged and simply unknown.
	e.clock.Advance(expiredTokenGrace + time.Second)
	e.token() // any insert purges
	assertOutcome(t, e.get(PDSBasePath+"/Patient/9000000009", hdr), 401, denied("Invalid Access Token"))
}

func TestPDSReadPatients(t *testing.T) {
	e := newTestEnv(t, nil)
	tok := e.token()
	rid := uuid.NewString()
	hdr := map[string]string{"Authorization": "Bearer " + tok, "X-Request-ID": rid}
	res := e.get(PDSBasePath+"/Patient/9000000009", hdr)
	if res.status != 200 || res.header.Get("Content-Type") != "application/fhir+json" ||
		res.header.Get("ETag") != `W/"2"` || res.header.Get("X-Request-ID") != rid {
		t.Fatalf("%d %v %s", res.status, res.header, res.body)
	}
	var p struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Meta         struct {
			VersionID string `json:"versionId"`
			Security  []struct {
				Code string `json:"code"`
			} `json:"security"`
		} `json:"meta"`
		Name []struct {
			Given  []string `json:"given"`
			Family string   `json:"family"`
		} `json:"name"`
		Gender              string            `json:"gender"`
		BirthDate           string            `json:"birthDate"`
		Address             []json.RawMessage `json:"address"`
		Telecom             []json.RawMessage `json:"telecom"`
		GeneralPractitioner []struct {
			Identifier struct {
				Value string `json:"value"`
			} `json:"identifier"`
		} `json:"generalPractitioner"`
	}
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.ResourceType != "Patient" || p.ID != "9000000009" || p.Name[0].Family != "Smith" || p.Name[0].Given[0] != "Jane" ||
		p.Gender != "female" || p.BirthDate != "2010-10-22" || p.GeneralPractitioner[0].Identifier.Value != "Y12345" ||
		!strings.Contains(string(p.Address[0]), "1 Trevelyan Square") || !strings.Contains(string(p.Address[0]), "LS1 6AE") {
		t.Errorf("9000000009 = %s", res.body)
	}

	res = e.get(PDSBasePath+"/Patient/9000000025", hdr)
	p.Address, p.Telecom, p.GeneralPractitioner = nil, nil, nil
	if err := json.Unmarshal(res.body, &p); err != nil || res.status != 200 {
		t.Fatal(res.status, err)
	}
	if p.Meta.Security[0].Code != "R" || p.Address != nil || p.Telecom != nil || p.GeneralPractitioner != nil {
		t.Errorf("restricted patient = %s", res.body)
	}
	if res := e.get(PDSBasePath+"/Patient/9000000033", hdr); res.status != 200 {
		t.Errorf("9000000033: %d", res.status)
	}
}

func TestEmbeddedPatients(t *testing.T) {
	p, err := loadPatients()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.byID) < 23 {
		t.Errorf("%d patients, want at least 23", len(p.byID))
	}
	for _, id := range []string{"9000000009", "9000000025", "9000000033"} {
		if _, ok := p.byID[id]; !ok {
			t.Errorf("missing %s", id)
		}
	}
	if !p.invalidated["9990003343"] {
		t.Error("9990003343 not invalidated")
	}
}

func TestValidNHSNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"9000000009": true, "9000000025": true, "9000000033": true, "9990003343": true, "9733162825": true,
		"9000000000": false, "900000000": false, "90000000090": false, "900000000a": false, "": false,
		"9000000050": false, // check digit would be 10
		"9000000051": false, "9000000017": true,
	} {
		if got := validNHSNumber(s); got != want {
			t.Errorf("validNHSNumber(%q) = %v", s, got)
		}
	}
}

func TestPDSSearch(t *testing.T) {
	e := newTestEnv(t, nil)
	hdr := map[string]string{"Authorization": "Bearer " + e.token(), "X-Request-ID": uuid.NewString()}
	for _, c := range []struct {
		q    string
		want string
	}{
		{"family=Smith&given=Jane&birthdate=2010-10-22", "9000000009"},
		{"family=smith&given=jane&birthdate=eq2010-10-22&_max-results=1", "9000000009"},
		{"family=Mockford&given=Charlie", "9000000076"},
		{"family=Nobody&birthdate=2010-10-22", ""},
	} {
		res := e.get(PDSBasePath+"/Patient?"+c.q, hdr)
		var b struct {
			ResourceType string `json:"resourceType"`
			Type         string `json:"type"`
			Total        int    `json:"total"`
			Entry        []struct {
				FullURL  string `json:"fullUrl"`
				Resource struct {
					ID string `json:"id"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(res.body, &b); err != nil || res.status != 200 {
			t.Fatalf("%s: %d %s", c.q, res.status, res.body)
		}
		if b.ResourceType != "Bundle" || b.Type != "searchset" {
			t.Errorf("%s: %s", c.q, res.body)
		}
		if c.want == "" {
			if b.Total != 0 || len(b.Entry) != 0 {
				t.Errorf("%s: %s", c.q, res.body)
			}
			continue
		}
		if b.Total != 1 || len(b.Entry) != 1 || b.Entry[0].Resource.ID != c.want ||
			b.Entry[0].FullURL != e.ts.URL+PDSBasePath+"/Patient/"+c.want {
			t.Errorf("%s: %s", c.q, res.body)
		}
	}
}

func TestSandboxPDS(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.Sandbox = true })
	res := e.get(PDSSandboxBasePath+"/Patient/9000000009", map[string]string{"X-Request-ID": uuid.NewString()})
	if res.status != 200 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	assertOutcome(t, e.get(PDSSandboxBasePath+"/Patient/9000000009", nil), 400,
		outcome("error", "required", "MISSING_VALUE", "Required value is missing",
			"Invalid request with error - X-Request-ID header must be supplied to access this resource"))
	off := newTestEnv(t, nil)
	if r := off.get(PDSSandboxBasePath+"/Patient/9000000009", map[string]string{"X-Request-ID": uuid.NewString()}); r.status != 404 {
		t.Errorf("sandbox served without Config.Sandbox: %d", r.status)
	}
}

func TestHelloWorld(t *testing.T) {
	e := newTestEnv(t, nil)
	assertOutcome(t, e.get(HelloWorldPath, nil), 401, denied("Missing Authorization header"))
	res := e.get(HelloWorldPath, map[string]string{"Authorization": "Bearer " + e.token()})
	var m map[string]string
	if err := json.Unmarshal(res.body, &m); err != nil || res.status != 200 || len(m) != 1 || m["message"] != "Hello Application!" {
		t.Errorf("%d %s", res.status, res.body)
	}
}

func TestPDSRateLimitWindow(t *testing.T) {
	e := newTestEnv(t, func(c *Config) { c.PDSRateLimit = 3 })
	hdr := map[string]string{"Authorization": "Bearer " + e.token(), "X-Request-ID": uuid.NewString()}
	codes := []string{}
	for i := 0; i < 4; i++ {
		codes = append(codes, strconv.Itoa(e.get(PDSBasePath+"/Patient/9000000009", hdr).status))
	}
	e.clock.Advance(time.Second)
	codes = append(codes, strconv.Itoa(e.get(PDSBasePath+"/Patient/9000000009", hdr).status))
	if got := strings.Join(codes, ","); got != "200,200,200,429,200" {
		t.Errorf("statuses %s", got)
	}
}
