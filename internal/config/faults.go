package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/edgeagent/edgeagent/internal/spell"
	"gopkg.in/yaml.v3"
)

// Faults is every fault found in a configuration file, each as
// "field: rule".
type Faults struct {
	File string
	List []string
}

func (f *Faults) Error() string {
	lines := make([]string, len(f.List))
	for i, l := range f.List {
		if f.File != "" {
			l = f.File + ": " + l
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// faultList flattens an error joined from several into one line each.
func faultList(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, faultList(e)...)
		}
		return out
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var (
	unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type (\S+)$`)
	badValue     = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+)(?: `(.*)`)? into (\\S+)$")
)

// decodeFaults turns the YAML decoder's errors into "field: rule (line N)",
// naming the setting by its path in the file rather than by Go types.
func decodeFaults(data []byte, err error) []string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	paths := linePaths(data)
	var out []string
	for _, msg := range te.Errors {
		if m := unknownField.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			path := paths[n]
			if path == "" {
				path = m[2]
			}
			rule := "is not a known setting"
			if t, ok := configTypes()[m[3]]; ok {
				if s := spell.Nearest(yamlKeys(t), m[2]); s != "" {
					rule += fmt.Sprintf("; did you mean %s?", s)
				}
			}
			out = append(out, fmt.Sprintf("%s: %s (line %d)", path, rule, n))
			continue
		}
		if m := badValue.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			path := paths[n]
			if path == "" {
				path = "line " + m[1]
			}
			given := strconv.Quote(m[3])
			switch m[2] {
			case "seq":
				given = "a list"
			case "map":
				given = "a section"
			}
			out = append(out, fmt.Sprintf("%s: %s, not %s (line %d)", path, wants(m[4]), given, n))
			continue
		}
		out = append(out, msg)
	}
	return out
}

// wants says in words what a Go type takes.
func wants(goType string) string {
	switch {
	case goType == "time.Duration":
		return "must be a duration (for example 500ms, 30s or 5m)"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "must be a whole number"
	case strings.HasPrefix(goType, "float"):
		return "must be a number"
	case goType == "bool":
		return "must be true or false"
	case goType == "string" || goType == "config.Secret":
		return "must be text"
	case strings.HasPrefix(goType, "[]"):
		return "must be a list"
	}
	return "must be a section of settings (key: value lines)"
}

// linePaths maps each line of the file to the path of the setting written
// on it (line.printers[0].url).
func linePaths(data []byte) map[int]string {
	out := map[int]string{}
	var root yaml.Node
	if yaml.NewDecoder(bytes.NewReader(data)).Decode(&root) != nil {
		return out
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				if _, ok := out[n.Content[i].Line]; !ok {
					out[n.Content[i].Line] = p
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if _, ok := out[c.Line]; !ok && c.Kind == yaml.ScalarNode {
					out[c.Line] = p
				}
				walk(c, p)
			}
		}
	}
	walk(&root, "")
	return out
}

// configTypes maps the decoder's names of the configuration's types
// (config.Log) to them.
func configTypes() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || out[t.String()] != nil || t.PkgPath() != reflect.TypeOf(Config{}).PkgPath() {
			return
		}
		out[t.String()] = t
		for i := 0; i < t.NumField(); i++ {
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeOf(Config{}))
	return out
}

func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name != "-" && f.IsExported() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
