-- Authentication strength on the record (issue #14): how and when the user
-- of each session and grant authenticated, carried by authorization codes
-- to the grants they create, and whether an administrator requires a
-- second factor of a user (package store: Session.AuthMethods,
-- Session.EnrolmentOnly, AuthCode.AuthMethods, User.MFARequired).
--
-- Mirrors the SQLite schema of the same version. auth_methods are RFC 8176
-- amr values separated by single spaces ("pwd otp"), '' when unknown
-- (records stored before this version).

ALTER TABLE sessions ADD COLUMN auth_methods text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN enrolment_only boolean NOT NULL DEFAULT false;
ALTER TABLE auth_codes ADD COLUMN auth_methods text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;
