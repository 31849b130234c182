//go:build !unix

package invite

// allocWords returns n zeroed words (see bulk_words_unix.go).
func allocWords(n int) ([]uint64, func()) { return make([]uint64, n), func() {} }
