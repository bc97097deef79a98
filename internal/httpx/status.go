package httpx

import "net/http"

// StatusRecorder is the one response-writer wrapper of pkjwt's servers: it
// remembers the status a handler sent, for the request log. Unwrap lets
// http.ResponseController reach the writer beneath.
type StatusRecorder struct {
	http.ResponseWriter
	// Status is the status written, or 0 if nothing has been written yet.
	Status int
}

// WriteHeader records the first status and passes it on.
func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and passes b on.
func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// StatusOr returns the recorded status, or 200 when the handler wrote
// nothing (net/http then sends 200).
func (s *StatusRecorder) StatusOr() int {
	if s.Status == 0 {
		return http.StatusOK
	}
	return s.Status
}
