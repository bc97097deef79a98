package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestPipelineUsesRealCommands reads the pipeline users copy
// (deploy/github-actions/rotate-keys.yml) and checks that it is valid
// YAML and that every pkjwt command and flag it runs exists: a renamed flag
// must not break someone's hourly rotation silently.
func TestPipelineUsesRealCommands(t *testing.T) {
	data, err := os.ReadFile("../../deploy/github-actions/rotate-keys.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On   map[string]any `yaml:"on"`
		Jobs map[string]struct {
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("not valid YAML: %v", err)
	}
	if _, ok := wf.On["schedule"]; !ok {
		t.Fatal("the pipeline has no schedule")
	}
	invocation := regexp.MustCompile(`pkjwt ((?:[a-z]+ )*[a-z]+)((?: +--?[a-z-]+(?:[ =](?:"[^"]*"|[^ -][^ ]*))?)*)`)
	flagRE := regexp.MustCompile(`--?([a-z-]+)`)
	seen := map[string]bool{}
	for _, job := range wf.Jobs {
		for _, step := range job.Steps {
			for _, line := range strings.Split(step.Run, "\n") {
				for _, m := range invocation.FindAllStringSubmatch(line, -1) {
					cmd := strings.Fields(m[1])
					if cmd[0] == "keys" && len(cmd) > 2 || cmd[0] == "jwks" && len(cmd) > 2 {
						cmd = cmd[:2]
					}
					help := runCLI(t, nil, append(cmd, "--help")...)
					if help.Code != 0 || !strings.HasPrefix(help.Stdout, "Usage: pkjwt "+strings.Join(cmd, " ")+" ") {
						t.Errorf("pipeline runs 'pkjwt %s', which does not exist: %v", strings.Join(cmd, " "), help)
						continue
					}
					seen[strings.Join(cmd, " ")] = true
					unquoted := regexp.MustCompile(`"[^"]*"`).ReplaceAllString(m[2], "V")
					for _, f := range flagRE.FindAllStringSubmatch(unquoted, -1) {
						if !strings.Contains(help.Stdout, "-"+f[1]+" ") && !strings.Contains(help.Stdout, "-"+f[1]+"\n") {
							t.Errorf("pipeline gives 'pkjwt %s' the flag --%s, which it does not have", strings.Join(cmd, " "), f[1])
						}
					}
				}
			}
		}
	}
	for _, want := range []string{"keys rotate", "jwks publish", "keys list", "check"} {
		if !seen[want] {
			t.Errorf("the pipeline does not run 'pkjwt %s'", want)
		}
	}
}
