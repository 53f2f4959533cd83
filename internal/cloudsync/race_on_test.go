//go:build race

package cloudsync

// raceEnabled scales the volume tests down under the race detector, which
// slows them tenfold; make test also runs them at full volume without it.
const raceEnabled = true
