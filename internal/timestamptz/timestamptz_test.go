package timestamptz

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	f := func(s, zone string, want int64) {
		t.Helper()
		got, err := Parse(s, zone)
		if err != nil || got != want {
			t.Fatalf("Parse(%q, %q) = %d, %v; want %d", s, zone, got, err, want)
		}
	}
	const jan1 = 1735689600000000 // 2025-01-01T00:00:00Z
	f("2025-01-01T00:00:00Z", "Asia/Shanghai", jan1)
	f("2025-01-01T08:00:00+08:00", "UTC", jan1)
	f("2025-01-01 08:00:00+08:00", "UTC", jan1)
	f("2025-01-01 08:00:00+08", "UTC", jan1)
	f("2025-01-01 00:00:00Z", "UTC", jan1)
	f("2025-01-01T00:00:00.123456Z", "UTC", jan1+123456)
	f("2025-01-01T00:00:00.1234567Z", "UTC", jan1+123456) // below a microsecond is dropped
	f("2025-01-01T08:00:00", "Asia/Shanghai", jan1)       // naive: the default zone
	f("2025-01-01 00:00:00", "UTC", jan1)
	f("1969-12-31T23:59:59.999999Z", "UTC", -1)

	bad := func(s, zone, msg string) {
		t.Helper()
		_, err := Parse(s, zone)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Fatalf("Parse(%q, %q) error %v, want %q", s, zone, err, msg)
		}
	}
	bad("2025-13-01T00:00:00Z", "UTC", "invalid timestamp string: '2025-13-01T00:00:00Z'. Does not match any known format")
	bad("yesterday", "UTC", "Does not match any known format")
	bad("2025-01-01T00:00:00+15:00", "UTC", "UTC offset hour 15 is out of the valid range [-12, 14]")
	bad("2025-01-01T00:00:00", "Mars/Olympus", "invalid default timezone string 'Mars/Olympus'")
}

func TestFormat(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	f := func(us int64, loc *time.Location, want string) {
		t.Helper()
		if got := Format(us, loc); got != want {
			t.Fatalf("Format(%d) = %q, want %q", us, got, want)
		}
	}
	const jan1 = 1735689600000000
	f(jan1, time.UTC, "2025-01-01T00:00:00Z")
	f(jan1+120000, time.UTC, "2025-01-01T00:00:00.12Z")
	f(jan1+123456, sh, "2025-01-01T08:00:00.123456+08:00")
	f(-1, time.UTC, "1969-12-31T23:59:59.999999Z")
	for _, us := range []int64{0, 1, jan1 + 7, -123456789} {
		if back, err := Parse(Format(us, sh), "UTC"); err != nil || back != us {
			t.Fatalf("round trip %d: %d, %v", us, back, err)
		}
	}
}

func TestParts(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	got, err := Parts(1735689600000000+123456, sh, []string{"year", "MONTH", "day", "hour", "minute", "second", "microsecond"})
	if err != nil || len(got) != 7 || got[0] != 2025 || got[1] != 1 || got[2] != 1 || got[3] != 8 || got[4] != 0 || got[5] != 0 || got[6] != 123456 {
		t.Fatalf("Parts = %v, %v", got, err)
	}
	if _, err := Parts(0, time.UTC, []string{"week"}); err == nil || !strings.Contains(err.Error(), "unsupported field for extraction: week") {
		t.Fatalf("Parts(week) error %v", err)
	}
	if ValidZone("") || ValidZone("Nowhere/Land") || !ValidZone("Europe/Paris") {
		t.Fatal("ValidZone")
	}
}
