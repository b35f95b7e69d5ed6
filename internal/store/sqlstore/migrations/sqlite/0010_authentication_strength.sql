-- Authentication strength on the record (issue #14): how and when the user
-- of each session and grant authenticated, carried by authorization codes
-- to the grants they create, and whether an administrator requires a
-- second factor of a user (package store: Session.AuthMethods,
-- Session.EnrolmentOnly, AuthCode.AuthMethods, User.MFARequired).
--
-- auth_methods are RFC 8176 amr values separated by single spaces
-- ("pwd otp"), '' when unknown (records stored before this version).
-- Booleans are INTEGER 0 or 1.

ALTER TABLE sessions ADD COLUMN auth_methods TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN enrolment_only INTEGER NOT NULL DEFAULT 0 CHECK (enrolment_only IN (0, 1));
ALTER TABLE auth_codes ADD COLUMN auth_methods TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0 CHECK (mfa_required IN (0, 1));
