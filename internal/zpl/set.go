package zpl

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
)

//go:embed builtin/*.zpl
var builtinFS embed.FS

// Set is a collection of templates by tag.
type Set struct {
	byTag map[string]*Template
}

var builtin = sync.OnceValues(func() (*Set, error) {
	sub, err := fs.Sub(builtinFS, "builtin")
	if err != nil {
		return nil, err
	}
	return load(sub, "builtin:", &Set{byTag: map[string]*Template{}})
})

// Builtin returns the templates compiled into the binary: pack, sscc,
// shipping and commands.
func Builtin() *Set {
	s, err := builtin()
	if err != nil {
		panic("zpl: built-in template: " + err.Error())
	}
	return s
}

// Load compiles every *.zpl file at the top of fsys and returns them over
// the built-in templates. A file may replace a built-in template, but must
// then take the same keys, which are a contract with the rest of the line.
func Load(fsys fs.FS) (*Set, error) {
	base := Builtin()
	s := &Set{byTag: make(map[string]*Template, len(base.byTag))}
	for k, v := range base.byTag {
		s.byTag[k] = v
	}
	return load(fsys, "", s)
}

func load(fsys fs.FS, prefix string, s *Set) (*Set, error) {
	names, err := fs.Glob(fsys, "*.zpl")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	fromFile := map[string]string{}
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		t, err := Compile(prefix+name, src)
		if err != nil {
			return nil, err
		}
		if prev, dup := fromFile[t.Tag]; dup {
			return nil, fmt.Errorf("%s%s: tag %q is already taken by %s", prefix, name, t.Tag, prev)
		}
		if old, ok := s.byTag[t.Tag]; ok && !slices.Equal(old.Keys, t.Keys) {
			return nil, fmt.Errorf("%s%s: tag %q replaces a built-in template, so it must take the keys %s (it takes %s)",
				prefix, name, t.Tag, strings.Join(old.Keys, " "), strings.Join(t.Keys, " "))
		}
		fromFile[t.Tag] = prefix + path.Base(name)
		s.byTag[t.Tag] = t
	}
	return s, nil
}

// Get returns the template with the tag.
func (s *Set) Get(tag string) (*Template, bool) {
	if s == nil {
		return nil, false
	}
	t, ok := s.byTag[tag]
	return t, ok
}

// Tags returns the tags in order.
func (s *Set) Tags() []string {
	out := make([]string, 0, len(s.byTag))
	for k := range s.byTag {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
