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
//	                                           answered them (RuleName; "ok"
//	                                           for a token issued)
//	pkjwt_emulator_pds_requests_total{code}    PDS API requests by HTTP status
//	pkjwt_emulator_faults_total{kind}          injected faults that hit a request
//
// No metric holds a token, an assertion or a client id.
const MetricsPath = "/metrics"

// ruleNames are the stable short names of the token endpoint's rows, the
// values of the rule label. Every row of tokenRules has one
// (TestRuleNames).
var ruleNames = map[RuleID]string{
	RuleMethodNotAllowed:       "method_not_allowed",
	RuleContentType:            "content_type",
	RuleMissingGrantType:       "missing_grant_type",
	RuleUnsupportedGrantType:   "unsupported_grant_type",
	RuleClientAssertionType:    "client_assertion_type",
	RuleMissingClientAssertion: "missing_client_assertion",
	RuleMalformedJWT:           "malformed_jwt",
	RuleInvalidAlg:             "invalid_alg",
	RuleExpired:                "expired",
	RuleMissingKid:             "missing_kid",
	RuleInvalidTyp:             "invalid_typ",
	RuleMissingExp:             "missing_exp",
	RuleExpNotNumber:           "exp_not_number",
	RuleIssSub:                 "iss_sub",
	RuleMissingJTI:             "missing_jti",
	RuleJTINotString:           "jti_not_string",
	RuleJTIReused:              "jti_reused",
	RuleExpTooFar:              "exp_too_far",
	RuleUnknownAPIKey:          "unknown_api_key",
	RuleRateLimited:            "rate_limited",
	RuleNoJWKSURL:              "no_jwks_url",
	RuleJWKSUnreachable:        "jwks_unreachable",
	RuleNoMatchingKid:          "no_matching_kid",
	RuleBadSignature:           "bad_signature",
	RuleBadAudience:            "bad_audience",
	RuleNoLevel3Scope:          "no_level3_scope",
	RuleUnknownError:           "unknown_error",
	RuleNotFound:               "not_found",
	RuleAppRevoked:             "app_revoked",
	RuleStoreFull:              "store_full",
	RuleBodyTooLarge:           "body_too_large",
}

// Rule label values that are not rows.
const (
	ruleNameOK      = "ok"      // a token was issued
	ruleNameDropped = "dropped" // FaultDrop: no answer
)

// RuleName returns the row's stable short name ("jti_reused",
// "bad_signature"), the rule label of the emulator's token metrics, or ""
// for an unknown id.
func RuleName(id RuleID) string { return ruleNames[id] }

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
			name = RuleName(info.rule)
		case status == http.StatusMethodNotAllowed:
			name = RuleName(RuleMethodNotAllowed)
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
func setRequestRule(r *http.Request, id RuleID) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.rule = id
	}
}
