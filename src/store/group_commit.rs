//! Group commit: many callers' writes share one transaction. Each caller waits until its
//! write is durable, but a thousand writes cost one commit instead of a thousand. This is
//! what lets ingress store every event before acknowledging it and still answer in
//! microseconds under load.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Notify};

use super::{Store, StoreError};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 1024;

type Job<I, O> = (I, oneshot::Sender<Result<O, Arc<StoreError>>>);

/// Hands items to a task that applies them in batches with `apply`.
pub struct GroupCommit<I, O> {
    sender: mpsc::Sender<Job<I, O>>,
}

impl<I, O> Clone for GroupCommit<I, O> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("{0}")]
    Store(Arc<StoreError>),
    #[error("shutting down")]
    Closed,
}

impl<I: Send + 'static, O: Send + 'static> GroupCommit<I, O> {
    /// Start the writer. After each commit `committed` is notified, so whoever consumes
    /// what was written wakes at once. The task ends when every handle is dropped.
    pub fn spawn<F, Fut>(store: Store, committed: Arc<Notify>, apply: F) -> (Self, tokio::task::JoinHandle<()>)
    where
        F: Fn(Store, Vec<I>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<O>, StoreError>> + Send,
    {
        let (sender, mut receiver) = mpsc::channel::<Job<I, O>>(MAX_BATCH * 4);
        let task = tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(MAX_BATCH);
            while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
                let (items, waiters): (Vec<I>, Vec<_>) = jobs.drain(..).unzip();
                match apply(store.clone(), items).await {
                    Ok(outputs) => {
                        committed.notify_one();
                        for (waiter, output) in waiters.into_iter().zip(outputs) {
                            let _ = waiter.send(Ok(output));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, batch = waiters.len(), "group commit failed");
                        let e = Arc::new(e);
                        for waiter in waiters {
                            let _ = waiter.send(Err(e.clone()));
                        }
                    }
                }
            }
        });
        (Self { sender }, task)
    }

    /// Write `item` and wait until it is committed.
    pub async fn submit(&self, item: I) -> Result<O, SubmitError> {
        let (done, wait) = oneshot::channel();
        self.sender.send((item, done)).await.map_err(|_| SubmitError::Closed)?;
        wait.await.map_err(|_| SubmitError::Closed)?.map_err(SubmitError::Store)
    }
}
