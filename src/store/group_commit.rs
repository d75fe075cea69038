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

impl<I: Clone + Send + Sync + 'static, O: Send + 'static> GroupCommit<I, O> {
    /// Start the writer. After each commit `committed` is notified, so whoever consumes
    /// what was written wakes at once. The task ends when every handle is dropped.
    pub fn spawn<F, Fut>(store: Store, committed: Arc<Notify>, apply: F) -> (Self, tokio::task::JoinHandle<()>)
    where
        F: Fn(Store, Arc<[I]>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<O>, StoreError>> + Send,
    {
        let (sender, mut receiver) = mpsc::channel::<Job<I, O>>(MAX_BATCH * 4);
        let task = tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(MAX_BATCH);
            while receiver.recv_many(&mut jobs, MAX_BATCH).await > 0 {
                let (items, waiters): (Vec<I>, Vec<_>) = jobs.drain(..).unzip();
                let items: Arc<[I]> = items.into();
                match apply(store.clone(), items.clone()).await {
                    Ok(outputs) => {
                        wake(&committed);
                        for (waiter, output) in waiters.into_iter().zip(outputs) {
                            let _ = waiter.send(Ok(output));
                        }
                    }
                    // One bad item must not fail the others: each is written on its own,
                    // and only what fails alone is answered with its error.
                    Err(e) if items.len() > 1 => {
                        tracing::warn!(error = %e, batch = waiters.len(), "group commit failed; writing its items one by one");
                        for (item, waiter) in items.iter().zip(waiters) {
                            let outcome = apply(store.clone(), Arc::from([item.clone()])).await;
                            let outcome = outcome.map_err(Arc::new).and_then(|mut outputs| {
                                outputs
                                    .pop()
                                    .ok_or_else(|| Arc::new(StoreError::Other("nothing written".into())))
                            });
                            if outcome.is_ok() {
                                wake(&committed);
                            }
                            let _ = waiter.send(outcome);
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "group commit failed");
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

/// Wake every task waiting on `committed` now, and leave a permit for the next one if
/// none is.
fn wake(committed: &Notify) {
    committed.notify_waiters();
    committed.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_bad_item_fails_alone_and_its_neighbours_are_written() {
        let store = Store::connect("sqlite::memory:").await.expect("a store");
        let written = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = written.clone();
        let (writer, _task) = GroupCommit::spawn(store, Arc::new(Notify::new()), move |_, items: Arc<[i64]>| {
            let log = log.clone();
            async move {
                if items.contains(&0) {
                    return Err(StoreError::Other("the bad one".into()));
                }
                log.lock().unwrap().extend(items.iter().copied());
                Ok(items.iter().map(|i| i * 10).collect())
            }
        });
        let submits: Vec<_> = [1, 2, 0, 3, 4]
            .into_iter()
            .map(|item| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.submit(item).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for submit in submits {
            outcomes.push(submit.await.unwrap().ok());
        }
        assert_eq!(outcomes, [Some(10), Some(20), None, Some(30), Some(40)]);
        let mut written = written.lock().unwrap().clone();
        written.sort();
        assert_eq!(written, [1, 2, 3, 4]);
    }
}
