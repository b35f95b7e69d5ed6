package redistest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterNode is one redis-server process a test started.
type ClusterNode struct {
	// Addr is its loopback address, host:port.
	Addr string
	cmd  *exec.Cmd
}

// Kill stops the process at once (SIGKILL), as a crash would. It is safe
// to call more than once.
func (n *ClusterNode) Kill() {
	if n.cmd.Process != nil {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
	}
}

// Servers starts n redis-server processes on free loopback ports with the
// extra arguments args, in a temporary directory, and kills them when t
// ends. Nothing is saved to disk. It skips t, saying why, if
// redis-server is not installed, or fails t under CI=true. It never
// touches the shared server of URL.
func Servers(t testing.TB, n int, args ...string) []*ClusterNode {
	t.Helper()
	bin := binary(t, "redis-server")
	dir := t.TempDir()
	nodes := make([]*ClusterNode, 0, n)
	for range n {
		port := freePort(t)
		a := append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", port),
		}, args...)
		cmd := exec.Command(bin, a...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("redistest: start redis-server: %v", err)
		}
		node := &ClusterNode{Addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
		t.Cleanup(node.Kill)
		nodes = append(nodes, node)
		if err := waitPing(node.Addr, 10*time.Second); err != nil {
			t.Fatalf("redistest: redis-server on %s: %v\n%s", node.Addr, err, out.String())
		}
	}
	return nodes
}

// Cluster starts a Redis Cluster of masters masters (no replicas) on
// loopback ports, waits until every node serves all 16,384 slots, and
// returns a client of it and its nodes; everything is killed when t ends.
// It skips t, saying why, if redis-server or redis-cli is not installed,
// or fails t under CI=true. Starting three masters takes about a second.
func Cluster(t testing.TB, masters int) (*redis.ClusterClient, []*ClusterNode) {
	t.Helper()
	cli := binary(t, "redis-cli")
	nodes := Servers(t, masters, "--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
	args := []string{"--cluster", "create"}
	for _, n := range nodes {
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, n := range nodes {
		if err := waitClusterOK(ctx, n.Addr); err != nil {
			t.Fatalf("redistest: cluster node %s: %v", n.Addr, err)
		}
	}
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.Addr
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { c.Close() })
	if err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() }); err != nil {
		t.Fatalf("redistest: cluster client: %v", err)
	}
	return c, nodes
}

// binary returns the path of an installed program, or skips (fails under
// CI=true) t.
func binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if InCI() {
			t.Fatalf("redistest: %s is not installed (CI=true: it is required): %v", name, err)
		}
		t.Skipf("redistest: SKIPPING: %s is not installed (%v). Install Redis 7 (apt-get install redis-server) to run this test; under CI=true it fails instead.", name, err)
	}
	return p
}

// freePort returns a loopback port that is free, and whose Cluster bus
// port (port + 10000) is free too.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(30000)
		if !portFree(port) || !portFree(port+10000) {
			continue
		}
		return port
	}
	t.Fatal("redistest: no free loopback port")
	return 0
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// waitPing waits until the server at addr answers PING.
func waitPing(addr string, d time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitClusterOK waits until the node at addr reports cluster_state:ok with
// every slot assigned, and knows every other node.
func waitClusterOK(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_ok:16384") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ok: %v %v", err, info)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
