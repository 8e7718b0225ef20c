// Package schedule is Berth's pure schedule maths: it parses Chronos-style ISO
// 8601 repeating intervals (R5/2026-01-01T02:00:00Z/PT24H), 5-field cron
// expressions and ISO 8601 durations, and answers two questions about a
// parsed Schedule: when are the next occurrences, and what is due now after a
// period in which nothing ran (catch-up and epsilon rules). For reviewing a
// change it also previews a schedule: its next runs and what a reader of the
// expression would miss (DST gaps and overlaps, short months, a repeat count
// already used up, the catch-up a deploy would start).
//
// Time is always an input: nothing here reads the clock, the filesystem
// (beyond the embedded time zone database) or the network, so every answer is
// reproducible from values alone. Launching runs and recording history belong
// to the scheduler that calls this package; this package must not import
// Docker, ZooKeeper, Consul or Git clients.
package schedule
