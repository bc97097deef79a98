// The API response body on the call page: pretty-printed, summarized as a
// FHIR Patient or OperationOutcome, and with the access token redacted.

package webapp

import (
	"bytes"
	"encoding/json"
	"strings"
)

// redact removes every secret from s.
func redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		if secret != "" && strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, "[access token removed]")
		}
	}
	return s
}

func redactPatient(p *patientView, secrets ...string) {
	for _, f := range []*string{&p.Name, &p.NHSNumber, &p.BirthDate, &p.Gender, &p.GPODSCode, &p.Address, &p.Deceased} {
		*f = redact(*f, secrets...)
	}
}

func redactIssue(is *issueView, secrets ...string) {
	for _, f := range []*string{&is.Severity, &is.Code, &is.DetailCode, &is.Display, &is.Diagnostics} {
		*f = redact(*f, secrets...)
	}
}

// pretty indents a JSON body, or returns the body as text if it is not JSON.
func pretty(body []byte) string {
	var b bytes.Buffer
	if json.Valid(body) && json.Indent(&b, body, "", "  ") == nil {
		return b.String()
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}

// fhirResource is the subset of FHIR Patient and OperationOutcome the page
// summarizes.
type fhirResource struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Security []struct {
			Code string `json:"code"`
		} `json:"security"`
	} `json:"meta"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
	Name []struct {
		Use    string   `json:"use"`
		Text   string   `json:"text"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Prefix []string `json:"prefix"`
		Suffix []string `json:"suffix"`
	} `json:"name"`
	Gender              string `json:"gender"`
	BirthDate           string `json:"birthDate"`
	DeceasedDateTime    string `json:"deceasedDateTime"`
	GeneralPractitioner []struct {
		Identifier struct {
			Value string `json:"value"`
		} `json:"identifier"`
	} `json:"generalPractitioner"`
	Address []struct {
		Use        string   `json:"use"`
		Text       string   `json:"text"`
		Line       []string `json:"line"`
		PostalCode string   `json:"postalCode"`
	} `json:"address"`
	Issue []struct {
		Severity string `json:"severity"`
		Code     string `json:"code"`
		Details  struct {
			Coding []struct {
				Code    string `json:"code"`
				Display string `json:"display"`
			} `json:"coding"`
		} `json:"details"`
		Diagnostics string `json:"diagnostics"`
	} `json:"issue"`
}

// nhsNumberSystem is the FHIR identifier system of NHS numbers.
const nhsNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"

// summarize reads a FHIR Patient or OperationOutcome; anything else gives
// neither.
func summarize(body []byte) (*patientView, []issueView) {
	var res fhirResource
	if json.Unmarshal(body, &res) != nil {
		return nil, nil
	}
	switch res.ResourceType {
	case "Patient":
		p := &patientView{NHSNumber: res.ID, Gender: res.Gender, BirthDate: res.BirthDate, Deceased: res.DeceasedDateTime}
		for _, id := range res.Identifier {
			if id.System == nhsNumberSystem && id.Value != "" {
				p.NHSNumber = id.Value
				break
			}
		}
		for _, s := range res.Meta.Security {
			if s.Code == "R" {
				p.Restricted = true
			}
		}
		if len(res.Name) > 0 {
			n := res.Name[0]
			for _, c := range res.Name {
				if c.Use == "usual" {
					n = c
					break
				}
			}
			if n.Text != "" {
				p.Name = n.Text
			} else {
				parts := append(append(append([]string{}, n.Prefix...), n.Given...), n.Family)
				parts = append(parts, n.Suffix...)
				p.Name = strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
			}
		}
		if len(res.GeneralPractitioner) > 0 {
			p.GPODSCode = res.GeneralPractitioner[0].Identifier.Value
		}
		if len(res.Address) > 0 {
			ad := res.Address[0]
			for _, c := range res.Address {
				if c.Use == "home" {
					ad = c
					break
				}
			}
			if ad.Text != "" {
				p.Address = ad.Text
			} else {
				lines := append(append([]string{}, ad.Line...), ad.PostalCode)
				var kept []string
				for _, l := range lines {
					if strings.TrimSpace(l) != "" {
						kept = append(kept, l)
					}
				}
				p.Address = strings.Join(kept, ", ")
			}
		}
		return p, nil
	case "OperationOutcome":
		var out []issueView
		for _, is := range res.Issue {
			iv := issueView{Severity: is.Severity, Code: is.Code, Diagnostics: is.Diagnostics}
			if len(is.Details.Coding) > 0 {
				iv.DetailCode = is.Details.Coding[0].Code
				iv.Display = is.Details.Coding[0].Display
			}
			out = append(out, iv)
		}
		return nil, out
	}
	return nil, nil
}
