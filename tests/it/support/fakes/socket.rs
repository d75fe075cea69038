//! A fake Socket Mode server on 127.0.0.1: the websocket end of `apps.connections.open`.
//! It greets each connection with `hello`, sends the envelopes a test gives it, records
//! every acknowledgement, and, as Slack does, sends again on the next connection an
//! envelope whose connection closed before it was acknowledged. A test can ask a
//! connection to refresh (`disconnect`), or cut it in the middle of an envelope.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// What a test tells a connection to do.
enum Order {
    Send(String),
    /// Write the first half of a text frame holding this, then drop the connection.
    Cut(String),
    Disconnect(&'static str),
}

struct Envelope {
    /// The connection it was last sent on.
    connection: usize,
    kind: String,
    payload: Value,
    attempts: u32,
}

#[derive(Default)]
struct Inner {
    /// Live connections by number, with where their orders go.
    live: HashMap<usize, mpsc::UnboundedSender<Order>>,
    opened: usize,
    next_envelope: u64,
    /// Sent and not yet acknowledged.
    pending: HashMap<String, Envelope>,
    /// Every acknowledgement received, in order.
    acks: Vec<Value>,
}

#[derive(Clone)]
pub struct FakeSocket {
    inner: Arc<Mutex<Inner>>,
    changed: Arc<Notify>,
    pub addr: SocketAddr,
}

impl FakeSocket {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Socket Mode");
        let fake = Self {
            inner: Arc::default(),
            changed: Arc::default(),
            addr: listener.local_addr().expect("fake Socket Mode address"),
        };
        let accepting = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let fake = accepting.clone();
                tokio::spawn(async move {
                    if let Ok(socket) = tokio_tungstenite::accept_async(stream).await {
                        fake.serve(socket).await;
                    }
                });
            }
        });
        fake
    }

    /// The URL `apps.connections.open` hands out.
    pub fn url(&self) -> String {
        format!("ws://{}/link/?ticket=1", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn serve(&self, mut socket: WebSocketStream<TcpStream>) {
        let (orders, mut received) = mpsc::unbounded_channel();
        let (n, resend) = {
            let mut inner = self.lock();
            let n = inner.opened;
            inner.opened += 1;
            inner.live.insert(n, orders);
            let live: Vec<usize> = inner.live.keys().copied().collect();
            // What was sent on a connection that has since gone comes again on this one.
            let mut resend = Vec::new();
            for (id, envelope) in inner.pending.iter_mut() {
                if !live.contains(&envelope.connection) {
                    envelope.connection = n;
                    envelope.attempts += 1;
                    resend.push(envelope_text(id, &envelope.kind, &envelope.payload, envelope.attempts));
                }
            }
            (n, resend)
        };
        let hello = json!({ "type": "hello", "num_connections": 1, "connection_info": { "app_id": "A0APP" } });
        let mut alive = socket.send(Message::text(hello.to_string())).await.is_ok();
        for text in resend {
            alive = alive && socket.send(Message::text(text)).await.is_ok();
        }
        self.notify();
        while alive {
            tokio::select! {
                order = received.recv() => match order {
                    Some(Order::Send(text)) => alive = socket.send(Message::text(text)).await.is_ok(),
                    Some(Order::Cut(text)) => {
                        let half = &text.as_bytes()[..text.len() / 2];
                        let stream = socket.get_mut();
                        let _ = stream.write_all(&frame_header(text.len())).await;
                        let _ = stream.write_all(half).await;
                        let _ = stream.flush().await;
                        alive = false;
                    }
                    Some(Order::Disconnect(reason)) => {
                        let text = json!({ "type": "disconnect", "reason": reason, "debug_info": { "host": "fake" } });
                        alive = socket.send(Message::text(text.to_string())).await.is_ok();
                    }
                    None => alive = false,
                },
                message = socket.next() => match message {
                    Some(Ok(Message::Text(text))) => self.acknowledged(&text),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => alive = false,
                    Some(Ok(_)) => {}
                },
            }
        }
        self.lock().live.remove(&n);
        self.notify();
    }

    fn acknowledged(&self, text: &str) {
        let ack: Value = serde_json::from_str(text).unwrap_or_else(|_| json!({ "unreadable": text }));
        {
            let mut inner = self.lock();
            if let Some(id) = ack["envelope_id"].as_str() {
                inner.pending.remove(id);
            }
            inner.acks.push(ack);
        }
        self.notify();
    }

    fn notify(&self) {
        self.changed.notify_waiters();
    }

    /// Wait until `done` holds (checked after every change); fails the test, naming
    /// `what`, after 10 s.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&FakeSocket) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(self) {
                return;
            }
            assert!(
                tokio::time::timeout_at(deadline, notified).await.is_ok(),
                "the fake Socket Mode server never saw {what}"
            );
        }
    }

    /// How many connections are open now, and how many were ever opened.
    pub fn live(&self) -> usize {
        self.lock().live.len()
    }

    pub fn opened(&self) -> usize {
        self.lock().opened
    }

    /// Wait until `n` connections are open.
    pub async fn wait_for_connections(&self, n: usize) {
        self.wait_until(&format!("{n} open connections"), |s| s.live() >= n)
            .await;
    }

    fn new_envelope(&self, kind: &str, payload: Value) -> (String, String, usize) {
        let mut inner = self.lock();
        let connection = *inner.live.keys().min().expect("no Socket Mode connection is open");
        inner.next_envelope += 1;
        let id = format!("env-{:04}", inner.next_envelope);
        let text = envelope_text(&id, kind, &payload, 0);
        inner.pending.insert(
            id.clone(),
            Envelope {
                connection,
                kind: kind.into(),
                payload,
                attempts: 0,
            },
        );
        (id, text, connection)
    }

    fn order(&self, connection: usize, order: Order) {
        let sender = self.lock().live.get(&connection).cloned();
        sender.expect("the connection is open").send(order).ok();
    }

    /// Send an envelope (`events_api`, `interactive` or `slash_commands`) on the oldest
    /// open connection; its id.
    pub fn send(&self, kind: &str, payload: Value) -> String {
        let (id, text, connection) = self.new_envelope(kind, payload);
        self.order(connection, Order::Send(text));
        id
    }

    /// Start sending an envelope, and cut the connection halfway through it; its id.
    pub fn send_cut(&self, kind: &str, payload: Value) -> String {
        let (id, text, connection) = self.new_envelope(kind, payload);
        self.order(connection, Order::Cut(text));
        id
    }

    /// Ask the oldest open connection to go (`refresh_requested`, `warning`, …).
    pub fn disconnect(&self, reason: &'static str) {
        let connection = *self
            .lock()
            .live
            .keys()
            .min()
            .expect("no Socket Mode connection is open");
        self.order(connection, Order::Disconnect(reason));
    }

    /// Every acknowledgement of `envelope_id`.
    pub fn acks_of(&self, envelope_id: &str) -> Vec<Value> {
        let inner = self.lock();
        inner
            .acks
            .iter()
            .filter(|a| a["envelope_id"] == envelope_id)
            .cloned()
            .collect()
    }

    /// Wait for the acknowledgement of `envelope_id`.
    pub async fn ack(&self, envelope_id: &str) -> Value {
        self.wait_until(&format!("the acknowledgement of {envelope_id}"), |s| {
            !s.acks_of(envelope_id).is_empty()
        })
        .await;
        self.acks_of(envelope_id).remove(0)
    }
}

fn envelope_text(id: &str, kind: &str, payload: &Value, attempt: u32) -> String {
    json!({
        "envelope_id": id, "type": kind, "payload": payload, "accepts_response_payload": kind != "events_api",
        "retry_attempt": attempt, "retry_reason": if attempt > 0 { "timeout" } else { "" },
    })
    .to_string()
}

/// A server's (unmasked) text frame header for a payload of `len` bytes.
fn frame_header(len: usize) -> Vec<u8> {
    let mut header = vec![0x81];
    match len {
        0..=125 => header.push(len as u8),
        126..=0xFFFF => {
            header.push(126);
            header.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            header.push(127);
            header.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    header
}
