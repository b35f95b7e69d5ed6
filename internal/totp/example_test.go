package totp_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/totp"
)

// The caller keeps the step Validate returns and passes it back, so a
// code is accepted once.
func ExampleValidate() {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	code, _ := totp.GenerateCode(secret, now) // what the user's app shows

	lastUsed := int64(0) // from the store: the factor's LastUsedStep
	step, err := totp.Validate(secret, code, now, lastUsed)
	fmt.Println(code, step, err)

	_, err = totp.Validate(secret, code, now.Add(10*time.Second), step)
	fmt.Println(errors.Is(err, totp.ErrReplayed))
	// Output:
	// 050471 37037037 <nil>
	// true
}
