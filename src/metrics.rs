//! What deskhand counts and times, for `GET /metrics` (Prometheus text format): events in,
//! Slack calls out, the worker's and the dispatcher's batches, tickets filed. One set per
//! process, reached through [`get`]; the queues' depth and age are read from the store
//! when scraped ([`Metrics::encode`]).

use std::sync::OnceLock;

use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Received {
    /// `event`, `interaction` or `command`.
    pub kind: &'static str,
    /// `stored`, or `duplicate` (a retry of one already stored).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Call {
    pub method: String,
    /// `ok`, `rate_limited`, `error` (Slack said no), `status` (an HTTP error), `timeout`
    /// or `unreachable`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Queue {
    pub queue: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub received: Family<Received, Counter>,
    /// Events set aside as failed, by what they were.
    pub events_failed: Family<Kind, Counter>,
    /// Effects that failed for good, by kind.
    pub effects_failed: Family<Kind, Counter>,
    pub slack_calls: Family<Call, Counter>,
    pub slack_call_seconds: Family<Call, Histogram>,
    /// How long Slack's 429s asked deskhand to wait, in all.
    pub rate_limited_wait_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    pub worker_batch_events: Histogram,
    pub worker_batch_seconds: Histogram,
    pub dispatcher_batch_effects: Histogram,
    pub effect_seconds: Family<Kind, Histogram>,
    pub tickets_created: Family<Kind, Counter>,
    queue_depth: Family<Queue, Gauge>,
    queue_oldest_seconds: Family<Queue, Gauge<f64, std::sync::atomic::AtomicU64>>,
}

fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

fn sizes() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 11))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("deskhand");
        let metrics = Metrics {
            received: Family::default(),
            events_failed: Family::default(),
            effects_failed: Family::default(),
            slack_calls: Family::default(),
            slack_call_seconds: Family::new_with_constructor(seconds),
            rate_limited_wait_seconds: Counter::default(),
            worker_batch_events: sizes(),
            worker_batch_seconds: seconds(),
            dispatcher_batch_effects: sizes(),
            effect_seconds: Family::new_with_constructor(seconds),
            tickets_created: Family::default(),
            queue_depth: Family::default(),
            queue_oldest_seconds: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "events_received",
            "Events, interactions and commands Slack sent, stored or recognized as retries",
            metrics.received.clone(),
        );
        registry.register(
            "events_failed",
            "Events set aside as failed",
            metrics.events_failed.clone(),
        );
        registry.register(
            "effects_failed",
            "Effects that failed for good",
            metrics.effects_failed.clone(),
        );
        registry.register(
            "slack_calls",
            "Slack Web API calls, by method and outcome",
            metrics.slack_calls.clone(),
        );
        registry.register(
            "slack_call_seconds",
            "How long Slack Web API calls took",
            metrics.slack_call_seconds.clone(),
        );
        registry.register(
            "slack_rate_limited_wait_seconds",
            "How long Slack's 429 answers asked deskhand to wait, in all",
            metrics.rate_limited_wait_seconds.clone(),
        );
        registry.register(
            "worker_batch_events",
            "Events per worker batch",
            metrics.worker_batch_events.clone(),
        );
        registry.register(
            "worker_batch_seconds",
            "How long a worker batch took, from claim to commit",
            metrics.worker_batch_seconds.clone(),
        );
        registry.register(
            "dispatcher_batch_effects",
            "Effects per dispatcher claim",
            metrics.dispatcher_batch_effects.clone(),
        );
        registry.register(
            "effect_seconds",
            "How long carrying out an effect took, by kind",
            metrics.effect_seconds.clone(),
        );
        registry.register(
            "tickets_created",
            "Tickets filed, by source",
            metrics.tickets_created.clone(),
        );
        registry.register(
            "queue_depth",
            "Rows waiting in the inbox and the outbox",
            metrics.queue_depth.clone(),
        );
        registry.register(
            "queue_oldest_seconds",
            "Age of the oldest waiting row of the inbox and the outbox",
            metrics.queue_oldest_seconds.clone(),
        );
        Metrics { registry, ..metrics }
    }

    /// The text format, with the queues as the store says they are now: (depth, oldest
    /// age in seconds) for the inbox and the outbox.
    pub fn encode(&self, inbox: (i64, f64), outbox: (i64, f64)) -> String {
        for (queue, (depth, oldest)) in [("inbox", inbox), ("outbox", outbox)] {
            self.queue_depth.get_or_create(&Queue { queue }).set(depth);
            self.queue_oldest_seconds.get_or_create(&Queue { queue }).set(oldest);
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = text::encode(&mut out, &self.registry);
        out
    }
}

/// This process's metrics.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// A Slack call's outcome, for its labels.
pub fn call(method: &str, outcome: &'static str) -> Call {
    Call {
        method: method.to_owned(),
        outcome,
    }
}

/// What an inbox row is, by its dedupe key's prefix: `event`, `interaction` or `command`.
pub fn source_of(dedupe_key: &str) -> &'static str {
    match dedupe_key.split(':').next() {
        Some("interaction") => "interaction",
        Some("command") => "command",
        _ => "event",
    }
}

/// Observes the time from its start to its drop.
pub struct Timer {
    started: std::time::Instant,
    into: &'static Histogram,
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.into.observe(self.started.elapsed().as_secs_f64());
    }
}

pub fn time(into: &'static Histogram) -> Timer {
    Timer {
        started: std::time::Instant::now(),
        into,
    }
}

pub fn kind(kind: &str) -> Kind {
    Kind { kind: kind.to_owned() }
}
