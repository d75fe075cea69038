//! Replicas on one PostgreSQL database, and how the work of one that dies is taken over in
//! seconds rather than after the lease.
//!
//! Every replica stamps its row in `replicas` every [`BEAT_EVERY`] with the database's
//! own clock (so the hosts' clocks need not agree), and every claim it makes names it
//! (`claimed_by`). A replica whose stamp is older than [`DEAD_AFTER`] is gone: any live
//! replica, at its next beat, hands back that replica's claims at once (effects marked
//! ambiguous, as after a lease), and forgets it. A replica that has not managed to beat for
//! [`FENCE`] stops settling claims (its transactions roll back), so that it never finishes
//! work that another has taken over: [`FENCE`] is well inside [`DEAD_AFTER`].
//!
//! SQLite needs none of this: one process has the file (`ExclusiveUse`), and it takes its
//! claims back when it starts.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{execute, on_tx, Db, Result, Store, Tx};

/// How often a replica says it is alive.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);
/// How long a replica may be silent before the others take over its claims.
const DEAD_AFTER: Duration = Duration::from_secs(5);
/// How long a replica may go without a beat and still settle what it claimed.
const FENCE: Duration = Duration::from_secs(3);

/// The database's clock, in unix milliseconds.
const DB_NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// This process as a claimant of queue rows.
pub struct Replica {
    pub id: String,
    started: Instant,
    /// Milliseconds after `started` of the last successful beat; `u64::MAX` before the first.
    last_beat: AtomicU64,
    /// At the last beat, no other replica was alive (false until a beat has said so).
    alone: AtomicBool,
}

impl Default for Replica {
    fn default() -> Self {
        Self::new()
    }
}

impl Replica {
    pub fn new() -> Self {
        Self {
            id: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            started: Instant::now(),
            last_beat: AtomicU64::new(u64::MAX),
            alone: AtomicBool::new(false),
        }
    }

    fn beaten(&self) {
        let at = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_beat.store(at, Ordering::Relaxed);
    }

    /// Whether what this replica claimed is still its own: it has beaten recently, or it
    /// has never beaten (it is not one of the replicas that watch each other, so its claims
    /// come back only when their lease runs out).
    pub fn claims_are_ours(&self) -> bool {
        let last = self.last_beat.load(Ordering::Relaxed);
        last == u64::MAX || self.started.elapsed().as_millis().saturating_sub(u128::from(last)) < FENCE.as_millis()
    }
}

impl Tx {
    /// This transaction settles claimed rows (see [`Replica::claims_are_ours`]).
    pub(crate) fn settles_claims(&mut self) {
        self.settles_claims = true;
    }
}

impl Store {
    /// The id this process's claims carry.
    pub fn replica_id(&self) -> &str {
        &self.replica.id
    }

    /// Say this replica is alive, and take back the claims of replicas that have been
    /// silent too long. How many events and effects came back. Nothing on SQLite.
    pub async fn heartbeat(&self) -> Result<(u64, u64)> {
        if !matches!(self.db, Db::Postgres(_)) {
            return Ok((0, 0));
        }
        let mut tx = self.begin().await?;
        execute!(
            tx,
            &format!(
                "insert into replicas (id, seen_at) values ($1, {DB_NOW_MS})
                 on conflict (id) do update set seen_at = excluded.seen_at"
            ),
            &self.replica.id
        )?;
        let others: Vec<(String, bool)> = on_tx!(tx, |conn| query_as(&format!(
            "select id, seen_at < {DB_NOW_MS} - $1 from replicas where id <> $2"
        ))
        .bind(DEAD_AFTER.as_millis() as i64)
        .bind(&self.replica.id)
        .fetch_all(conn)
        .await)?;
        let alone = others.iter().all(|(_, dead)| *dead);
        let dead: Vec<&String> = others.iter().filter(|(_, dead)| *dead).map(|(id, _)| id).collect();
        let (mut events, mut effects) = (0, 0);
        for id in dead {
            events += execute!(
                tx,
                "update inbox set lease_until = null
                 where claimed_by = $1 and state = 'pending' and lease_until is not null",
                id
            )?;
            effects += execute!(
                tx,
                "update outbox set lease_until = null, ambiguous = true
                 where claimed_by = $1 and state = 'pending' and lease_until is not null",
                id
            )?;
            execute!(tx, "delete from replicas where id = $1", id)?;
        }
        tx.commit().await?;
        self.replica.beaten();
        self.replica.alone.store(alone, Ordering::Relaxed);
        Ok((events, effects))
    }

