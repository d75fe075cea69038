-- Fewer pages written per new ticket. Only tickets linked to Jira have these keys, yet
-- every ticket had an entry (a null) in both indexes, and every commit that filed one
-- wrote both indexes' pages to the log.
drop index tickets_jira_issue;
create unique index tickets_jira_issue on tickets (jira_issue_id) where jira_issue_id is not null;
drop index tickets_filed_key;
create index tickets_filed_key on tickets (filed_key) where filed_key is not null;

-- The posts of a ticket, kept in their primary key's order alone: a table with a rowid
-- wrote three b-trees per post (rows, primary key, channel and ts), this one two.
create table ticket_messages_keyed (
    ticket_id  bigint not null references tickets (id),
    role       text not null check (role in ('thread_reply', 'agent_card')),
    channel_id text not null,
    ts         text not null,
    primary key (ticket_id, role),
    unique (channel_id, ts)
) without rowid;
insert into ticket_messages_keyed (ticket_id, role, channel_id, ts)
    select ticket_id, role, channel_id, ts from ticket_messages;
drop table ticket_messages;
alter table ticket_messages_keyed rename to ticket_messages;

-- Only effects that a later one may be folded into have a coalesce key; the others no
-- longer have an entry (a null) here.
drop index outbox_coalesce;
create unique index outbox_coalesce on outbox (coalesce_key)
    where state = 'pending' and not started and coalesce_key is not null;

-- Finished rows are purged by id (see the store's purge): every commit that finished a
-- row wrote these indexes too.
drop index inbox_finished;
drop index outbox_finished;
