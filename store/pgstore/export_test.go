package pgstore

// Queries and helpers the external tests inspect.
const (
	QUserByExternalID = qUserByExternalID
	QExternalIDsTaken = qExternalIDsTaken
)

// ExpandSQL returns query with the store's schema filled in.
func (s *Store) ExpandSQL(query string) string { return s.sql(query) }
