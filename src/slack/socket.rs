//! Socket Mode: Slack's events, interactions and slash commands over websockets that
//! deskhand opens itself, so it needs no public URL
//! (<https://api.slack.com/apis/socket-mode>).
//!
//! Each envelope's payload goes through the same [`ingress::accept`] as an HTTP request,
//! and its [`Answer`] is sent back under the envelope's id only once the payload is
//! stored: an envelope deskhand could not store stays unacknowledged, and Slack delivers
//! it again (on this connection or another), where the inbox's dedupe keeps it once.
//!
//! Two connections stay open, so that while one is refreshed (Slack asks with a
//! `disconnect` message, or a connection drops) the other keeps receiving. Each reconnects
//! on its own, at once after a refresh and with a growing pause after a failure.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use super::api::{SlackApi, SlackError};
use super::ingress::{self, Answer, Incoming};
use super::interactions::SlashCommand;
use crate::config::Secret;
use crate::state::AppState;

/// How many connections deskhand keeps open at once.
pub const CONNECTIONS: usize = 2;

/// The longest pause between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long opening the websocket may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stopping connection waits for the envelopes it is storing.
const DRAIN: Duration = Duration::from_secs(5);

/// One message Slack sends over the socket.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    envelope_id: Option<String>,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    num_connections: Option<u64>,
}

/// Why a connection ended.
#[derive(Debug, PartialEq)]
enum Ended {
    /// deskhand is stopping.
    Stopped,
    /// Slack asked for a new connection (`refresh_requested`, `warning`, …).
    Refresh(String),
    /// The connection dropped or failed.
    Dropped(String),
}

/// Keep [`CONNECTIONS`] Socket Mode connections open until `stop` turns true.
pub async fn run(app: AppState, slack: SlackApi, stop: watch::Receiver<bool>) {
    if app.config.slack_app_token.as_ref().is_some_and(Secret::is_placeholder) {
        return; // said at start-up: nothing to connect with
    }
    let mut connections = JoinSet::new();
    for n in 0..CONNECTIONS {
        connections.spawn(keep_connected(n, app.clone(), slack.clone(), stop.clone()));
    }
    while connections.join_next().await.is_some() {}
}

