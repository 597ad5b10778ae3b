package defaultrules

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/RULES.md from the default rules")

const rulesDoc = "../../docs/RULES.md"

// techniqueNames names the MITRE ATT&CK techniques the rules are tagged
// with; TestRuleHygiene fails on a tag missing here.
var techniqueNames = map[string]string{
	"T1036":     "Masquerading",
	"T1040":     "Network Sniffing",
	"T1053.007": "Scheduled Task/Job: Container Orchestration Job",
	"T1069":     "Permission Groups Discovery",
	"T1070":     "Indicator Removal",
	"T1078":     "Valid Accounts",
	"T1078.001": "Valid Accounts: Default Accounts",
	"T1090":     "Proxy",
	"T1098":     "Account Manipulation",
	"T1098.006": "Account Manipulation: Additional Container Cluster Roles",
	"T1133":     "External Remote Services",
	"T1136":     "Create Account",
	"T1204.003": "User Execution: Malicious Image",
	"T1484":     "Domain or Tenant Policy Modification",
	"T1485":     "Data Destruction",
	"T1496":     "Resource Hijacking",
	"T1499":     "Endpoint Denial of Service",
	"T1525":     "Implant Internal Image",
	"T1528":     "Steal Application Access Token",
	"T1550.001": "Use Alternate Authentication Material: Application Access Token",
	"T1552.001": "Unsecured Credentials: Credentials In Files",
	"T1552.007": "Unsecured Credentials: Container API",
	"T1557":     "Adversary-in-the-Middle",
	"T1562.001": "Impair Defenses: Disable or Modify Tools",
	"T1562.007": "Impair Defenses: Disable or Modify Cloud Firewall",
	"T1572":     "Protocol Tunneling",
	"T1599":     "Network Boundary Bridging",
	"T1609":     "Container Administration Command",
	"T1610":     "Deploy Container",
	"T1611":     "Escape to Host",
	"T1613":     "Container and Resource Discovery",
	"T1649":     "Steal or Forge Authentication Certificates",
}

var tacticNames = map[string]string{
	"mitre_initial_access":       "Initial Access",
	"mitre_execution":            "Execution",
	"mitre_persistence":          "Persistence",
	"mitre_privilege_escalation": "Privilege Escalation",
	"mitre_defense_evasion":      "Defense Evasion",
	"mitre_credential_access":    "Credential Access",
	"mitre_discovery":            "Discovery",
	"mitre_lateral_movement":     "Lateral Movement",
	"mitre_collection":           "Collection",
	"mitre_command_and_control":  "Command and Control",
	"mitre_impact":               "Impact",
}

