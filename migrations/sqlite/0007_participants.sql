-- The people besides the requester who follow one ticket: Slack members, or customers
-- known by email (who answer by replying to deskhand's mail: its reply address carries
-- the participant's token).
create table ticket_participants (
    id            integer primary key,
    ticket_id     bigint not null references tickets (id),
    slack_user_id text,
    customer_id   bigint references customers (id),
    reply_token   text not null unique,
    added_by      text not null,
    added_at      bigint not null,
    check ((slack_user_id is null) <> (customer_id is null))
);
create unique index ticket_participants_slack on ticket_participants (ticket_id, slack_user_id)
    where slack_user_id is not null;
create unique index ticket_participants_customer on ticket_participants (ticket_id, customer_id)
    where customer_id is not null;