/// One connection, opened again whenever it ends, until deskhand stops or Slack refuses
/// the app token for good.
async fn keep_connected(n: usize, app: AppState, slack: SlackApi, mut stop: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        let ended = match slack.connections_open().await {
            Ok(url) => {
                match tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url.as_str())).await {
                    Ok(Ok((socket, _))) => serve(n, socket, &app, &mut stop).await,
                    Ok(Err(e)) => Ended::Dropped(format!("could not connect: {e}")),
                    Err(_) => Ended::Dropped("timed out connecting".into()),
                }
            }
            Err(e) if !e.is_transient() => {
                refused(&e);
                return;
            }
            Err(e) => Ended::Dropped(format!("apps.connections.open failed: {e}")),
        };
        let pause = match ended {
            Ended::Stopped => return,
            Ended::Refresh(reason) => {
                tracing::info!(connection = n, reason, "Slack asked for a new Socket Mode connection");
                failures = 0;
                Duration::ZERO
            }
            Ended::Dropped(why) => {
                failures = failures.saturating_add(1);
                let pause = backoff(failures);
                tracing::warn!(connection = n, why, retry_in = ?pause, "Socket Mode connection lost");
                pause
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The pause after `failures` failures in a row: 1 s, 2 s, 4 s… up to [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1 << failures.saturating_sub(1).min(5)).min(MAX_BACKOFF)
}

fn refused(e: &SlackError) {
    tracing::error!(
        error = %e,
        "Slack refused SLACK_APP_TOKEN: create an app-level token with the connections:write scope (Basic \
         Information → App-Level Tokens) and turn Socket Mode on; no events arrive until then"
    );
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Read one connection's envelopes until it ends. Each envelope is stored in its own task,
/// so a slow write holds back none of the others; acknowledgements go out as they are
/// ready.
async fn serve(n: usize, socket: Socket, app: &AppState, stop: &mut watch::Receiver<bool>) -> Ended {
    let (mut sink, mut stream) = socket.split();
    let (acks, mut ready) = mpsc::unbounded_channel::<Value>();
    let mut storing = JoinSet::new();
    let ended = loop {
        tokio::select! {
            received = stream.next() => match received {
                Some(Ok(Message::Text(text))) => {
                    if let Some(ended) = receive(n, &text, app, &acks, &mut storing) {
                        break ended;
                    }
                }
                Some(Ok(Message::Ping(data))) => {
                    if let Err(e) = sink.send(Message::Pong(data)).await {
                        break Ended::Dropped(e.to_string());
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break Ended::Dropped(format!("closed by Slack: {frame:?}"));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break Ended::Dropped(e.to_string()),
                None => break Ended::Dropped("the connection closed".into()),
            },
            Some(ack) = ready.recv() => {
                if let Err(e) = sink.send(Message::text(ack.to_string())).await {
                    break Ended::Dropped(e.to_string());
                }
            }
            _ = stop.changed() => break Ended::Stopped,
        }
        while storing.try_join_next().is_some() {}
    };
    // What is being stored now is stored; on a live connection its answer still goes out
    // (when the connection is gone, Slack delivers it again and the inbox keeps it once).
    drop(acks);
    let _ = tokio::time::timeout(DRAIN, async {
        while storing.join_next().await.is_some() {}
        if !matches!(ended, Ended::Dropped(_)) {
            while let Some(ack) = ready.recv().await {
                if sink.send(Message::text(ack.to_string())).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        }
    })
    .await;
    ended
}

/// Handle one text message: an envelope to store, a greeting, or a request to reconnect.
fn receive(
    n: usize,
    text: &str,
    app: &AppState,
    acks: &mpsc::UnboundedSender<Value>,
    storing: &mut JoinSet<()>,
) -> Option<Ended> {
    let envelope: Envelope = match serde_json::from_str(text) {
        Ok(envelope) => envelope,
        Err(e) => {
            tracing::warn!(connection = n, error = %e, "unreadable Socket Mode message");
            return None;
        }
    };
    match envelope.kind.as_str() {
        "hello" => {
            tracing::info!(
                connection = n,
                connections = envelope.num_connections,
                "Socket Mode connected"
            );
            None
        }
        "disconnect" => Some(Ended::Refresh(envelope.reason.unwrap_or_else(|| "unknown".into()))),
        kind @ ("events_api" | "interactive" | "slash_commands") => {
            let Some(id) = envelope.envelope_id.filter(|id| !id.is_empty() && id.len() <= 100) else {
                tracing::warn!(connection = n, kind, "a Socket Mode envelope without an id");
                return None;
            };
            let (app, acks, kind) = (app.clone(), acks.clone(), kind.to_owned());
            storing.spawn(async move {
                if let Some(ack) = acknowledgement(&id, store(&app, &kind, envelope.payload).await) {
                    let _ = acks.send(ack);
                }
            });
            None
        }
        other => {
            tracing::debug!(connection = n, kind = other, "ignored a Socket Mode message");
            None
        }
    }
}

/// Store one envelope's payload as its HTTP twin would be.
async fn store(app: &AppState, kind: &str, payload: Value) -> Answer {
    match kind {
        "events_api" => ingress::accept(app, Incoming::Event(&payload.to_string())).await,
        "interactive" => ingress::accept(app, Incoming::Interaction(&payload.to_string())).await,
        _ => match serde_json::from_value::<SlashCommand>(payload) {
            Ok(command) => ingress::accept(app, Incoming::Command(command)).await,
            Err(_) => Answer::Malformed("malformed slash command"),
        },
    }
}

/// What goes back for an envelope: its id, with the payload HTTP would answer with. A
/// payload deskhand cannot read is acknowledged too (sending it again cannot help); one it
/// could not store is not, so that Slack sends it again.
fn acknowledgement(envelope_id: &str, answer: Answer) -> Option<Value> {
    match answer {
        Answer::Ack => Some(json!({ "envelope_id": envelope_id })),
        Answer::Json(payload) => Some(json!({ "envelope_id": envelope_id, "payload": payload })),
        Answer::Malformed(why) => {
            tracing::warn!(
                envelope_id,
                why,
                "acknowledged a Socket Mode envelope deskhand cannot read"
            );
            Some(json!({ "envelope_id": envelope_id }))
        }
        Answer::Unavailable => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnecting_waits_longer_after_each_failure_up_to_a_cap() {
        let pauses: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn an_envelope_is_acknowledged_with_the_answer_http_would_give_unless_it_was_not_stored() {
        assert_eq!(acknowledgement("e1", Answer::Ack), Some(json!({ "envelope_id": "e1" })));
        let errors = json!({ "response_action": "errors", "errors": { "summary": "Say what you need." } });
        assert_eq!(
            acknowledgement("e2", Answer::Json(errors.clone())),
            Some(json!({ "envelope_id": "e2", "payload": errors }))
        );
        assert_eq!(
            acknowledgement("e3", Answer::Malformed("bad")),
            Some(json!({ "envelope_id": "e3" }))
        );
        assert_eq!(acknowledgement("e4", Answer::Unavailable), None);
    }
}
