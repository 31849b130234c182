package mailer

import (
	"testing"
	"time"
)

func TestGermanMonthDate(t *testing.T) {
	want := []string{"Januar", "Februar", "März", "April", "Mai", "Juni",
		"Juli", "August", "September", "Oktober", "November", "Dezember"}
	for i, name := range want {
		d := time.Date(2026, time.Month(i+1), 9, 12, 0, 0, 0, time.UTC)
		if got, exp := germanMonthDate(d), "9. "+name+" 2026"; got != exp {
			t.Errorf("germanMonthDate(%s) = %q, want %q", d.Format("2006-01-02"), got, exp)
		}
	}
}
