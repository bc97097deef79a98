package emulator

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath is where the emulator serves its Prometheus metrics:
//
//	pkjwt_emulator_token_requests_total{rule}  token requests by the row that
//	                                           answered them (the row's short
//	                                           name, listed in docs/emulator.md;
//	                                           "ok" for a token issued)
//	pkjwt_emulator_pds_requests_total{code}    PDS API requests by HTTP status
//	pkjwt_emulator_faults_total{kind}          injected faults that hit a request
//
// No metric holds a token, an assertion or a client id.
const MetricsPath = "/metrics"

// ruleNames are the stable short names of the token endpoint's rows, the
// values of the rule label. Every row of tokenRules has one
// (TestRuleNames).
var ruleNames = map[ruleID]string{
	ruleMethodNotAllowed:       "method_not_allowed",
	ruleContentType:            "content_type",
	ruleMissingGrantType:       "missing_grant_type",
	ruleUnsupportedGrantType:   "unsupported_grant_type",
	ruleClientAssertionType:    "client_assertion_type",
	ruleMissingClientAssertion: "missing_client_assertion",
	ruleMalformedJWT:           "malformed_jwt",
	ruleInvalidAlg:             "invalid_alg",
	ruleExpired:                "expired",
	ruleMissingKid:             "missing_kid",
	ruleInvalidTyp:             "invalid_typ",
	ruleMissingExp:             "missing_exp",
	ruleExpNotNumber:           "exp_not_number",
	ruleIssSub:                 "iss_sub",
	ruleMissingJTI:             "missing_jti",
	ruleJTINotString:           "jti_not_string",
	ruleJTIReused:              "jti_reused",
	ruleExpTooFar:              "exp_too_far",
	ruleUnknownAPIKey:          "unknown_api_key",
	ruleRateLimited:            "rate_limited",
	ruleNoJWKSURL:              "no_jwks_url",
	ruleJWKSUnreachable:        "jwks_unreachable",
	ruleNoMatchingKid:          "no_matching_kid",
	ruleBadSignature:           "bad_signature",
	ruleBadAudience:            "bad_audience",
	ruleNoLevel3Scope:          "no_level3_scope",
	ruleUnknownError:           "unknown_error",
	ruleNotFound:               "not_found",
	ruleAppRevoked:             "app_revoked",
	ruleStoreFull:              "store_full",
	ruleBodyTooLarge:           "body_too_large",
}

// Rule label values that are not rows.
const (
	ruleNameOK      = "ok"      // a token was issued
	ruleNameDropped = "dropped" // FaultDrop: no answer
)

// ruleName returns the row's stable short name ("jti_reused",
// "bad_signature"), the rule label of the emulator's token metrics, or ""
// for an unknown id.
func ruleName(id ruleID) string { return ruleNames[id] }

// metrics is a Server's Prometheus registry (its own: nothing global).
type metrics struct {
	handler       http.Handler
	tokenRequests *prometheus.CounterVec
	pdsRequests   *prometheus.CounterVec
	faults        *prometheus.CounterVec
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pkjwt_emulator_token_requests_total",
			Help: "Token endpoint requests by the NHS error-table row that answered them (ok: a token was issued; dropped: no answer)."}, []string{"rule"}),
		pdsRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pkjwt_emulator_pds_requests_total",
			Help: "PDS API requests by HTTP status (0: the connection was dropped)."}, []string{"code"}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pkjwt_emulator_faults_total",
			Help: "Injected faults that hit a request, by kind."}, []string{"kind"}),
	}
	m.tokenRequests.WithLabelValues(ruleNameOK)
	reg.MustRegister(m.tokenRequests, m.pdsRequests, m.faults)
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

// observe counts a served request.
func (m *metrics) observe(path string, status int, info *requestInfo) {
	switch {
	case path == TokenPath:
		name := ruleNameOK
		switch {
		case info.dropped:
			name = ruleNameDropped
		case info.rule != 0:
			name = ruleName(info.rule)
		case status == http.StatusMethodNotAllowed:
			name = ruleName(ruleMethodNotAllowed)
		case status != http.StatusOK:
			name = "other"
		}
		m.tokenRequests.WithLabelValues(name).Inc()
	case underBase(path, PDSBasePath) || underBase(path, PDSSandboxBasePath):
		m.pdsRequests.WithLabelValues(strconv.Itoa(status)).Inc()
	}
	if info.faults != "" {
		for _, k := range strings.Split(info.faults, ",") {
			m.faults.WithLabelValues(k).Inc()
		}
	}
}

// setRequestRule records the row that answered a token request.
func setRequestRule(r *http.Request, id ruleID) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.rule = id
	}
}
