-- Leases for background jobs that run on one instance at a time
-- (package store: LeaseStore). Times are INTEGER unix milliseconds.

CREATE TABLE job_leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
