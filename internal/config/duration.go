package config

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// errNotDuration is the message every bad duration is reported with, so a
// YAML value and an environment override read the same way.
var errNotDuration = errors.New("not a duration")

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration the way it is written in YAML ("30m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML accepts Go duration syntax such as "30m", "12h" or "1h30m",
// and whole days such as "400d" for long retentions. A bare number other
// than 0 has no unit and is refused rather than guessed.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errNotDuration
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration back in the syntax UnmarshalYAML reads.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// maxDays keeps a duration in days within what time.Duration holds.
const maxDays = 100000

func parseDuration(s string) (Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > maxDays || n != strconv.Itoa(days) {
			return 0, errNotDuration
		}
		return Duration(time.Duration(days) * 24 * time.Hour), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, errNotDuration
	}
	return Duration(v), nil
}
