package redistest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
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

// SentinelSetup is a Redis master, its replicas and three sentinels that
// a test started on loopback ports.
type SentinelSetup struct {
	// MasterName is the name the sentinels monitor the master under.
	MasterName string
	Master     *ClusterNode
	Replicas   []*ClusterNode
	Sentinels  []*ClusterNode
}

// SentinelAddrs returns the sentinels' addresses.
func (s *SentinelSetup) SentinelAddrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i, n := range s.Sentinels {
		addrs[i] = n.Addr
	}
	return addrs
}

// Sentinel starts a master, replicas replicas of it and three sentinels
// (quorum two) that declare the master down after downAfter without an
// answer, and waits until every sentinel knows the replicas and the other
// sentinels; everything is killed when t ends. It skips t if redis-server
// is not installed, or fails t under CI=true.
func Sentinel(t testing.TB, replicas int, downAfter time.Duration) *SentinelSetup {
	t.Helper()
	const name = "gatehouse-test"
	master := Servers(t, 1, "--repl-diskless-sync-delay", "0")[0]
	host, port, _ := net.SplitHostPort(master.Addr)
	s := &SentinelSetup{MasterName: name, Master: master, Replicas: Servers(t, replicas, "--replicaof", host, port)}
	bin := binary(t, "redis-server")
	dir := t.TempDir()
	for i := range 3 {
		sp := freePort(t)
		conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor %s %s %s 2\n"+
			"sentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s 10000\n"+
			"sentinel parallel-syncs %s 1\n",
			sp, dir, name, host, port, name, downAfter.Milliseconds(), name, name)
		path := fmt.Sprintf("%s/sentinel-%d.conf", dir, i)
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, path, "--sentinel")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("redistest: start sentinel: %v", err)
		}
		node := &ClusterNode{Addr: "127.0.0.1:" + strconv.Itoa(sp), cmd: cmd}
		t.Cleanup(node.Kill)
		s.Sentinels = append(s.Sentinels, node)
		if err := waitPing(node.Addr, 10*time.Second); err != nil {
			t.Fatalf("redistest: sentinel on %s: %v\n%s", node.Addr, err, out.String())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The replicas must be in sync, not still loading their first copy.
	mc := redis.NewClient(&redis.Options{Addr: master.Addr})
	defer mc.Close()
	for {
		info, err := mc.Info(ctx, "replication").Result()
		if err == nil && strings.Count(info, "state=online") >= replicas {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: replicas not online: %v %s", err, info)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, sn := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr})
		for {
			r, err1 := c.Replicas(ctx, name).Result()
			o, err2 := c.Sentinels(ctx, name).Result()
			if err1 == nil && err2 == nil && len(r) >= replicas && len(o) >= 2 {
				break
			}
			select {
			case <-ctx.Done():
				c.Close()
				t.Fatalf("redistest: sentinel %s knows %d replicas and %d sentinels (%v, %v)", sn.Addr, len(r), len(o), err1, err2)
			case <-time.After(50 * time.Millisecond):
			}
		}
		c.Close()
	}
	return s
}
