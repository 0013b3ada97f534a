//! Producer ids for idempotent producers (InitProducerId without a transactional id).
//!
//! Ids must never be handed out twice, across restarts too: a reused id would meet the old
//! producer's sequence numbers in the logs and be refused. The controller therefore allocates
//! them durably, in blocks written to the metadata log; this module takes a block of
//! [`BLOCK_SIZE`] ids at a time (as Kafka's `ProducerIdManager` does) and hands them out one by
//! one. Ids left in a block when the broker stops are simply never used.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

/// Ids fetched from the controller per allocation (Kafka's `PID_BLOCK_SIZE`).
pub const BLOCK_SIZE: u32 = 1000;

/// Why no producer id could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("producer id allocation failed: {message}")]
pub struct ProducerIdError {
    /// The Kafka error code for the client (the allocator's own layer decides it).
    pub error_code: i16,
    pub message: String,
}

impl ProducerIdError {
    pub fn error_code(&self) -> i16 {
        self.error_code
    }
}

/// The future an allocation returns.
pub type AllocateFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Range<i64>, ProducerIdError>> + Send + 'a>>;

/// A durable source of producer id blocks (the controller).
pub trait ProducerIdAllocator: Send + Sync {
    /// Reserves `count` ids that were never handed out before and will never be again.
    fn allocate_producer_ids(&self, count: u32) -> AllocateFuture<'_>;
}

/// Hands out producer ids from blocks the allocator reserves.
pub struct ProducerIdManager {
    allocator: Arc<dyn ProducerIdAllocator>,
    /// The rest of the current block. A tokio mutex: only one allocation is in flight and
    /// concurrent callers queue for its result.
    block: tokio::sync::Mutex<Range<i64>>,
}

impl ProducerIdManager {
    pub fn new(allocator: Arc<dyn ProducerIdAllocator>) -> Self {
        ProducerIdManager {
            allocator,
            block: tokio::sync::Mutex::new(0..0),
        }
    }

    /// The next unused producer id.
    pub async fn next_producer_id(&self) -> Result<i64, ProducerIdError> {
        let mut block = self.block.lock().await;
        if block.is_empty() {
            let fresh = self.allocator.allocate_producer_ids(BLOCK_SIZE).await?;
            if fresh.is_empty() || fresh.start < 0 {
                return Err(ProducerIdError {
                    error_code: kafka_protocol::ResponseError::UnknownServerError.code(),
                    message: format!("allocator returned an unusable block {fresh:?}"),
                });
            }
            *block = fresh;
        }
        let id = block.start;
        block.start += 1;
        Ok(id)
    }
}

/// The controller allocates durably through the metadata log.
impl ProducerIdAllocator for fjord_metadata::Controller {
    fn allocate_producer_ids(&self, count: u32) -> AllocateFuture<'_> {
        Box::pin(async move {
            fjord_metadata::Controller::allocate_producer_ids(self, i64::from(count))
                .await
                .map_err(|e| ProducerIdError {
                    error_code: e.error_code().code(),
                    message: e.to_string(),
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

    struct Counting {
        next: AtomicI64,
        calls: AtomicUsize,
    }

    impl ProducerIdAllocator for Counting {
        fn allocate_producer_ids(&self, count: u32) -> AllocateFuture<'_> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                let start = self.next.fetch_add(i64::from(count), Ordering::SeqCst);
                Ok(start..start + i64::from(count))
            })
        }
    }

    #[tokio::test]
    async fn ids_come_from_blocks_and_never_repeat() {
        let allocator = Arc::new(Counting {
            next: AtomicI64::new(5000),
            calls: AtomicUsize::new(0),
        });
        let manager = ProducerIdManager::new(allocator.clone());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..(BLOCK_SIZE as usize + 10) {
            let id = manager.next_producer_id().await.unwrap();
            assert!(seen.insert(id));
            assert!(id >= 5000);
        }
        assert_eq!(allocator.calls.load(Ordering::SeqCst), 2);
    }

    struct Failing;

    impl ProducerIdAllocator for Failing {
        fn allocate_producer_ids(&self, _count: u32) -> AllocateFuture<'_> {
            Box::pin(async {
                Err(ProducerIdError {
                    error_code: 15,
                    message: "no controller".into(),
                })
            })
        }
    }

    #[tokio::test]
    async fn allocation_errors_reach_the_caller() {
        let manager = ProducerIdManager::new(Arc::new(Failing));
        assert_eq!(
            manager.next_producer_id().await.unwrap_err().error_code(),
            15
        );
    }
}
