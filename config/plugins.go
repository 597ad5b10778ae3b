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

func (c *Config) decodePlugins(d *decoder) {
	byName := map[string]bool{}
	for i, e := range d.list("plugins") {
		key := fmt.Sprintf("plugins[%d]", i)
		m := d.mappingAt(key, e)
		if m == nil {
			if e == nil {
				d.fail(key, "expected a mapping, got null")
			}
			continue
		}
		p := Plugin{InitConfig: m["init_config"]}
		p.Name = d.strAt(key+".name", m["name"], "")
		p.LibraryPath = d.strAt(key+".library_path", m["library_path"], "")
		p.OpenParams = strings.TrimSpace(d.strAt(key+".open_params", m["open_params"], ""))
		if p.Name == "" {
			d.fail(key, "missing name")
			continue
		}
		if !KnownPlugins[p.Name] {
			d.warn(key+".name", fmt.Sprintf("plugin %q is not part of the k8saudit family; Peregrine cannot run it", p.Name))
		}
		byName[p.Name] = true
		c.Plugins = append(c.Plugins, p)
	}
	if _, ok := d.raw["load_plugins"]; ok {
		c.LoadPlugins = []string{}
		for i, n := range d.strings("load_plugins") {
			if !byName[n] {
				d.fail(fmt.Sprintf("load_plugins[%d]", i), "Cannot load plugin '%s': plugin config not found for given name", n)
			}
			c.LoadPlugins = append(c.LoadPlugins, n)
		}
	}
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
func (c *Config) decodeSelectors(d *decoder) {
	for i, e := range d.list("rules") {
		key := fmt.Sprintf("rules[%d]", i)
		m := d.mappingAt(key, e)
		if m == nil && e == nil {
			d.fail(key, "expected enable: or disable:, got null")
		}
		for _, verb := range sortedKeys(m) {
			if verb != "enable" && verb != "disable" {
				d.fail(key, "unknown key %q (expected enable or disable)", verb)
				continue
			}
			if sel, ok := d.selector(key+"."+verb, verb == "enable", m[verb]); ok {
				c.Selectors = append(c.Selectors, sel)
			}
		}
	}
}

func (d *decoder) selector(key string, enable bool, body any) (rules.Selector, bool) {
	m, ok := body.(map[string]any)
	if !ok {
		d.fail(key, "expected rule: or tag:, got %s", show(body))
		return rules.Selector{}, false
	}
	if m["rule"] == nil && m["tag"] == nil {
		d.fail(key, "expected rule: or tag:")
		return rules.Selector{}, false
	}
	s := rules.Selector{Enable: enable}
	s.Rule = d.strAt(key+".rule", m["rule"], "")
	s.Tag = d.strAt(key+".tag", m["tag"], "")
	return s, s.Rule != "" || s.Tag != ""
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

// PluginPos is where the plugins entry named name was written (its
// init_config when it has one), for problems its source finds in it;
// the configuration file alone when that is unknown.
func (c *Config) PluginPos(name string) rules.Position {
	for i, p := range c.Plugins {
		if p.Name != name {
			continue
		}
		key := fmt.Sprintf("plugins[%d]", i)
		if p.InitConfig != nil {
			key += ".init_config"
		}
		if pos := c.doc.pos(key); pos.File != "" {
			return pos
		}
	}
	return rules.Position{File: c.Path}
}
