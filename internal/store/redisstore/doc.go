// Package redisstore keeps session records (store.SessionStore) in Redis,
// so that several Gatehouse instances behind a load balancer share them
// while users, keys and grants stay in the SQL database.
//
// The store takes a ready redis.UniversalClient: a single server, a
// Sentinel-managed failover client or a Cluster client. Each user's
// records, and the indexes that list them, share one of Routes hash tags
// (SessionRoute), so a Cluster spreads users over its masters while each
// operation, user-wide ones included, is one atomic Lua script (or one
// plain command) on one slot. Record ids and cookie values start with the
// route (see session.Router), so the cookie check is one HGETALL. Records
// whose id has no route, those of earlier versions among them, live under
// the one tag {sessions} and are still read, listed and revoked. Redis
// expires records by itself, at the earlier of their two timeouts; the
// indexes that point at records expire no earlier than the last record
// they list, so nothing outlives its sessions. See lua/common.lua for the
// key layout, and "Redis session store" and "Redis sessions that spread
// over a Cluster" in docs/decisions.md for the costs.
//
// Package redistest connects tests to a Redis server and gives each its
// own key prefix; it also starts Redis Clusters and Sentinel setups of
// their own on loopback ports.
package redisstore
