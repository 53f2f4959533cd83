// Package epcisschema validates JSON against the EPCIS 2.0 JSON Schema, for
// the tests of any package that writes or reads EPCIS documents. The
// schema is GS1's, read from the shared/ directory beside the checkout: a
// test without it is skipped, naming the missing path.
package epcisschema

import (
	"bytes"
	"os"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/edgeagent/edgeagent/internal/testutil"
)

// Path is where the schema is under shared/.
const Path = "data/epcis/schema/epcis-json-schema.json"

// schemaURL is the schema's $id.
const schemaURL = "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"

// Schema is the compiled EPCIS 2.0 JSON Schema.
type Schema struct{ s *jsonschema.Schema }

// ecmaRegexp runs the schema's patterns as ECMAScript regular expressions:
// the EPCIS schema uses a negative lookahead, which Go's regexp has not.
type ecmaRegexp regexp2.Regexp

func (re *ecmaRegexp) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}

func (re *ecmaRegexp) String() string { return (*regexp2.Regexp)(re).String() }

// Load compiles the schema from shared/, with its formats (uri,
// date-time) asserted; the test is skipped when the file is not there.
func Load(t testing.TB) *Schema {
	t.Helper()
	f, err := os.Open(testutil.SharedFile(t, Path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("the EPCIS schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseRegexpEngine(func(s string) (jsonschema.Regexp, error) {
		re, err := regexp2.Compile(s, regexp2.ECMAScript)
		if err != nil {
			return nil, err
		}
		return (*ecmaRegexp)(re), nil
	})
	if err := c.AddResource(schemaURL, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		t.Fatalf("the EPCIS schema does not compile: %v", err)
	}
	return &Schema{s}
}

// Validate checks JSON (a document, or an event with its @context)
// against the schema.
func (s *Schema) Validate(raw []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return s.s.Validate(inst)
}

// Require fails the test, naming what and showing the JSON, unless raw is
// valid EPCIS 2.0.
func (s *Schema) Require(t testing.TB, raw []byte, what string) {
	t.Helper()
	if err := s.Validate(raw); err != nil {
		t.Fatalf("%s is not valid EPCIS 2.0: %v\n%s", what, err, raw)
	}
}