// TestRulesDoc fails when docs/RULES.md no longer matches the rules.
// Regenerate it with: go test ./rules/default -run TestRulesDoc -update
func TestRulesDoc(t *testing.T) {
	want := renderRulesDoc(t)
	if *update {
		if err := os.WriteFile(rulesDoc, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(rulesDoc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with rules/default (%v); regenerate it with:\n\tgo test ./rules/default -run TestRulesDoc -update", rulesDoc, err)
	}
}

func renderRulesDoc(t *testing.T) []byte {
	col := loadDefaults(t)
	infos := analyze(t, col)
	beyond := beyondUpstream(infos)
	isBeyond := map[string]bool{}
	for _, b := range beyond {
		isBeyond[b] = true
	}
	enabled, levels := 0, map[auditLevel]int{}
	for _, ri := range infos {
		if ri.Rule.Enabled {
			enabled++
			levels[ri.Level]++
		}
	}

	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`# Default rules

<!-- Generated from rules/default/*.yaml by: go test ./rules/default -run TestRulesDoc -update
     Do not edit by hand. -->

Peregrine ships %d rules of its own in the Falco rules language (%d on by default, %d
opt-in), embedded in the binary and used whenever neither `+"`-r`"+` nor `+"`rules_files`"+` names
rules. They cover every detection of upstream's k8saudit ruleset (see
[Coverage of the upstream rules](#coverage-of-the-upstream-rules)) and add %d that it does not
have (marked ★). Each rule's tests, one case where it fires and one where it must not at
least, are in `+"`rules/default/tests/`"+`; `+"`peregrine test rules/default/tests`"+` runs them.

**Tuning.** Every name the rules use starts with `+"`pg_`"+`. Load a file of your own after the
default rules, one that appends to a list, replaces a macro, adds exception values to a rule
or enables an opt-in rule. `+"`-r`"+` replaces the embedded set, so name both, the same files
from the source tree first: `+"`-r rules/default -r my-rules.yaml`"+` (or `+"`rules_files`"+` in that
order); a test file says `+"`rules: [<default>, my-rules.yaml]`"+`.

`+"```yaml"+`
- list: pg_cluster_secret_readers          # more identities that may list every secret
  items: [system:serviceaccount:vault:vault]
  override: {items: append}

- rule: Privileged container in a pod      # a privileged agent in one namespace
  exceptions:
    - name: namespace_and_images
      values: [[monitoring, [registry.example.com/agent]]]
  override: {exceptions: append}

- rule: Pod image outside the trusted repositories   # an opt-in rule
  enabled: true
  override: {enabled: replace}
`+"```"+`

**Order.** With `+"`rule_matching: first`"+` (Falco's default) an event raises at most one
alert, from the first rule that matches; the rules are ordered so that the more specific and
severe rule wins (stolen credentials first, the informational change log last). With
`+"`rule_matching: all`"+` every matching rule alerts.

**Outputs** name who (user, groups), what (verb, resource, object), from where (source
IPs, user agent) and the detail that matched. They never print a secret's or configmap's
content: the credential rules say which kind of credential they saw, not its value.

## Audit levels

A rule fires only if the API server's audit policy records the events it needs at a high
enough level: **Metadata** (who, verb, object, response code), **Request** (plus the request
body) or **RequestResponse** (plus the response body). The level below is worked out from
the fields each condition reads; an output field that needs more prints `+"`<NA>`"+` below its
level. Of the %d rules on by default, %d need Metadata, %d need Request and %d need
RequestResponse. [deploy/audit-policy.yaml](../deploy/audit-policy.yaml) feeds all of
them at the least volume: request bodies only for the resources whose rules read them,
never for secrets.

## Rules

| # | Rule | Priority | On | Audit level | MITRE ATT&CK |
|---|------|----------|----|-------------|--------------|
`, len(infos), enabled, len(infos)-enabled, len(beyond), enabled, levels[levelMetadata], levels[levelRequest], levels[levelRequestResponse])
	for i, ri := range infos {
		star := ""
		if isBeyond[ri.Rule.Name] {
			star = " ★"
		}
		on := "yes"
		if !ri.Rule.Enabled {
			on = "opt-in"
		}
		p("| %d | [%s](#%s)%s | %s | %s | %s | %s |\n", i+1, ri.Rule.Name, anchor(ri.Rule.Name), star,
			ri.Rule.Priority, on, ri.Level, strings.Join(ri.Techniques, ", "))
	}

	file := ""
	for _, ri := range infos {
		r := ri.Rule
		if ri.File != file {
			file = ri.File
			p("\n## %s\n", file)
		}
		star := ""
		if isBeyond[r.Name] {
			star = " ★"
		}
		p("\n### %s\n\n%s%s\n\n", r.Name, strings.TrimSpace(r.Desc), star)
		state := "on by default"
		if !r.Enabled {
			state = "**opt-in** (`enabled: false`)"
		}
		p("- **Priority** %s, %s; **audit level** %s", r.Priority, state, ri.Level)
		if ri.OutLevel > ri.Level {
			p(" (%s for every output field)", ri.OutLevel)
		}
		p("\n")
		if len(ri.Tactics) > 0 || len(ri.Techniques) > 0 {
			var tac, tech []string
			for _, x := range ri.Tactics {
				tac = append(tac, tacticNames[x])
			}
			for _, x := range ri.Techniques {
				tech = append(tech, fmt.Sprintf("%s %s", x, techniqueNames[x]))
			}
			p("- **MITRE ATT&CK** %s: %s\n", strings.Join(tac, ", "), strings.Join(tech, "; "))
		}
		p("- **Reads** %s\n", codeList(ri.CondFields))
		var tune []string
		for _, l := range ri.Lists {
			tune = append(tune, "`"+l+"`")
		}
		for _, m := range ri.Macros {
			if userMacro(m) {
				tune = append(tune, "`"+m+"`")
			}
		}
		for _, e := range r.Exceptions {
			tune = append(tune, fmt.Sprintf("exception `%s` (%s)", e.Name, strings.Join(e.Fields, ", ")))
		}
		if len(tune) > 0 {
			p("- **Tune with** %s\n", strings.Join(tune, ", "))
		}
		p("- **Tags** %s\n", codeList(r.Tags))
	}

	p("\n## Coverage of the upstream rules\n\n")
	p("Every rule of upstream's `k8s_audit_rules.yaml` (k8saudit plugin 0.18.0) and the default rules that\n")
	p("catch the same activity. Upstream's test traces raise the counterpart listed here (checked by\n")
	p("`TestUpstreamTraces`).\n\n")
	p("| Upstream rule | Peregrine rules | Notes |\n|---|---|---|\n")
	for _, c := range upstreamCoverage {
		var links []string
		for _, n := range c.Peregrine {
			links = append(links, fmt.Sprintf("[%s](#%s)", n, anchor(n)))
		}
		p("| %s | %s | %s |\n", c.Upstream, strings.Join(links, ", "), c.Note)
	}
	p("\n## Beyond upstream\n\n%d rules detect activity upstream's ruleset has no rule for:\n\n", len(beyond))
	sort.Strings(beyond)
	for _, n := range beyond {
		p("- [%s](#%s)\n", n, anchor(n))
	}
	return b.Bytes()
}

// userMacro reports whether a macro is a tuning point rather than
// plumbing (verbs, stages, the pod and template selectors).
func userMacro(m string) bool {
	switch m {
	case "pg_complete", "pg_started", "pg_ok", "pg_denied", "pg_no_subresource", "pg_pod_spec_write",
		"pg_workload_write", "pg_pod_or_template_write", "pg_binding_write", "pg_role_write",
		"pg_configmap_write", "pg_service_account", "pg_node_user", "pg_person", "pg_always_true",
		"pg_activity", "pg_source_unexpected", "pg_anonymous_public_request":
		return false
	}
	return true
}

func codeList(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + strings.ReplaceAll(x, "|", `\|`) + "`"
	}
	return strings.Join(out, ", ")
}

// anchor is GitHub's heading anchor: lower case, punctuation other than
// hyphens and underscores dropped, spaces as hyphens.
func anchor(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}
