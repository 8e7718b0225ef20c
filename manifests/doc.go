// Package manifests is Berth's desired-state model: App, Job, Template and
// Queue manifests, how they are read from a directory tree (YAML or JSON, with
// Marathon app and Chronos job JSON accepted as they are), validated,
// normalised and printed in canonical form.
//
// Load is the one way in: it decodes every manifest file (IsManifestFile) of
// an fs.FS through yaml.Node, so that every problem, from a typo in a field
// name to a dependency cycle, comes back in one ErrorList as
// path:line:col: field: message. The Set it returns has Marathon's and
// Chronos's defaults applied and Marathon's older forms rewritten to the
// newer ones, so two spellings of one app are equal, byte for byte, in
// Canonical. Import and Files turn Marathon and Chronos exports into
// manifests; Format is `berth fmt`.
//
// It is pure: it reads files only through an fs.FS handed to it and must not
// import Docker, ZooKeeper, Consul or Git clients. Schedules are checked by
// the schedule package, which is pure too. What the objects mean at run time
// (placement, rollout, task specs) belongs to the packages that act on them.
package manifests
