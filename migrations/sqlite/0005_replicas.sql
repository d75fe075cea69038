-- Each PostgreSQL replica says every second that it is alive; the claims of one that
-- falls silent are taken over by the others within seconds, not after the lease.
create table replicas (
    id text primary key,
    seen_at bigint not null
);
alter table inbox add column claimed_by text;
alter table outbox add column claimed_by text;
