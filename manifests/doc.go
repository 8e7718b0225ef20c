// Package manifests is Berth's desired-state model: App, Job, Template and
// Queue manifests, how they are read from a directory tree (YAML or JSON, with
// Marathon app and Chronos job JSON accepted as they are), validated,
// normalised and printed in canonical form.
//
// It is pure: it reads files only through an fs.FS handed to it and must not
// import Docker, ZooKeeper, Consul or Git clients.
package manifests
