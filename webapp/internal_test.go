package webapp

import (
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	p, issues := summarize([]byte(`{"resourceType":"Patient","id":"9000000025","meta":{"security":[{"code":"R"}]},
		"name":[{"use":"nickname","given":["X"]},{"use":"usual","given":["Janet","A"],"family":"Smythe"}],
		"gender":"female","birthDate":"2005-11-12"}`))
	if issues != nil || p == nil {
		t.Fatalf("got %v %v", p, issues)
	}
	want := patientView{Name: "Janet A Smythe", NHSNumber: "9000000025", BirthDate: "2005-11-12", Gender: "female", Restricted: true}
	if *p != want {
		t.Errorf("got %+v\nwant %+v", *p, want)
	}
	p, issues = summarize([]byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"value",
		"details":{"coding":[{"code":"INVALID_RESOURCE_ID","display":"Resource Id is invalid"}]}}]}`))
	if p != nil || len(issues) != 1 || issues[0] != (issueView{Severity: "error", Code: "value", DetailCode: "INVALID_RESOURCE_ID", Display: "Resource Id is invalid"}) {
		t.Errorf("got %v %+v", p, issues)
	}
	for _, body := range []string{``, `not json`, `[]`, `{"resourceType":"Bundle"}`} {
		if p, is := summarize([]byte(body)); p != nil || is != nil {
			t.Errorf("%q: got %v %v", body, p, is)
		}
	}
}

func TestRedact(t *testing.T) {
	if got := redact(`{"echo":"tok123"}`, "tok123"); strings.Contains(got, "tok123") {
		t.Errorf("redact left the token: %s", got)
	}
	if got := redact("abc", ""); got != "abc" {
		t.Errorf("redact with no secret changed the text: %s", got)
	}
	if got := pretty([]byte("\xff{")); !strings.Contains(got, "\uFFFD") {
		t.Errorf("pretty of invalid UTF-8: %q", got)
	}
}

// TestWriteTimeoutCoversACall: the server's write timeout leaves room for
// the longest System to System Call.
func TestWriteTimeoutCoversACall(t *testing.T) {
	if wt := NewServer(nil).WriteTimeout; wt <= DefaultCallTimeout {
		t.Fatalf("WriteTimeout %s must exceed DefaultCallTimeout %s", wt, DefaultCallTimeout)
	}
}
