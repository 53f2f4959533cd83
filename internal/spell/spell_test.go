package spell

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNearest(t *testing.T) {
	names := []string{"format", "level", "serial_number", "batch"}
	for key, want := range map[string]string{
		"formt":  "format",        // a letter missing
		"Level":  "level",         // another case
		"serial": "serial_number", // the start of it
		"lvl":    "level",
		"colour": "", // nothing close
	} {
		assert.Equal(t, want, Nearest(names, key), key)
	}
	assert.Equal(t, 3, Distance("kitten", "sitting"))
	assert.Equal(t, 0, Distance("", ""))
}
