package password_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/internal/password"
)

// cheap returns parameters that keep the examples fast; a server uses the
// zero Config, which means DefaultParams.
func cheap() password.Params {
	return password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func ExampleHasher() {
	ctx := context.Background()
	h, err := password.NewHasher(password.Config{Params: cheap()})
	if err != nil {
		panic(err)
	}

	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		panic(err) // ErrBusy: answer 429 with Retry-After
	}

	ok, needsRehash, err := h.Verify(ctx, "correct horse battery staple", encoded)
	fmt.Println(ok, needsRehash, err)
	ok, needsRehash, err = h.Verify(ctx, "Tr0ub4dor&3", encoded)
	fmt.Println(ok, needsRehash, err)
	// Output:
	// true false <nil>
	// false false <nil>
}

// A login handler verifies against the stored hash, spends the same time
// on unknown accounts, and upgrades hashes made with older parameters.
func ExampleHasher_Verify() {
	ctx := context.Background()
	old, _ := password.NewHasher(password.Config{Params: cheap()})
	stored, _ := old.Hash(ctx, "hunter2")

	stronger := cheap()
	stronger.Time = 2
	h, err := password.NewHasher(password.Config{Params: stronger})
	if err != nil {
		panic(err)
	}

	login := func(pw string, found bool) string {
		if !found {
			if err := h.VerifyDummy(ctx, pw); errors.Is(err, password.ErrBusy) {
				return "429"
			}
			return "401"
		}
		ok, needsRehash, err := h.Verify(ctx, pw, stored)
		switch {
		case errors.Is(err, password.ErrBusy):
			return "429"
		case err != nil:
			return "500"
		case !ok:
			return "401"
		}
		if needsRehash {
			if fresh, err := h.Hash(ctx, pw); err == nil {
				stored = fresh // write it back to the user store
			}
		}
		return "200"
	}

	fmt.Println(login("hunter2", false))
	fmt.Println(login("wrong", true))
	fmt.Println(login("hunter2", true))
	p, _, _, _ := password.ParsePHC(stored)
	fmt.Println("stored time cost:", p.Time)
	// Output:
	// 401
	// 401
	// 200
	// stored time cost: 2
}

func ExampleParsePHC() {
	p, salt, key, err := password.ParsePHC("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	if err != nil {
		panic(err)
	}
	fmt.Printf("m=%d t=%d p=%d salt=%q key=%d bytes\n", p.Memory, p.Time, p.Threads, salt, len(key))

	_, _, _, err = password.ParsePHC("$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	fmt.Println(errors.Is(err, password.ErrMalformedHash))
	// Output:
	// m=65536 t=2 p=1 salt="somesalt" key=32 bytes
	// true
}
