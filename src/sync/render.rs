//! How the dispatcher renders a ticket's messages (the thread reply, the agent card) and
//! a person's Home tab, from the state of the moment: the ticket, its project's workflow
//! and message fields, its approval and its latest rating.

use super::dispatcher::{Dispatcher, Outcome};
use crate::desk::effects::THREAD_REPLY;
use crate::desk::rules::{self, RequestThread};
use crate::slack::api::{SlackError, UpdateMessage};
use crate::slack::blocks::{self, CardView, Shown};
use crate::slack::kit::Block;
use crate::slack::views;
use crate::store::{ApprovalRecord, ProjectRecord, SurveyRecord, TicketRecord};

/// What a ticket's messages show beside the ticket itself, read at once.
struct Beside {
    project: Option<ProjectRecord>,
    approval: Option<ApprovalRecord>,
    rating: Option<SurveyRecord>,
}

impl Dispatcher {
    async fn beside(&self, ticket: &TicketRecord, card: bool) -> Beside {
        let project = match self.projects.get(&ticket.project_key) {
            Some(project) => Some(project.clone()),
            None => self.store.project(&ticket.project_key).await.ok(),
        };
        let approval = match ticket.approval {
            Some(_) => self.store.approval(ticket.id).await.ok().flatten(),
            None => None,
        };
        let rating = match ticket.resolutions {
            n if n > 0 && card => self.store.latest_rating(ticket.id).await.ok().flatten(),
            _ => None,
        };
        Beside {
            project,
            approval,
            rating,
        }
    }

    pub(super) async fn render<'t>(&self, ticket: &'t TicketRecord, role: &str) -> Vec<Block<'t>> {
        let beside = self.beside(ticket, role != THREAD_REPLY).await;
        let fields = beside.project.as_ref().map(|p| p.message_fields()).unwrap_or_default();
        let shown = match &beside.project {
            Some(project) => Shown {
                fields: &fields,
                intro: project.intro.as_deref(),
            },
            None => Shown::default(),
        };
        let workflow = beside.project.as_ref().map(|p| p.workflow()).unwrap_or_default();
        if role == THREAD_REPLY {
            let synced = rules::replies_reach_desk(self.request_thread(ticket).await);
            let self_close = workflow.self_close().is_some();
            blocks::thread_reply(ticket, self_close, synced, shown, beside.approval.as_ref())
        } else {
            let view = CardView {
                shown,
                moves: workflow
                    .allowed_from(&ticket.status)
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
                departments: beside.project.as_ref().map(|p| p.departments()).unwrap_or_default(),
                approval: beside.approval.as_ref(),
                rating: beside.rating.as_ref(),
            };
            blocks::agent_card(ticket, &view)
        }
    }

    /// Show a ticket's current state in the message it has in `role`, if it has one.
    pub(super) async fn refresh(&self, ticket_id: i64, role: &'static str) -> Result<Outcome, SlackError> {
        let (ticket, messages) =
            match tokio::try_join!(self.store.ticket(ticket_id), self.store.ticket_messages(ticket_id)) {
                Ok(found) => found,
                Err(e) => return Ok(Outcome::Store(e)),
            };
        // Nothing was posted (the post failed for good): nothing to update.
        let Some(message) = messages.iter().find(|m| m.role == role) else {
            return Ok(Outcome::Done(None));
        };
        if let Err(wait) = self.pacer.take(&message.channel_id).await {
            return Ok(Outcome::Paced(wait));
        }
        let blocks = self.render(&ticket, role).await;
        self.slack
            .update_message(&UpdateMessage {
                channel: &message.channel_id,
                ts: &message.ts,
                text: &blocks::ticket_text(&ticket),
                blocks: &blocks,
            })
            .await?;
        Ok(Outcome::Done(None))
    }

    /// Where a ticket's thread is, for [`rules::replies_reach_desk`]; whether its channel
    /// syncs threads is remembered a while.
    async fn request_thread(&self, ticket: &TicketRecord) -> RequestThread {
        if ticket.from_form() || ticket.channel_id.starts_with('D') {
            return RequestThread::DirectMessage;
        }
        let support_sync = match self.synced.get(&ticket.channel_id) {
            Some(synced) => synced,
            None => {
                let synced = match self.store.channel(&ticket.channel_id).await {
                    Ok(channel) => channel.is_some_and(|c| c.is_support() && c.thread_sync),
                    Err(_) => true,
                };
                self.synced.put(&ticket.channel_id, synced);
                synced
            }
        };
        RequestThread::Channel {
            support_sync,
            own: ticket.origin_thread_ts.is_none(),
        }
    }

    /// A person's Home tab: their requests, what is assigned to them, and for agents the
    /// queue of their departments (of every project when they manage none).
    pub(super) async fn publish_home(&self, user: &str, agent: bool) -> Result<Outcome, SlackError> {
        let recently = self.store.now_ms() - 14 * 86_400_000;
        let lists = tokio::try_join!(
            self.store.requests_of(user, Some(recently), 20),
            self.store.assigned_to(user, 20),
        );
        let (requests, assigned) = match lists {
            Ok(lists) => lists,
            Err(e) => return Ok(Outcome::Store(e)),
        };
        let queue = match agent {
            true => match self.store.queue_of(user, 20).await {
                Ok(queue) => Some(queue),
                Err(e) => return Ok(Outcome::Store(e)),
            },
            false => None,
        };
        self.slack
            .views_publish(user, &views::home(&requests, &assigned, queue.as_deref()))
            .await?;
        Ok(Outcome::Done(None))
    }
}
