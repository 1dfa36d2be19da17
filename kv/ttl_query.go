package kv

// HasTTL reports whether some node has a TTL, so that the leader only
// proposes its time-carrying SYNC entries when something can expire.
func (s *Store) HasTTL() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ttl.len() > 0
}
