package emulator

// RuleLabels returns the rule label of every row of the token endpoint's
// error table, keyed by row ID, for the external tests.
func RuleLabels() map[int]string {
	out := make(map[int]string, len(tokenRules))
	for _, r := range tokenRules {
		out[int(r.ID)] = ruleName(r.ID)
	}
	return out
}
