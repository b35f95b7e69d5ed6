-- TEMPORARY placeholder on branch hooks for a number another branch owns;
-- deleted when that branch is merged.
SELECT 1;
