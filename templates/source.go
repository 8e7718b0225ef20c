package templates

import "context"

// Source answers template queries. Fetch blocks until the answer's index is
// greater than waitIndex (0: answer at once), the source's own timeout passes
// (it then returns the same index), or ctx ends. It is a Consul blocking
// query in general form; templates/consulsource implements it for Consul and
// CatalogSource for Berth's own catalog.
type Source interface {
	Fetch(ctx context.Context, q Query, waitIndex uint64) (value any, index uint64, err error)
}
