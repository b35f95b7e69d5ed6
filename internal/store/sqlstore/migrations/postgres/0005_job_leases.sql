-- Leases for background jobs that run on one instance at a time
-- (package store: LeaseStore). Times are bigint unix milliseconds.

CREATE TABLE job_leases (
    name       text   NOT NULL PRIMARY KEY,
    holder     text   NOT NULL,
    expires_at bigint NOT NULL
);
