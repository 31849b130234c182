//go:build race

package webhooks_test

// raceEnabled: the test binary runs under the race detector.
const raceEnabled = true
