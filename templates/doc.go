// Package templates renders consul-template-compatible templates and keeps
// the files they produce up to date, safely.
//
// The language is Go's text/template with consul-template's functions and
// their exact behaviour (query syntax, sorting, edge cases), so a template
// written for consul-template renders byte for byte the same here. Rendering
// is two-pass, as in consul-template: executing a template records the
// queries it uses; the runner watches each distinct query once, however many
// templates share it, and a template is written only once every query it uses
// has an answer.
//
// The Runner adds what consul-template lacks: the new file is validated in
// place (`nginx -t`) and the previous one restored when validation fails; a
// data source that errors never turns into an empty upstream; commands run
// with a timeout and only for templates whose output changed.
//
// Boundaries: the package owns the Source interface its data comes from and
// never imports a Consul, ZooKeeper or Docker client. Consul lives behind
// templates/consulsource; Berth's own task catalog behind the Catalog
// interface (MemoryCatalog is the in-memory implementation used by tests and
// `berth up`). Files and commands are the only I/O the runner performs.
package templates
