package invite

// SetBulkSpoolMemLimit sets how many encoded bytes a bulk report keeps in
// memory before it moves to a file, and returns a func that restores it.
// Tests only; not safe while an import runs.
func SetBulkSpoolMemLimit(n int) (restore func()) {
	old := bulkSpoolMemLimit
	bulkSpoolMemLimit = n
	return func() { bulkSpoolMemLimit = old }
}
