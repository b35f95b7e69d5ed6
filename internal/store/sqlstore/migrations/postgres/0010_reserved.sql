-- Placeholder: version 10 is reserved for a branch merged in parallel
-- (issue #17 assigned 0011 to the audit trail). Migration versions run
-- without gaps, so this file keeps 0011 applicable until that branch's
-- 0010 lands; the merge then replaces this file with it.
SELECT 1;
