package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// MinColors is how many distinct colors a screenshot must have to count
// as not blank: a page that rendered text, borders and a button has far
// more; a white, black or error-gray page has one or two.
const MinColors = 8

// ArtifactDir returns the folder for t's artifacts and creates it:
// $INVITEKIT_ARTIFACTS/<test name>, else testdata/artifacts/<test name> in
// the test's package (gitignored).
func ArtifactDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("INVITEKIT_ARTIFACTS")
	if root == "" {
		root = filepath.Join("testdata", "artifacts")
	}
	dir := filepath.Join(root, safeName(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("e2e: artifact folder: %v", err)
	}
	return dir
}

// Screenshot takes a full-page PNG of tab, saves it as <name>.png in
// ArtifactDir(t), logs the path, and fails t when the image is blank
// (CheckNotBlank). It returns the path.
func Screenshot(t testing.TB, tab context.Context, name string) string {
	t.Helper()
	buf, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("e2e: screenshot %s: %v", name, err)
	}
	path := filepath.Join(ArtifactDir(t), safeName(name)+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatalf("e2e: save screenshot: %v", err)
	}
	t.Logf("screenshot %s", path)
	if err := CheckNotBlank(buf, MinColors); err != nil {
		t.Errorf("screenshot %s: %v", path, err)
	}
	return path
}

// CheckNotBlank decodes a PNG and returns an error unless it has at least
// minColors distinct colors.
func CheckNotBlank(pngData []byte, minColors int) error {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return fmt.Errorf("e2e: not a PNG: %w", err)
	}
	n := distinctColors(img, minColors)
	if n < minColors {
		return fmt.Errorf("%w: %d distinct colors, want at least %d", ErrBlank, n, minColors)
	}
	return nil
}

// ErrBlank is returned by CheckNotBlank for an image with too few colors.
var ErrBlank = errors.New("e2e: the image looks blank")

// distinctColors counts the image's colors, stopping at limit.
func distinctColors(img image.Image, limit int) int {
	seen := map[[4]uint32]struct{}{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = struct{}{}
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// safeName makes s usable as one path element.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
