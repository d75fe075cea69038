-- How many rows of a queue are pending swings from none (when the statistics were last
-- taken at a quiet moment) to tens of thousands (in a burst). Statistics that say "none"
-- make the planner think every scan of the pending indexes is free: it then checks each
-- candidate against every earlier pending row instead of probing `outbox_order`, and
-- joins a claim's picks to the table row by row (a claim of 128 effects took 118 ms).
-- Without statistics on `state`, it takes a fixed, moderate share of the rows as pending,
-- and the claims keep the plans they were written for. Changing the column's type to
-- itself drops the statistics taken so far.
alter table inbox alter column state set statistics 0;
alter table inbox alter column state type text;
alter table outbox alter column state set statistics 0;
alter table outbox alter column state type text;
