// PDS errors: FHIR OperationOutcome and the rows of docs/nhs-reference.md,
// "PDS errors".

package emulator

import "net/http"

// spineSystem is the code system of every PDS error coding.
const spineSystem = "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode"

// operationOutcome is a FHIR OperationOutcome as PDS returns it.
type operationOutcome struct {
	ResourceType string                  `json:"resourceType"`
	Issue        []operationOutcomeIssue `json:"issue"`
}

// operationOutcomeIssue is one issue of an OperationOutcome.
type operationOutcomeIssue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *codeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
}

// codeableConcept is a FHIR CodeableConcept.
type codeableConcept struct {
	Coding []coding `json:"coding"`
}

// coding is a FHIR Coding.
type coding struct {
	System  string `json:"system"`
	Version string `json:"version,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// pdsError is one row of docs/nhs-reference.md, "PDS errors".
type pdsError struct {
	status      int
	severity    string
	issueCode   string
	code        string
	display     string
	diagnostics string
	// logDiagnostics, if set, replaces diagnostics in the log line: the
	// response text may echo request input (such as an Authorization
	// header) that Config.Logger must never see.
	logDiagnostics string
}

func (e pdsError) outcome() operationOutcome {
	return operationOutcome{ResourceType: "OperationOutcome", Issue: []operationOutcomeIssue{{
		Severity: e.severity, Code: e.issueCode,
		Details: &codeableConcept{Coding: []coding{{
			System: spineSystem, Version: "1", Code: e.code, Display: e.display,
		}}},
		Diagnostics: e.diagnostics,
	}}}
}

// The rows of docs/nhs-reference.md, "PDS errors", strings copied character for character.
func errAccessDenied(diag string) pdsError {
	return pdsError{http.StatusUnauthorized, "error", "forbidden", "ACCESS_DENIED", "Access Denied - Unauthorised", diag, ""}
}

var (
	errInvalidResourceID = pdsError{http.StatusBadRequest, "error", "value", "INVALID_RESOURCE_ID", "Resource Id is invalid", "", ""}
	errResourceNotFound  = pdsError{http.StatusNotFound, "information", "not-found", "RESOURCE_NOT_FOUND", "Resource not found", "", ""}
	errInvalidated       = pdsError{http.StatusNotFound, "error", "processing", "INVALIDATED_RESOURCE",
		"Resource that has been marked as invalid was requested - invalid resources cannot be retrieved", "", ""}
	errMissingRequestID = pdsError{http.StatusBadRequest, "error", "required", "MISSING_VALUE", "Required value is missing",
		"Invalid request with error - X-Request-ID header must be supplied to access this resource", ""}
	errAppRestrictedMethod = pdsError{http.StatusForbidden, "error", "forbidden", "INVALID_METHOD",
		"Cannot update resource with application-restricted access token",
		"Your app has insufficient permissions to use this method. Please contact support.", ""}
	errMaxResults = pdsError{http.StatusForbidden, "error", "token", "INVALID_VALUE",
		"Cannot retrieve more than one result with application-restricted access token",
		"Your app has insufficient permissions to perform this search. Please contact support.", ""}
	// errMissingNHSNumber: NHS's public sources give only the status and code; the
	// issue code and display are the emulator's [I].
	errMissingNHSNumber = pdsError{http.StatusBadRequest, "error", "not-supported", "UNSUPPORTED_SERVICE", "Unsupported Service", "", ""}
	// errInvalidSearch: not in NHS's public sources; the emulator's answer to a
	// search with none of family, given, birthdate [I].
	errInvalidSearch = pdsError{http.StatusBadRequest, "error", "value", "INVALID_SEARCH_DATA", "Search data is invalid",
		"Invalid search data provided - 'family', 'given' or 'birthdate' must be supplied", ""}
	// errNoPDSScope: a valid token whose app lacks PDSScope. Apigee answers
	// with its "no apiproduct match" fault; the emulator keeps the 401
	// ACCESS_DENIED shape of the other token errors [I].
	errNoPDSScope = errAccessDenied("Invalid API call as no apiproduct match found")
)

func errInvalidRequestID(v string) pdsError {
	return pdsError{http.StatusBadRequest, "error", "value", "INVALID_VALUE", "Provided value is invalid",
		"Invalid value - '" + echoed(v) + "' in header 'X-Request-ID'", ""}
}

func errUnsupported(suffix string) pdsError {
	return pdsError{http.StatusBadRequest, "error", "value", "UNSUPPORTED_REQUEST", "The request is not one that is supported.",
		"Unsupported path - '" + suffix + "'", ""}
}

func errRateLimited(msg string) pdsError {
	return pdsError{http.StatusTooManyRequests, "error", "value", "TOO_MANY_REQUESTS", "Too many requests", msg, ""}
}

// writePDSError writes an OperationOutcome.
func (s *Server) writePDSError(w http.ResponseWriter, r *http.Request, e pdsError) {
	desc := e.code
	if e.logDiagnostics != "" {
		desc += ": " + e.logDiagnostics
	} else if e.diagnostics != "" {
		desc += ": " + e.diagnostics
	}
	setRequestFailure(r, desc)
	writeJSON(w, e.status, "application/fhir+json", e.outcome())
}
