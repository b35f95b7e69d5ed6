// Package redisstore keeps session records (store.SessionStore) in Redis,
// so that several Gatehouse instances behind a load balancer share them
// while users, keys and grants stay in the SQL database.
//
// The store takes a ready redis.UniversalClient: a single server, a
// Sentinel-managed failover client or a Cluster client. Every key of one
// store carries the same hash tag ({sessions}), so a Cluster keeps them in
// one slot and each operation is one atomic Lua script (or one plain
// command) on one node. Redis expires records by itself, at the earlier of
// their two timeouts; the indexes that point at records expire no earlier
// than the last record they list, so nothing outlives its sessions. See
// "Redis session store" in docs/decisions.md for the key layout and the
// costs.
//
// Package redistest connects tests to a Redis server and gives each its
// own key prefix.
package redisstore
