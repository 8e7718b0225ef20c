package manifests

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// These are structural checks of Chronos schedules, made so that a bad
// schedule is rejected at load time with its line. The schedule package owns
// the maths (next run times); this only answers "could it ever parse".

var (
	isoDurationRE = regexp.MustCompile(`^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)
	cronFieldRE   = regexp.MustCompile(`^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/\d+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/\d+)?)*$`)
)

// parseISODuration parses an ISO 8601 duration (PT15M, P1D, P1Y2M) into a
// nominal length (a month is 30 days, a year 365), enough to check it is
// positive.
func parseISODuration(s string) (time.Duration, error) {
	m := isoDurationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, fmt.Errorf("%q is not an ISO 8601 duration such as PT15M or P1D", s)
	}
	units := []time.Duration{365 * 24 * time.Hour, 30 * 24 * time.Hour, 7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second}
	var total float64
	for i, u := range units {
		if m[i+1] == "" {
			continue
		}
		f, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an ISO 8601 duration: %w", s, err)
		}
		total += f * float64(u)
	}
	if total > float64(1<<62) {
		return 0, fmt.Errorf("%q is too long", s)
	}
	return time.Duration(total), nil
}

var isoStartLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// checkISOSchedule checks Chronos's R[n]/[start]/period.
func checkISOSchedule(s string) error {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return fmt.Errorf("%q is not a Chronos schedule R[n]/[start]/period, e.g. R/2026-01-01T02:00:00Z/P1D", s)
	}
	if !strings.HasPrefix(parts[0], "R") {
		return fmt.Errorf("%q must start with R (forever) or Rn (n runs)", s)
	}
	if n := parts[0][1:]; n != "" {
		if v, err := strconv.Atoi(n); err != nil || v < 0 {
			return fmt.Errorf("%q: repetitions %q must be a whole number", s, n)
		}
	}
	if start := parts[1]; start != "" {
		ok := false
		for _, layout := range isoStartLayouts {
			if _, err := time.Parse(layout, start); err == nil {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%q: start %q is not an ISO 8601 time such as 2026-01-01T02:00:00Z", s, start)
		}
	}
	d, err := parseISODuration(parts[2])
	if err != nil {
		return fmt.Errorf("%q: period: %w", s, err)
	}
	if d <= 0 {
		return fmt.Errorf("%q: the period must be longer than zero", s)
	}
	return nil
}

// checkCron checks a five-field cron expression or a @-shorthand.
func checkCron(s string) error {
	switch s {
	case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
		return nil
	}
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return fmt.Errorf("%q is not a cron expression: expected 5 fields (minute hour day-of-month month day-of-week), found %d", s, len(fields))
	}
	for _, f := range fields {
		if !cronFieldRE.MatchString(f) {
			return fmt.Errorf("%q: field %q is not valid cron syntax", s, f)
		}
	}
	return nil
}
