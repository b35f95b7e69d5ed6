package authcontext_test

import (
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/authcontext"
)

func ExampleAuthentication_AMR() {
	login := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	a := authcontext.New(login, authcontext.Password)
	fmt.Println(a.AMR(), a.ACR())

	// The second factor, a minute later.
	a = a.With(login.Add(time.Minute), authcontext.OTP)
	fmt.Println(a.AMR(), a.ACR())

	// Step-up: recent enough for a sensitive action?
	fmt.Println(a.Recent(login.Add(5*time.Minute), 0), a.Recent(login.Add(time.Hour), 0))
	// Output:
	// [pwd] urn:gatehouse:acr:1fa
	// [pwd otp mfa] urn:gatehouse:acr:mfa
	// true false
}
