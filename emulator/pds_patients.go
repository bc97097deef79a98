// The synthetic PDS data set: the embedded patients, their index, and
// the NHS number check.

package emulator

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed patients/patients.json
var patientsJSON []byte

// patientIndex is the embedded synthetic data set. It is never modified
// after loadPatients.
type patientIndex struct {
	byID        map[string]json.RawMessage
	order       []string
	search      map[string]patientSearchFields
	invalidated map[string]bool
	versions    map[string]string
}

type patientSearchFields struct {
	family    string
	given     []string
	birthDate string
	gender    string
}

// loadPatients parses the embedded data set.
func loadPatients() (*patientIndex, error) {
	var doc struct {
		Patients    []json.RawMessage `json:"patients"`
		Invalidated []string          `json:"invalidated"`
	}
	if err := json.Unmarshal(patientsJSON, &doc); err != nil {
		return nil, fmt.Errorf("emulator: embedded patients: %w", err)
	}
	p := &patientIndex{
		byID: map[string]json.RawMessage{}, search: map[string]patientSearchFields{},
		invalidated: map[string]bool{}, versions: map[string]string{},
	}
	for _, raw := range doc.Patients {
		var pt struct {
			ID   string `json:"id"`
			Meta struct {
				VersionID string `json:"versionId"`
			} `json:"meta"`
			Name []struct {
				Family string   `json:"family"`
				Given  []string `json:"given"`
			} `json:"name"`
			BirthDate string `json:"birthDate"`
			Gender    string `json:"gender"`
		}
		if err := json.Unmarshal(raw, &pt); err != nil {
			return nil, fmt.Errorf("emulator: embedded patient: %w", err)
		}
		if !validNHSNumber(pt.ID) {
			return nil, fmt.Errorf("emulator: embedded patient %s: invalid NHS number", pt.ID)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return nil, fmt.Errorf("emulator: embedded patient %s: %w", pt.ID, err)
		}
		p.byID[pt.ID] = compact.Bytes()
		p.order = append(p.order, pt.ID)
		p.versions[pt.ID] = pt.Meta.VersionID
		f := patientSearchFields{birthDate: pt.BirthDate, gender: pt.Gender}
		if len(pt.Name) > 0 {
			f.family = pt.Name[0].Family
			f.given = pt.Name[0].Given
		}
		p.search[pt.ID] = f
	}
	for _, id := range doc.Invalidated {
		if !validNHSNumber(id) {
			return nil, fmt.Errorf("emulator: embedded invalidated %s: invalid NHS number", id)
		}
		p.invalidated[id] = true
	}
	return p, nil
}

// validNHSNumber applies the NHS number check digit (modulus 11): weights
// 10..2 on digits 1–9, check = 11 − (sum mod 11), 11 → 0, 10 → invalid.
func validNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 9 {
			sum += int(s[i]-'0') * (10 - i)
		}
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(s[9]-'0')
}
