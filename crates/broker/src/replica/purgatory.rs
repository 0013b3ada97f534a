//! The purgatory: where long-poll fetches and `acks=all` produces wait for a partition to move,
//! and how an append wakes them.
//!
//! Each partition keeps a list of waiters. A waiting request owns one [`Waiter`] (a
//! `tokio::sync::Notify`) and registers it with every partition it waits on *before* it checks
//! whether it can complete; an append (or a high-watermark move, a truncation, a leadership
//! change) drains the partition's list and notifies each waiter. `Notify::notify_one` stores a
//! permit when nobody is polling yet, so a wake-up that lands between the check and the wait is
//! not lost, and a request completes as soon as its condition holds, never on a timer tick.
//!
//! Waiters are held weakly: a request that times out or is dropped with its connection simply
//! disappears, and dead entries are pruned when the list grows, so an idle partition polled by
//! many consumers does not accumulate garbage.

use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// One waiting request's wake-up handle.
#[derive(Debug, Default, Clone)]
pub struct Waiter {
    notify: Arc<Notify>,
}

impl Waiter {
    pub fn new() -> Self {
        Waiter::default()
    }

    /// Waits until a partition this waiter is registered with wakes it, or until `deadline`.
    /// Returns false when the deadline passed first.
    pub async fn wait_until(&self, deadline: Instant) -> bool {
        tokio::time::timeout_at(deadline, self.notify.notified())
            .await
            .is_ok()
    }

    /// Waits at most `timeout`; see [`Waiter::wait_until`].
    pub async fn wait_for(&self, timeout: Duration) -> bool {
        self.wait_until(Instant::now() + timeout).await
    }
}

/// The waiters of one partition.
#[derive(Debug, Default)]
pub struct WaiterList {
    inner: Mutex<WaiterListInner>,
}

#[derive(Debug, Default)]
struct WaiterListInner {
    waiters: Vec<Weak<Notify>>,
    /// Length at which dead entries are pruned next; doubles with the live count so pruning
    /// stays amortised O(1) per registration.
    prune_at: usize,
}

const MIN_PRUNE_AT: usize = 16;

impl WaiterList {
    pub fn new() -> Self {
        WaiterList::default()
    }

    /// Adds `waiter` to the list; it is woken by the next [`WaiterList::wake_all`]. A waiter
    /// must register again after each wake-up if it keeps waiting.
    pub fn register(&self, waiter: &Waiter) {
        let mut inner = self.inner.lock();
        if inner.waiters.len() >= inner.prune_at.max(MIN_PRUNE_AT) {
            inner.waiters.retain(|w| w.strong_count() > 0);
            inner.prune_at = (inner.waiters.len() * 2).max(MIN_PRUNE_AT);
        }
        inner.waiters.push(Arc::downgrade(&waiter.notify));
    }

    /// Wakes every registered waiter and empties the list.
    pub fn wake_all(&self) {
        let waiters = std::mem::take(&mut self.inner.lock().waiters);
        // Notify outside the lock: woken tasks re-register right away.
        for waiter in waiters {
            if let Some(notify) = waiter.upgrade() {
                notify.notify_one();
            }
        }
    }

    /// Registered entries, dead ones included (for tests and metrics).
    pub fn len(&self) -> usize {
        self.inner.lock().waiters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_before_the_wait_is_not_lost() {
        let list = WaiterList::new();
        let waiter = Waiter::new();
        list.register(&waiter);
        list.wake_all();
        assert!(list.is_empty());
        let woke = waiter.wait_for(Duration::from_secs(5)).await;
        assert!(woke);
    }

    #[tokio::test]
    async fn waiting_without_a_wake_times_out() {
        let list = WaiterList::new();
        let waiter = Waiter::new();
        list.register(&waiter);
        assert!(!waiter.wait_for(Duration::from_millis(20)).await);
    }

    #[tokio::test]
    async fn a_wake_from_another_task_completes_the_wait() {
        let list = Arc::new(WaiterList::new());
        let waiter = Waiter::new();
        list.register(&waiter);
        let waker = list.clone();
        let started = std::time::Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waker.wake_all();
        });
        assert!(waiter.wait_for(Duration::from_secs(10)).await);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn dead_waiters_are_pruned() {
        let list = WaiterList::new();
        let keep = Waiter::new();
        list.register(&keep);
        for _ in 0..1000 {
            let gone = Waiter::new();
            list.register(&gone);
        }
        assert!(list.len() <= 2 * MIN_PRUNE_AT, "len {}", list.len());
    }
}
