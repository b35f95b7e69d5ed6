package app

import (
	"net/url"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/config"
)

// TestNewRedisClientKinds checks that a --sessions URL picks a single
// server, Sentinel or Cluster client by its parameters.
func TestNewRedisClientKinds(t *testing.T) {
	tests := []struct {
		url  string
		want string
	}{
		{"redis://127.0.0.1:6379/0", "single"},
		{"redis://user:pw@10.0.0.1:26379/0?master_name=mymaster&addr=10.0.0.2:26379", "sentinel"},
		{"redis://10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000", "cluster"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		c, err := newRedisClient(tt.url, u.Query())
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		var got string
		switch rc := c.(type) {
		case *redis.Client:
			// NewFailoverClient returns a *redis.Client too, whose Addr
			// go-redis sets to "FailoverClient".
			got = "single"
			if rc.Options().Addr == "FailoverClient" {
				got = "sentinel"
			}
		case *redis.ClusterClient:
			got = "cluster"
		}
		c.Close()
		if got != tt.want {
			t.Errorf("%s: %T, want %s", tt.url, c, tt.want)
		}
	}
	if _, err := newRedisClient("redis://h:1?addr=h2:1&bogus=1", url.Values{"addr": {"h2:1"}, "bogus": {"1"}}); err == nil {
		t.Error("an unknown cluster parameter was accepted")
	}
}

// TestRedactRedisURL checks that error messages hide both the user
// info's password and a Sentinel URL's master password.
func TestRedactRedisURL(t *testing.T) {
	u, err := url.Parse("redis://user:sentinelpw@10.0.0.1:26379/0?master_name=m&password=masterpw")
	if err != nil {
		t.Fatal(err)
	}
	got := config.RedactURL(u.String())
	if strings.Contains(got, "sentinelpw") || strings.Contains(got, "masterpw") || !strings.Contains(got, "master_name=m") {
		t.Errorf("RedactURL = %s", got)
	}
	if u.Query().Get("password") != "masterpw" {
		t.Error("RedactURL changed its argument")
	}
}

// TestRedisWaitParams checks the wait_replicas and wait_timeout
// parameters of a --sessions URL.
func TestRedisWaitParams(t *testing.T) {
	for _, tt := range []struct {
		query   string
		n       int
		d       string
		wantErr bool
	}{
		{"", 0, "0s", false},
		{"wait_replicas=1", 1, "0s", false},
		{"wait_replicas=2&wait_timeout=250ms", 2, "250ms", false},
		{"wait_replicas=-1", 0, "", true},
		{"wait_replicas=x", 0, "", true},
		{"wait_replicas=17", 0, "", true},
		{"wait_timeout=0s", 0, "", true},
		{"wait_timeout=2m", 0, "", true},
	} {
		q, _ := url.ParseQuery(tt.query)
		n, d, err := redisWaitParams(q)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, want error %v", tt.query, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && (n != tt.n || d.String() != tt.d) {
			t.Errorf("%q = %d, %v; want %d, %s", tt.query, n, d, tt.n, tt.d)
		}
	}
}

// TestRedisWaitReplicasNotOnCluster checks that wait_replicas with a
// Cluster URL is refused before any connection.
func TestRedisWaitReplicasNotOnCluster(t *testing.T) {
	_, err := openRedis(t.Context(), "redis://127.0.0.1:1?addr=127.0.0.1:2&wait_replicas=1")
	if err == nil || !strings.Contains(err.Error(), "not supported with Redis Cluster") {
		t.Fatalf("openRedis = %v, want wait_replicas refused", err)
	}
}
