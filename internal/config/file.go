package config

import (
	"fmt"
	"io/fs"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkFileMode refuses a configuration file that other users may read or
// change while it holds a secret written out in it. A file whose secrets
// all come from the environment (${NAME}) holds nothing to hide and may
// stay readable (0644). "Wider" is as for the database: any permission
// for the group or others, or execution for the owner. Only regular files
// are judged: a pipe or a terminal has no mode that protects its content.
func checkFileMode(name string, st fs.FileInfo, data []byte) error {
	if !st.Mode().IsRegular() || st.Mode().Perm()&^0o600 == 0 {
		return nil
	}
	fields := inlineSecrets(data)
	if len(fields) == 0 {
		return nil
	}
	what := "a secret"
	if len(fields) > 1 {
		what = "secrets"
	}
	return fmt.Errorf("%s is mode %04o and holds %s inline (%s): run chmod 600 %s, or take the secret from the environment with ${NAME}",
		name, uint32(st.Mode().Perm()), what, strings.Join(fields, ", "), name)
}

var secretType = reflect.TypeOf(Secret(""))

// maxVisits bounds the walk of inlineSecrets, whatever anchors and merges
// a file uses to repeat itself.
const maxVisits = 100000

// inlineSecrets lists the secret fields (every field of type Secret, such
// as http.token or cloud.api_secret) whose value is written in the file
// rather than taken from the environment, by their place in the file:
// "v2.tokens[1].token". It reads the YAML as written, before ${NAME} is
// expanded; a file that is not YAML lists nothing (Parse reports it).
func inlineSecrets(data []byte) []string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	w := secretWalk{budget: maxVisits}
	w.walk(&doc, reflect.TypeOf(Config{}), "")
	return w.found
}

type secretWalk struct {
	found  []string
	budget int
}

// walk follows the YAML node n, which decodes into a value of type t at
// path, down to the secret fields.
func (w *secretWalk) walk(n *yaml.Node, t reflect.Type, path string) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || w.budget <= 0 {
		return
	}
	w.budget--
	switch {
	case n.Kind == yaml.DocumentNode:
		for _, c := range n.Content {
			w.walk(c, t, path)
		}
	case t == secretType:
		if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" && inline(n.Value) {
			w.found = append(w.found, path)
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if key.Value == "<<" {
				w.merge(val, t, path) // the keys of another mapping, merged in
				continue
			}
			if f, ok := yamlField(t, key.Value); ok {
				w.walk(val, f.Type, join(path, key.Value))
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// merge walks the value of a merge key: one mapping, or a list of them.
func (w *secretWalk) merge(n *yaml.Node, t reflect.Type, path string) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.SequenceNode {
		for _, c := range n.Content {
			w.walk(c, t, path)
		}
		return
	}
	w.walk(n, t, path)
}

// inline reports whether a secret's value holds anything written out, once
// its ${NAME} references are taken away.
func inline(v string) bool {
	return strings.TrimSpace(envRef.ReplaceAllString(v, "")) != ""
}

// yamlField finds the field of struct type t that the YAML key names, as
// the decoder does: by its yaml tag, else its name in lower case.
func yamlField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key && name != "-" && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
