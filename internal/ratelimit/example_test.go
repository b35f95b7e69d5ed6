package ratelimit_test

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// A login handler holds one limiter per kind of key, checks both before
// the password, and records failures on both.
func Example() {
	ctx := context.Background()
	// A stopped clock keeps the output stable; a server leaves Now nil.
	cfg := ratelimit.MemoryConfig{Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }}
	accounts, _ := ratelimit.NewMemory(ratelimit.DefaultAccountLimit(), cfg)
	ips, _ := ratelimit.NewMemory(ratelimit.DefaultIPLimit(), cfg)

	login := func(email, ip, pw string) string {
		accountKey, ipKey := "account:"+email, "ip:"+ip
		a, err := accounts.Allow(ctx, accountKey)
		if err != nil {
			return "500"
		}
		b, err := ips.Allow(ctx, ipKey)
		if err != nil {
			return "500"
		}
		if !a.Allowed || !b.Allowed {
			wait := max(a.RetryAfter, b.RetryAfter)
			return fmt.Sprintf("429, Retry-After: %d", int(math.Ceil(wait.Seconds())))
		}
		if pw != "correct horse battery staple" { // the password check
			_, _ = accounts.Fail(ctx, accountKey)
			_, _ = ips.Fail(ctx, ipKey)
			return "401"
		}
		_ = accounts.Reset(ctx, accountKey)
		return "200"
	}

	for range 10 {
		login("alice@example.com", "192.0.2.1", "guess")
	}
	fmt.Println(login("alice@example.com", "192.0.2.1", "correct horse battery staple"))
	fmt.Println(login("bob@example.com", "192.0.2.1", "correct horse battery staple"))
	// Output:
	// 429, Retry-After: 90
	// 200
}

// Memory takes its clock from MemoryConfig.Now, so tests never sleep.
func ExampleMemory() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := ratelimit.NewMemory(
		ratelimit.Limit{Max: 3, Window: 3 * time.Minute},
		ratelimit.MemoryConfig{Now: func() time.Time { return now }},
	)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for range 3 {
		d, _ := m.Fail(ctx, "account:alice@example.com")
		fmt.Printf("%+v\n", d)
	}
	now = now.Add(time.Minute)
	d, _ := m.Allow(ctx, "account:alice@example.com")
	fmt.Printf("%+v\n", d)
	// Output:
	// {Allowed:true RetryAfter:0s}
	// {Allowed:true RetryAfter:0s}
	// {Allowed:false RetryAfter:1m0s}
	// {Allowed:true RetryAfter:0s}
}
