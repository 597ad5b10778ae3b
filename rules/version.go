package rules

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// version is a semantic version as libsinsp's sinsp_version reads it.
type version struct{ major, minor, patch uint64 }

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch) }

func (v version) less(w version) bool {
	if v.major != w.major {
		return v.major < w.major
	}
	if v.minor != w.minor {
		return v.minor < w.minor
	}
	return v.patch < w.patch
}

// compatibleWith is libsinsp's rule: same major, and not older.
func (v version) compatibleWith(req version) bool {
	return v.major == req.major && !v.less(req)
}

// parseVersion reads "x.y.z" like sinsp_version's sscanf("%u.%u.%u"):
// leading blanks are allowed and anything after the patch number ("-rc1")
// is ignored.
func parseVersion(s string) (version, bool) {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	var v version
	for i, p := range []*uint64{&v.major, &v.minor, &v.patch} {
		if i > 0 {
			if !strings.HasPrefix(s, ".") {
				return version{}, false
			}
			s = s[1:]
		}
		end := 0
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		n, err := strconv.ParseUint(s[:end], 10, 32)
		if err != nil {
			return version{}, false
		}
		*p, s = n, s[end:]
	}
	return v, true
}

// engineVersion reads required_engine_version: an unsigned N means 0.N.0,
// otherwise a semver string. Loading fails when our engine is not
// compatible (same major, at least that version).
func (l *fileLoader) engineVersion(n *yaml.Node) error {
	it := item{l, n, "required_engine_version"}
	s, v, err := it.str("required_engine_version")
	if err != nil {
		return err
	}
	req, ok := version{}, false
	if u, isInt := parseCppUint(s, 32); isInt {
		req, ok = version{minor: u}, true
	} else {
		req, ok = parseVersion(s)
	}
	if !ok {
		return l.invalid(v, it.ctx, "Unable to parse engine version '"+s+
			"' as a semver string. Expected \"x.y.z\" semver format.")
	}
	if !l.engine.compatibleWith(req) {
		return l.fail(v, CodeValidate, it.ctx, "Rules require engine version "+req.String()+
			", but engine version is "+l.engine.String())
	}
	if cur, _ := parseVersion(l.col.RequiredEngineVersion); l.col.RequiredEngineVersion == "" || cur.less(req) {
		l.col.RequiredEngineVersion = req.String()
	}
	return nil
}

// pluginVersions reads required_plugin_versions: a sequence of
// {name, version, alternatives: [{name, version}]}.
func (l *fileLoader) pluginVersions(n *yaml.Node) error {
	const ctx = "required_plugin_versions"
	_, seq := lookup(n, ctx)
	if seq.Kind != yaml.SequenceNode {
		return l.invalid(seq, ctx, "Value of required_plugin_versions must be a sequence")
	}
	if err := l.spend(seq, len(seq.Content)); err != nil {
		return err
	}
	for _, e := range seq.Content {
		req, err := l.pluginRequirement(deref(e))
		if err != nil {
			return err
		}
		l.col.PluginRequirements = append(l.col.PluginRequirements, req)
	}
	return nil
}

func (l *fileLoader) pluginRequirement(e *yaml.Node) (PluginRequirement, error) {
	const ctx = "required_plugin_versions"
	req := PluginRequirement{Pos: l.src.pos(e)}
	if e.Kind != yaml.MappingNode {
		return req, l.invalid(e, ctx, "Plugin version must be a mapping")
	}
	pv, err := l.pluginVersion(e)
	if err != nil {
		return req, err
	}
	req.Alternatives = append(req.Alternatives, pv)
	_, alts := lookup(e, "alternatives")
	if alts != nil {
		if alts.Kind != yaml.SequenceNode {
			return req, l.invalid(alts, ctx, "Value of plugin version alternatives must be a sequence")
		}
		if err := l.spend(alts, len(alts.Content)); err != nil {
			return req, err
		}
		for _, a := range alts.Content {
			if a = deref(a); a.Kind != yaml.MappingNode {
				return req, l.invalid(a, ctx, "Plugin version alternative must be a mapping")
			}
			if pv, err = l.pluginVersion(a); err != nil {
				return req, err
			}
			req.Alternatives = append(req.Alternatives, pv)
		}
	}
	return req, l.checkRequirement(e, req)
}

func (l *fileLoader) pluginVersion(m *yaml.Node) (PluginVersion, error) {
	it := item{l, m, "required_plugin_versions"}
	name, _, err := it.str("name")
	if err != nil {
		return PluginVersion{}, err
	}
	it.ctx = "required_plugin_versions '" + name + "'"
	ver, _, err := it.str("version")
	return PluginVersion{name, ver}, err
}

// checkRequirement validates an entry as Falco's collector does.
func (l *fileLoader) checkRequirement(e *yaml.Node, req PluginRequirement) error {
	const ctx = "required_plugin_versions"
	seen := map[string]bool{}
	for _, a := range req.Alternatives {
		if _, ok := parseVersion(a.Version); !ok {
			return l.fail(e, CodeValidate, ctx, "Invalid required version '"+a.Version+"' for plugin '"+a.Name+"'")
		}
		if seen[a.Name] {
			return l.fail(e, CodeValidate, ctx, "Defined multiple alternative version requirements for plugin '"+a.Name+"'")
		}
		seen[a.Name] = true
	}
	return nil
}

// checkPlugins runs after every file has loaded: each requirement needs one
// alternative that we act as, at the same major version and not older.
func checkPlugins(col *Collection, plugins map[string]string, rep *Report) {
	for _, req := range col.PluginRequirements {
		if requirementMet(req, plugins) {
			continue
		}
		names := make([]string, len(req.Alternatives))
		for i, a := range req.Alternatives {
			names[i] = a.Name + " (>= " + a.Version + ")"
		}
		rep.Add(Diag{Pos: req.Pos, Code: CodeValidate, Context: "required_plugin_versions",
			Msg: "Plugin requirement not satisfied, must load one of: " + strings.Join(names, ", ")})
	}
}

func requirementMet(req PluginRequirement, plugins map[string]string) bool {
	for _, a := range req.Alternatives {
		have, ok := plugins[a.Name]
		if !ok {
			continue
		}
		hv, ok1 := parseVersion(have)
		rv, ok2 := parseVersion(a.Version)
		if ok1 && ok2 && hv.compatibleWith(rv) {
			return true
		}
	}
	return false
}
