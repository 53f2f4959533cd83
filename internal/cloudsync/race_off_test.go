//go:build !race

package cloudsync

const raceEnabled = false
