// Package consulsource answers template queries from Consul with blocking
// queries: it implements templates.Source over github.com/hashicorp/consul/api
// and converts Consul's answers into the templates package's value types
// exactly as consul-template does (address fallback, sorted tags, health
// filters applied client-side, results sorted by node then id).
//
// It holds no state between calls; the templates runner decides what to
// watch and how to retry.
package consulsource
