package cloud

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// Only the configured scheme, host and port count as the same place.
func TestSameOrigin(t *testing.T) {
	base, _ := url.Parse("https://api.example.cloud/v1")
	for to, same := range map[string]bool{
		"https://api.example.cloud/other":           true,
		"https://API.Example.Cloud/other":           true,  // host names have no case
		"https://api.example.cloud:443/other":       true,  // the default port, spelt out
		"http://api.example.cloud/other":            false, // down to plain http
		"https://api.example.cloud:8443/other":      false,
		"https://eu.api.example.cloud/other":        false, // a subdomain is another host
		"https://api.example.cloud.evil.example/":   false,
		"https://api.example.cloud@evil.example/":   false,
		"https://evil.example/api.example.cloud/v1": false,
	} {
		u, err := url.Parse(to)
		require.NoError(t, err)
		require.Equal(t, same, sameOrigin(base, u), to)
	}
	plain, _ := url.Parse("http://127.0.0.1:8081")
	up, _ := url.Parse("https://127.0.0.1:8081/")
	require.False(t, sameOrigin(plain, up), "another scheme is another place, up as well as down")
}
