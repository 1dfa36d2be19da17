//go:build !linux

package wal

// evictFromCache is not available outside Linux; cold-cache benchmarks skip.
func evictFromCache(path string) error { return nil }

const canEvict = false
