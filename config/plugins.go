package config

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/peregrine-sec/peregrine/rules"
)

// KnownPlugins are the plugin names whose configuration Peregrine accepts:
// the k8saudit family (sources) and json (a no-op: its fields are built in).
var KnownPlugins = map[string]bool{
	"k8saudit": true, "k8saudit-eks": true, "k8saudit-aks": true, "k8saudit-gke": true,
	"k8saudit-ovh": true, "json": true, "kafka": true,
}

func (c *Config) decodePlugins(d decoder) error {
	list, ok := d.raw["plugins"].([]any)
	if d.raw["plugins"] != nil && !ok {
		return fmt.Errorf("plugins: expected a list")
	}
	byName := map[string]bool{}
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("plugins[%d]: expected a mapping", i)
		}
		p := Plugin{InitConfig: m["init_config"]}
		p.Name, _ = m["name"].(string)
		p.LibraryPath, _ = m["library_path"].(string)
		if p.Name == "" {
			return fmt.Errorf("plugins[%d]: missing name", i)
		}
		if op, ok := m["open_params"]; ok && op != nil {
			p.OpenParams = strings.TrimSpace(fmt.Sprint(op))
		}
		if !KnownPlugins[p.Name] {
			c.Warnings = append(c.Warnings, fmt.Sprintf("plugin %q is not part of the k8saudit family; Peregrine cannot run it", p.Name))
		}
		byName[p.Name] = true
		c.Plugins = append(c.Plugins, p)
	}
	if _, ok := d.raw["load_plugins"]; ok {
		c.LoadPlugins = []string{}
		for _, n := range d.strings("load_plugins") {
			if !byName[n] {
				return fmt.Errorf("Cannot load plugin '%s': plugin config not found for given name", n)
			}
			c.LoadPlugins = append(c.LoadPlugins, n)
		}
	}
	return nil
}

// Loaded returns the plugins to run: those in load_plugins, in its order,
// or every entry when load_plugins is absent.
func (c *Config) Loaded() []Plugin {
	if c.LoadPlugins == nil {
		return c.Plugins
	}
	var out []Plugin
	for _, n := range c.LoadPlugins {
		for _, p := range c.Plugins {
			if p.Name == n {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// decodeSelectors reads rules: [{enable|disable: {rule: GLOB | tag: TAG}}].
func (c *Config) decodeSelectors(d decoder) error {
	v, ok := d.raw["rules"]
	if !ok || v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return fmt.Errorf("rules: expected a list of enable/disable entries")
	}
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("rules[%d]: expected a mapping", i)
		}
		for verb, body := range m {
			if verb != "enable" && verb != "disable" {
				return fmt.Errorf("rules[%d]: unknown key %q (expected enable or disable)", i, verb)
			}
			sel, err := selector(verb == "enable", body)
			if err != nil {
				return fmt.Errorf("rules[%d].%s: %w", i, verb, err)
			}
			c.Selectors = append(c.Selectors, sel)
		}
	}
	return nil
}

func selector(enable bool, body any) (rules.Selector, error) {
	m, ok := body.(map[string]any)
	if !ok {
		return rules.Selector{}, fmt.Errorf("expected rule: or tag:")
	}
	s := rules.Selector{Enable: enable}
	if r, ok := m["rule"]; ok {
		s.Rule = fmt.Sprint(r)
	}
	if t, ok := m["tag"]; ok {
		s.Tag = fmt.Sprint(t)
	}
	if s.Rule == "" && s.Tag == "" {
		return s, fmt.Errorf("expected rule: or tag:")
	}
	return s, nil
}

// InitMap returns init_config as a map: a YAML mapping as written, a JSON
// string decoded, nothing or an empty string as an empty map.
func (p Plugin) InitMap() (map[string]any, error) {
	switch v := p.InitConfig.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return v, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return map[string]any{}, nil
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("init_config of %s: %w", p.Name, err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("init_config of %s: expected a JSON string or a mapping", p.Name)
}