    /// Whether other processes post through this database (PostgreSQL, with another replica
    /// alive at the last beat, or before the first beat has told): then each post takes
    /// its turn from the budget they share ([`Store::take_channel_post`]). A replica alone
    /// paces by itself and spares a statement per post; one that joins is seen at the
    /// next beat, a second later at most.
    pub fn shares_pace(&self) -> bool {
        matches!(self.db, Db::Postgres(_)) && !self.replica.alone.load(Ordering::Relaxed)
    }

    /// Take one post for `channel` from the budget all replicas share (PostgreSQL): posts
    /// `interval` apart on average, `tolerance` early at most (the burst). `Ok(Err(wait))`:
    /// none is free for `wait`. On SQLite, always free (one process paces alone).
    pub async fn take_channel_post(
        &self,
        channel: &str,
        interval: Duration,
        tolerance: Duration,
    ) -> Result<std::result::Result<(), Duration>> {
        let Db::Postgres(pool) = &self.db else {
            return Ok(Ok(()));
        };
        let (interval, tolerance) = (interval.as_micros() as i64, tolerance.as_micros() as i64);
        let now = "(extract(epoch from now()) * 1000000)::bigint";
        // Its commit does not wait for the disk: a turn lost in a database crash costs a
        // post's spacing, no more, and with replicas sharing the budget every post takes one.
        let taken: Option<i32> = sqlx::query_scalar(&format!(
            "insert into channel_pace (channel_id, tat_us)
             select $1, {now} + $2 from (select set_config('synchronous_commit', 'off', true)) as without_waiting
             on conflict (channel_id) do update set tat_us = greatest(channel_pace.tat_us, {now}) + $2
             where greatest(channel_pace.tat_us, {now}) - {now} <= $3
             returning 1"
        ))
        .bind(channel)
        .bind(interval)
        .bind(tolerance)
        .fetch_optional(pool)
        .await?;
        if taken.is_some() {
            return Ok(Ok(()));
        }
        let wait: Option<i64> = sqlx::query_scalar(&format!(
            "select greatest(tat_us - {now} - $2, 0) from channel_pace where channel_id = $1"
        ))
        .bind(channel)
        .bind(tolerance)
        .fetch_optional(pool)
        .await?;
        Ok(Err(Duration::from_micros(wait.unwrap_or(0).max(1000) as u64)))
    }

    /// This replica is stopping: the others may take over at once whatever it still holds.
    pub async fn leave(&self) -> Result<()> {
        if !matches!(self.db, Db::Postgres(_)) {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        execute!(tx, "update replicas set seen_at = 0 where id = $1", &self.replica.id)?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_that_never_beat_keeps_its_claims_and_one_that_went_quiet_does_not() {
        let replica = Replica::new();
        assert!(
            replica.claims_are_ours(),
            "not watched: its claims wait for their lease"
        );
        replica.beaten();
        assert!(replica.claims_are_ours());
        replica.last_beat.store(0, Ordering::Relaxed);
        let quiet = Replica {
            started: Instant::now() - FENCE - Duration::from_millis(1),
            ..replica
        };
        assert!(!quiet.claims_are_ours(), "silent past the fence");
        assert!(
            FENCE + BEAT_EVERY < DEAD_AFTER,
            "a replica stops before it is declared dead"
        );
    }
}
