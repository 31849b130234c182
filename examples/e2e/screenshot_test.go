package e2e

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func encode(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheckNotBlank(t *testing.T) {
	white := image.NewRGBA(image.Rect(0, 0, 40, 40))
	for i := range white.Pix {
		white.Pix[i] = 0xff
	}
	twoTone := image.NewRGBA(image.Rect(0, 0, 40, 40))
	for y := range 40 {
		for x := range 40 {
			c := color.RGBA{255, 255, 255, 255}
			if x < 20 {
				c = color.RGBA{0, 0, 0, 255}
			}
			twoTone.Set(x, y, c)
		}
	}
	gradient := image.NewRGBA(image.Rect(0, 0, 40, 40))
	for y := range 40 {
		for x := range 40 {
			gradient.Set(x, y, color.RGBA{uint8(x * 6), uint8(y * 6), 128, 255})
		}
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr error // nil: no error; errAny: any error
	}{
		{"white page", encode(t, white), ErrBlank},
		{"two colors", encode(t, twoTone), ErrBlank},
		{"rendered page", encode(t, gradient), nil},
		{"not a png", []byte("<html>"), errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNotBlank(tt.data, MinColors)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("CheckNotBlank: %v, want nil", err)
			case tt.wantErr == errAny && err == nil:
				t.Fatal("CheckNotBlank: nil, want an error")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("CheckNotBlank: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestSafeName(t *testing.T) {
	if got := safeName("TestQuickstart/admin adds Ann"); got != "TestQuickstart_admin_adds_Ann" {
		t.Fatalf("safeName = %q", got)
	}
}
