package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/config"
)

// TestWarnKeyTimings: the start-up warnings for key settings that undo
// the publish-before-sign rollover, and none for the defaults.
func TestWarnKeyTimings(t *testing.T) {
	for _, tt := range []struct {
		name             string
		publish, rotate  time.Duration
		wantPub, wantRot bool
	}{
		{"defaults", 20 * time.Minute, 720 * time.Hour, false, false},
		{"publish off (emergency setups)", 0, 720 * time.Hour, false, false},
		{"publish below the JWKS cache", time.Minute, 720 * time.Hour, true, false},
		{"rotation below the publish delay", 20 * time.Minute, 10 * time.Minute, false, true},
		{"rotation off", 20 * time.Minute, 0, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			warnKeyTimings(context.Background(), log, config.Config{KeyPublishDelay: tt.publish, KeyRotationInterval: tt.rotate})
			out := buf.String()
			if got := strings.Contains(out, "shorter than the JWKS cache lifetime"); got != tt.wantPub {
				t.Errorf("publish-delay warning %v, want %v:\n%s", got, tt.wantPub, out)
			}
			if got := strings.Contains(out, "rotate back to back"); got != tt.wantRot {
				t.Errorf("rotation warning %v, want %v:\n%s", got, tt.wantRot, out)
			}
		})
	}
}
