-- Fewer pages written per new ticket. Only tickets linked to Jira have these keys, yet
-- every ticket had an entry (a null) in both indexes.
drop index tickets_jira_issue;
create unique index tickets_jira_issue on tickets (jira_issue_id) where jira_issue_id is not null;
drop index tickets_filed_key;
create index tickets_filed_key on tickets (filed_key) where filed_key is not null;

-- Only effects that a later one may be folded into have a coalesce key; the others no
-- longer have an entry (a null) here.
drop index outbox_coalesce;
create unique index outbox_coalesce on outbox (coalesce_key)
    where state = 'pending' and not started and coalesce_key is not null;

-- Finished rows are purged by id (see the store's purge): every commit that finished a
-- row wrote these indexes too.
drop index inbox_finished;
drop index outbox_finished;
