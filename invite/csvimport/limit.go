package csvimport

import "io"

// countingReader counts the bytes read from the source and enforces the
// input size limit and (approximately, within one read-ahead buffer) the
// size limit of a single record.
type countingReader struct {
	r        io.Reader
	n        int64 // bytes delivered so far
	max      int64 // <= 0: unlimited
	err      error // sticky limit error
	recStart int64 // offset where the current record started
	recMax   int64 // <= 0: unlimited
	slack    int64 // read-ahead of the buffer above us
	line     func() int
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.max > 0 {
		// Allow reading one byte past the limit so that an input of exactly
		// max bytes is accepted and a larger one is detected.
		if rest := c.max + 1 - c.n; int64(len(p)) > rest {
			p = p[:rest]
		}
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.max > 0 && c.n > c.max {
		c.err = &LimitError{Err: ErrTooLarge, Limit: c.max}
		return 0, c.err
	}
	if c.recMax > 0 && c.n-c.recStart > c.recMax+c.slack {
		line := 0
		if c.line != nil {
			line = c.line()
		}
		c.err = &LimitError{Err: ErrRecordTooLarge, Limit: c.recMax, Line: line}
		return 0, c.err
	}
	return n, err
}
