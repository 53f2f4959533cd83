package audit

import "time"

// SetClock makes Write stamp entries with f's time until restore is called.
func SetClock(f func() time.Time) (restore func()) {
	now = f
	return func() { now = time.Now }
}

