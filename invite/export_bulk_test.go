package invite

// SetBulkSpoolMemLimit sets how many encoded bytes a bulk report keeps in
// memory before it moves to a file, and returns a func that restores it.
// Tests only; not safe while an import runs.
func SetBulkSpoolMemLimit(n int) (restore func()) {
	old := bulkSpoolMemLimit
	bulkSpoolMemLimit = n
	return func() { bulkSpoolMemLimit = old }
}

// SetBulkSeenLimits sets how many values the duplicate check keeps in
// memory before it spills a run to a file, and the size of its filter
// over the runs; it returns a func that restores both. Tests only.
func SetBulkSeenLimits(memRows, bloomBytes int) (restore func()) {
	oldRows, oldBloom := bulkSeenMemRows, bulkSeenBloomBytes
	bulkSeenMemRows, bulkSeenBloomBytes = memRows, bloomBytes
	return func() { bulkSeenMemRows, bulkSeenBloomBytes = oldRows, oldBloom }
}
