package authcontext

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func TestAMRAndACR(t *testing.T) {
	cases := []struct {
		name    string
		methods []Method
		amr     []string
		acr     string
	}{
		{"none", nil, nil, ""},
		{"password", []Method{Password}, []string{"pwd"}, ACROneFactor},
		{"password and TOTP", []Method{Password, OTP}, []string{"pwd", "otp", "mfa"}, ACRMultiFactor},
		{"password and passkey", []Method{Password, HardwareKey}, []string{"pwd", "hwk", "mfa"}, ACRMultiFactor},
		{"passkey with UV", []Method{SoftwareKey, UserVerified}, []string{"swk", "user", "mfa"}, ACRMultiFactor},
		{"passkey without UV", []Method{HardwareKey}, []string{"hwk"}, ACROneFactor},
		{"two possession factors", []Method{HardwareKey, OTP}, []string{"hwk", "otp"}, ACROneFactor},
		{"mfa given is dropped", []Method{Password, MFA}, []string{"pwd"}, ACROneFactor},
		{"duplicates are dropped", []Method{Password, Password, OTP, OTP}, []string{"pwd", "otp", "mfa"}, ACRMultiFactor},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := New(t0, c.methods...)
			if got := a.AMR(); !slices.Equal(got, c.amr) {
				t.Errorf("AMR = %q, want %q", got, c.amr)
			}
			if got := a.ACR(); got != c.acr {
				t.Errorf("ACR = %q, want %q", got, c.acr)
			}
			if got, want := a.Has(MFA), c.acr == ACRMultiFactor; got != want {
				t.Errorf("Has(MFA) = %v, want %v", got, want)
			}
		})
	}
}

func TestWith(t *testing.T) {
	a := New(t0, Password)
	b := a.With(t0.Add(time.Minute), OTP)
	if !slices.Equal(a.AMR(), []string{"pwd"}) || !a.Time.Equal(t0) {
		t.Errorf("With changed the original: %+v", a)
	}
	if !slices.Equal(b.AMR(), []string{"pwd", "otp", "mfa"}) || !b.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("With = %+v", b)
	}
}

