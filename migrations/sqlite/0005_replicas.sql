-- Each PostgreSQL replica says every second that it is alive; the claims of one that
-- falls silent are taken over by the others within seconds, not after the lease.
create table replicas (
    id text primary key,
    seen_at bigint not null
);
alter table inbox add column claimed_by text;
alter table outbox add column claimed_by text;

-- The posting pace per Slack channel, shared by every replica (PostgreSQL): the time at
-- which the channel's budget is next whole again (GCRA's theoretical arrival time).
create table channel_pace (
    channel_id text primary key,
    tat_us bigint not null
);
