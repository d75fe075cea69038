//! The ticket-store boundary: where a project's tickets are authoritative, and who gives
//! a new ticket its key.
//!
//! deskhand's database always keeps every ticket (a full mirror, the links to Slack
//! messages, the inbox and outbox). A project's ticket store decides what its new tickets
//! are called and where they live:
//! - [`BuiltIn`] (the database is the ticket store) numbers them per project and mints
//!   `KEY-n` inside the worker's transaction, so the thread reply that names the key goes
//!   out with the change that filed it.
//! - [`ServiceDesk`] (a Jira Service Management project) writes the mirror row with a
//!   filing key; the worker adds the outbox effect that raises the request in Jira, and
//!   Jira's issue key becomes the ticket's key when the dispatcher records Jira's answer,
//!   which refreshes the thread reply and the card that show it.

use std::collections::HashMap;
use std::future::Future;

use crate::desk::jira::filing_key;
use crate::desk::requests::ticket_key;
use crate::store::{NumberedTicket, Store, StoreError, TicketRecord, Tx};

/// Where a project's new tickets are filed.
pub trait TicketStore {
    /// File `tickets` in the change's transaction, giving each its key; what was stored.
    fn file(
        &self,
        tx: &mut Tx,
        tickets: &mut [NumberedTicket<'_>],
    ) -> impl Future<Output = Result<Vec<TicketRecord>, StoreError>> + Send;
}

/// The database as the ticket store: `IT-1`, `IT-2`, … per project, in filing order.
pub struct BuiltIn;

impl TicketStore for BuiltIn {
    async fn file(&self, tx: &mut Tx, tickets: &mut [NumberedTicket<'_>]) -> Result<Vec<TicketRecord>, StoreError> {
        numbered(tx, tickets, ticket_key).await
    }
}

/// A Jira Service Management service desk: the mirror row, called `IT-D1`, `IT-D2`, …
/// while it is filed, and marked as filing; the worker's `JiraCreate` effect raises it,
/// and Jira's key replaces that one when it is.
pub struct ServiceDesk;

impl TicketStore for ServiceDesk {
    async fn file(&self, tx: &mut Tx, tickets: &mut [NumberedTicket<'_>]) -> Result<Vec<TicketRecord>, StoreError> {
        let mut stored = numbered(tx, tickets, filing_key).await?;
        let ids: Vec<i64> = stored.iter().map(|t| t.id).collect();
        Store::mark_filing(tx, &ids).await?;
        for ticket in &mut stored {
            ticket.jira_state = Some("filing".into());
        }
        Ok(stored)
    }
}

/// Number `tickets` per project in filing order, name each with `key`, and store them.
async fn numbered(
    tx: &mut Tx,
    tickets: &mut [NumberedTicket<'_>],
    key: fn(&str, i64) -> String,
) -> Result<Vec<TicketRecord>, StoreError> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let mut next: HashMap<String, i64> = HashMap::new();
    for ticket in tickets.iter() {
        *next.entry(ticket.project_key.to_owned()).or_default() += 1;
    }
    for (project, count) in next.iter_mut() {
        *count = Store::allocate_numbers(tx, project, *count).await?;
    }
    for ticket in tickets.iter_mut() {
        let number = next.get_mut(ticket.project_key).expect("allocated above");
        ticket.number = *number;
        ticket.key = key(ticket.project_key, *number);
        *number += 1;
    }
    Store::insert_tickets(tx, tickets).await
}