func TestSatisfies(t *testing.T) {
	one := New(t0, Password)
	two := New(t0, Password, OTP)
	cases := []struct {
		name      string
		a         Authentication
		requested []string
		want      string
		ok        bool
	}{
		{"nothing requested, one factor", one, nil, ACROneFactor, true},
		{"nothing requested, mfa", two, nil, ACRMultiFactor, true},
		{"mfa requested, one factor", one, []string{ACRMultiFactor}, "", false},
		{"mfa requested, mfa", two, []string{ACRMultiFactor}, ACRMultiFactor, true},
		{"1fa requested, mfa", two, []string{ACROneFactor}, ACROneFactor, true},
		{"mfa preferred, 1fa accepted", one, []string{ACRMultiFactor, ACROneFactor}, ACROneFactor, true},
		{"unknown values only", one, []string{"urn:other:gold"}, ACROneFactor, true},
		{"unknown then mfa", one, []string{"urn:other:gold", ACRMultiFactor}, "", false},
		{"not authenticated", Authentication{}, nil, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := c.a.Satisfies(c.requested)
			if got != c.want || ok != c.ok {
				t.Errorf("Satisfies(%q) = %q, %v; want %q, %v", c.requested, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestRecent(t *testing.T) {
	a := New(t0, Password)
	cases := []struct {
		name   string
		now    time.Time
		window time.Duration
		want   bool
	}{
		{"just now", t0, 0, true},
		{"inside default window", t0.Add(DefaultStepUpWindow - time.Second), 0, true},
		{"at the default window", t0.Add(DefaultStepUpWindow), 0, false},
		{"custom window", t0.Add(2 * time.Minute), time.Minute, false},
		{"slightly in the future", t0.Add(-30 * time.Second), 0, true},
		{"far in the future", t0.Add(-2 * time.Minute), 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := a.Recent(c.now, c.window); got != c.want {
				t.Errorf("Recent = %v, want %v", got, c.want)
			}
		})
	}
	if (Authentication{}).Recent(t0, 0) {
		t.Error("the zero Authentication is recent")
	}
}

func TestMaxAgeExceeded(t *testing.T) {
	a := New(t0, Password)
	cases := []struct {
		name   string
		now    time.Time
		maxAge int64
		want   bool
	}{
		{"no max_age", t0.Add(time.Hour), -1, false},
		{"max_age=0", t0, 0, true},
		{"within", t0.Add(59 * time.Second), 60, false},
		{"at", t0.Add(60 * time.Second), 60, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := a.MaxAgeExceeded(c.now, c.maxAge); got != c.want {
				t.Errorf("MaxAgeExceeded = %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseAMR(t *testing.T) {
	a := ParseAMR([]string{"pwd", "mfa", "sms", "otp"}, t0)
	if got := a.AMR(); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Errorf("ParseAMR AMR = %q", got)
	}
	forged := ParseAMR([]string{"pwd", "mfa"}, t0)
	if forged.MultiFactor() {
		t.Error(`["pwd","mfa"] parses as multi-factor`)
	}
}

// TestSingleMethodListsShared checks the lists shared by the
// authentications of one method: parsing one allocates nothing, and
// extending or appending to one never changes what the next parse gives.
func TestSingleMethodListsShared(t *testing.T) {
	for _, m := range []Method{Password, OTP, HardwareKey, SoftwareKey, UserVerified} {
		amr := []string{string(m)}
		if n := testing.AllocsPerRun(100, func() { _ = ParseAMR(amr, t0).AMR() }); n != 0 {
			t.Errorf("ParseAMR(%q).AMR() allocates %v times", amr, n)
		}
		a := ParseAMR(amr, t0)
		if a.MultiFactor() || !slices.Equal(a.AMR(), amr) {
			t.Errorf("ParseAMR(%q) = %+v, AMR %q", amr, a, a.AMR())
		}
		other := Password
		if m == Password {
			other = OTP
		}
		_ = a.With(t0, other)
		_ = append(a.AMR(), "x")
		_ = append(a.Methods, other)
		if again := ParseAMR(amr, t0); !slices.Equal(again.Methods, []Method{m}) || !slices.Equal(again.AMR(), amr) {
			t.Errorf("after extending, ParseAMR(%q) = %+v", amr, again)
		}
	}
	if a := ParseAMR([]string{"mfa"}, t0); len(a.Methods) != 0 {
		t.Errorf(`ParseAMR(["mfa"]) = %+v, want no methods`, a)
	}
}

func TestKnownValue(t *testing.T) {
	for _, k := range append(ACRValuesSupported(), "pwd", "otp", "hwk", "swk", "user", "mfa") {
		if got, ok := KnownValue([]byte(k)); !ok || got != k {
			t.Errorf("KnownValue(%q) = %q, %v", k, got, ok)
		}
	}
	for _, v := range []string{"", "pw", "pwdx", "sms", "urn:gatehouse:acr:2fa"} {
		if got, ok := KnownValue([]byte(v)); ok {
			t.Errorf("KnownValue(%q) = %q, want none", v, got)
		}
	}
}

func FuzzParseAMR(f *testing.F) {
	f.Add("pwd", "otp", "mfa")
	f.Fuzz(func(t *testing.T, x, y, z string) {
		a := ParseAMR([]string{x, y, z}, t0)
		back := ParseAMR(a.AMR(), t0)
		if !slices.Equal(back.AMR(), a.AMR()) {
			t.Fatalf("AMR does not round-trip: %q → %q", a.AMR(), back.AMR())
		}
		if a.MultiFactor() != slices.Contains(a.AMR(), "mfa") {
			t.Fatalf("mfa in AMR %q disagrees with MultiFactor", a.AMR())
		}
	})
}

func TestACRValuesSupported(t *testing.T) {
	got := ACRValuesSupported()
	for _, m := range [][]Method{{Password}, {Password, OTP}} {
		if acr := New(t0, m...).ACR(); !slices.Contains(got, acr) {
			t.Errorf("ACR %q of %q is not in ACRValuesSupported %q", acr, m, got)
		}
	}
	got[0] = "changed"
	if ACRValuesSupported()[0] != ACROneFactor {
		t.Error("ACRValuesSupported shares its slice")
	}
}
