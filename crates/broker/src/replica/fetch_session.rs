//! Incremental fetch sessions (KIP-227): the bounded cache of sessions and the rules that turn a
//! Fetch request's `(session_id, session_epoch)` into the set of partitions to read and, after the
//! read, into the set of partitions to answer.
//!
//! A consumer that keeps fetching the same partitions sends them once (a *full* fetch, epoch 0);
//! the broker remembers them in a session and hands back its id. Later *incremental* requests
//! carry only what changed (new partitions, new fetch offsets, forgotten partitions) and the
//! broker answers only the partitions that have something new: records, an error, or a moved high
//! watermark, last stable offset or log start offset. Every incremental request must carry the
//! epoch that follows the previous one, so a lost or reordered request is detected
//! (`INVALID_FETCH_SESSION_EPOCH`) instead of silently skipping data.
//!
//! Epoch values, as in Kafka's `FetchMetadata`:
//!
//! | session_id | epoch | meaning                                                        |
//! |-----------:|------:|----------------------------------------------------------------|
//! |          0 |     0 | full fetch, open a new session if the cache has room           |
//! |          0 |    -1 | full fetch without a session (what v0-6 clients always do)     |
//! |          N |     0 | close session N, full fetch, open a new session                |
//! |          N |    -1 | close session N, full fetch without a session                  |
//! |          N |   k>0 | incremental fetch on session N, which must be at epoch k       |
//!
//! The cache holds at most `max.incremental.fetch.session.cache.slots` sessions. When it is full a
//! new session may evict the least recently used one only if that one has been idle for
//! `min.incremental.fetch.session.eviction.ms`; otherwise the client simply gets no session
//! (session id 0) and keeps sending full fetches, which is always correct.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::ResponseError;
use parking_lot::Mutex;
use uuid::Uuid;

/// Kafka's default for `max.incremental.fetch.session.cache.slots`.
pub const DEFAULT_CACHE_SLOTS: usize = 1000;
/// Kafka's default for `min.incremental.fetch.session.eviction.ms`.
pub const DEFAULT_EVICTION_MS: u64 = 120_000;

/// Session id 0: "no session".
pub const INVALID_SESSION_ID: i32 = 0;
/// Epoch that opens a session (or re-opens one).
pub const INITIAL_EPOCH: i32 = 0;
/// Epoch that closes a session or asks for a sessionless fetch.
pub const FINAL_EPOCH: i32 = -1;

/// Why a request's session parameters were refused. The whole Fetch response carries the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchSessionError {
    #[error("fetch session {session_id} not found")]
    SessionIdNotFound { session_id: i32 },
    #[error("fetch session {session_id} is at epoch {expected}, request sent {actual}")]
    InvalidEpoch {
        session_id: i32,
        expected: i32,
        actual: i32,
    },
    #[error("fetch session {session_id} was opened with a different topic-id usage")]
    TopicIdMismatch { session_id: i32 },
}

impl FetchSessionError {
    pub fn error_code(&self) -> i16 {
        match self {
            FetchSessionError::SessionIdNotFound { .. } => {
                ResponseError::FetchSessionIdNotFound.code()
            }
            FetchSessionError::InvalidEpoch { .. } => {
                ResponseError::InvalidFetchSessionEpoch.code()
            }
            FetchSessionError::TopicIdMismatch { .. } => {
                ResponseError::FetchSessionTopicIdError.code()
            }
        }
    }
}

/// How a partition is named inside a session. Requests from v13 on name topics by id only (the
/// name stays empty); older requests name them by name (the id stays nil). A session never mixes
/// the two, so keys of one session compare consistently.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    pub topic_id: Uuid,
    pub topic: String,
    pub partition: i32,
}

/// What the client asked for one partition (from the request, or remembered by the session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionFetchParams {
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
    pub current_leader_epoch: i32,
    pub log_start_offset: i64,
}

/// What the broker last told the client about one partition; an incremental response repeats a
/// partition only when one of these moved or when there is data or an error to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LastAnswer {
    high_watermark: i64,
    last_stable_offset: i64,
    log_start_offset: i64,
}

const NOT_ANSWERED: LastAnswer = LastAnswer {
    high_watermark: -1,
    last_stable_offset: -1,
    log_start_offset: -1,
};

#[derive(Debug, Clone)]
struct CachedPartition {
    params: PartitionFetchParams,
    last: LastAnswer,
}

#[derive(Debug)]
struct FetchSession {
    /// The epoch the next incremental request must carry.
    next_epoch: i32,
    uses_topic_ids: bool,
    /// Insertion order is the order partitions are read and answered in; partitions that
    /// returned records move to the back so that `max_bytes` does not starve the tail.
    partitions: IndexMap<SessionKey, CachedPartition>,
    last_used: Instant,
}

/// Which kind of fetch a request turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchContextKind {
    /// Full fetch, no session wanted (epoch -1) or possible.
    Sessionless,
    /// Full fetch that opens a new session when the response is built.
    Full,
    /// Incremental fetch on an existing session.
    Incremental { session_id: i32 },
}

/// The partitions one Fetch request reads, in answer order, resolved against its session.
#[derive(Debug, Clone)]
pub struct FetchContext {
    pub kind: FetchContextKind,
    pub uses_topic_ids: bool,
    pub partitions: Vec<(SessionKey, PartitionFetchParams)>,
}

/// The outcome of reading one partition, as far as the session cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOutcome {
    pub error_code: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub has_records: bool,
}

/// The bounded cache of fetch sessions, shared by all connections of a broker.
pub struct FetchSessionCache {
    max_slots: usize,
    eviction_after: Duration,
    sessions: Mutex<HashMap<i32, FetchSession>>,
}

impl FetchSessionCache {
    pub fn new(max_slots: usize, eviction_ms: u64) -> Self {
        FetchSessionCache {
            max_slots,
            eviction_after: Duration::from_millis(eviction_ms),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Number of open sessions.
    pub fn len(&self) -> usize {
        self.sessions.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves a request's session parameters. `requested` are the partitions the request
    /// lists (with their parameters), `forgotten` those it asks to drop (incremental only).
    ///
    /// A full fetch closes the session it names (if any) right away, as Kafka does; the new
    /// session is only created by [`FetchSessionCache::complete`], once the answer is known.
    pub fn new_context(
        &self,
        uses_topic_ids: bool,
        session_id: i32,
        epoch: i32,
        requested: Vec<(SessionKey, PartitionFetchParams)>,
        forgotten: &[SessionKey],
        now: Instant,
    ) -> Result<FetchContext, FetchSessionError> {
        if epoch == INITIAL_EPOCH || epoch == FINAL_EPOCH {
            if session_id != INVALID_SESSION_ID {
                self.sessions.lock().remove(&session_id);
            }
            let kind = if epoch == FINAL_EPOCH {
                FetchContextKind::Sessionless
            } else {
                FetchContextKind::Full
            };
            // A full request lists every partition; repeats keep their last parameters.
            let mut partitions: IndexMap<SessionKey, PartitionFetchParams> = IndexMap::new();
            for (key, params) in requested {
                partitions.insert(key, params);
            }
            return Ok(FetchContext {
                kind,
                uses_topic_ids,
                partitions: partitions.into_iter().collect(),
            });
        }

        let mut sessions = self.sessions.lock();
        let session = sessions
            .get_mut(&session_id)
            .ok_or(FetchSessionError::SessionIdNotFound { session_id })?;
        if session.next_epoch != epoch {
            return Err(FetchSessionError::InvalidEpoch {
                session_id,
                expected: session.next_epoch,
                actual: epoch,
            });
        }
        if session.uses_topic_ids != uses_topic_ids {
            return Err(FetchSessionError::TopicIdMismatch { session_id });
        }
        for key in forgotten {
            session.partitions.shift_remove(key);
        }
        for (key, params) in requested {
            match session.partitions.get_mut(&key) {
                Some(cached) => cached.params = params,
                None => {
                    session.partitions.insert(
                        key,
                        CachedPartition {
                            params,
                            last: NOT_ANSWERED,
                        },
                    );
                }
            }
        }
        session.next_epoch = next_epoch(epoch);
        session.last_used = now;
        Ok(FetchContext {
            kind: FetchContextKind::Incremental { session_id },
            uses_topic_ids,
            partitions: session
                .partitions
                .iter()
                .map(|(key, cached)| (key.clone(), cached.params))
                .collect(),
        })
    }

    /// Records what was answered and decides which partitions the response carries. Returns
    /// the session id for the response and, per partition of `context` (same order), whether
    /// to include it.
    pub fn complete(
        &self,
        context: &FetchContext,
        outcomes: &[PartitionOutcome],
        now: Instant,
    ) -> (i32, Vec<bool>) {
        match context.kind {
            FetchContextKind::Sessionless => (INVALID_SESSION_ID, vec![true; outcomes.len()]),
            FetchContextKind::Full => {
                let session_id = self.open_session(context, outcomes, now);
                (session_id, vec![true; outcomes.len()])
            }
            FetchContextKind::Incremental { session_id } => {
                let mut sessions = self.sessions.lock();
                let Some(session) = sessions.get_mut(&session_id) else {
                    // Evicted or closed by a concurrent full fetch while this one waited: the
                    // data read is still valid, so answer it in full and let the client's next
                    // incremental request learn that the session is gone.
                    return (session_id, vec![true; outcomes.len()]);
                };
                let mut include = Vec::with_capacity(outcomes.len());
                let mut to_back = Vec::new();
                for ((key, _), outcome) in context.partitions.iter().zip(outcomes) {
                    let Some(cached) = session.partitions.get_mut(key) else {
                        include.push(false);
                        continue;
                    };
                    let answer = LastAnswer {
                        high_watermark: outcome.high_watermark,
                        last_stable_offset: outcome.last_stable_offset,
                        log_start_offset: outcome.log_start_offset,
                    };
                    let changed =
                        outcome.error_code != 0 || outcome.has_records || answer != cached.last;
                    if outcome.error_code == 0 {
                        cached.last = answer;
                    } else {
                        // After an error the client must hear the next good answer in full.
                        cached.last = NOT_ANSWERED;
                    }
                    if outcome.has_records {
                        to_back.push(key.clone());
                    }
                    include.push(changed);
                }
                for key in to_back {
                    if let Some(cached) = session.partitions.shift_remove(&key) {
                        session.partitions.insert(key, cached);
                    }
                }
                session.last_used = now;
                (session_id, include)
            }
        }
    }

    fn open_session(
        &self,
        context: &FetchContext,
        outcomes: &[PartitionOutcome],
        now: Instant,
    ) -> i32 {
        let mut sessions = self.sessions.lock();
        if self.max_slots == 0 {
            return INVALID_SESSION_ID;
        }
        if sessions.len() >= self.max_slots {
            let idle_lru = sessions
                .iter()
                .filter(|(_, s)| now.saturating_duration_since(s.last_used) >= self.eviction_after)
                .min_by_key(|(_, s)| s.last_used)
                .map(|(id, _)| *id);
            match idle_lru {
                Some(id) => {
                    sessions.remove(&id);
                }
                None => return INVALID_SESSION_ID,
            }
        }
        let session_id = loop {
            let candidate = random_session_id();
            if !sessions.contains_key(&candidate) {
                break candidate;
            }
        };
        let partitions = context
            .partitions
            .iter()
            .zip(outcomes)
            .map(|((key, params), outcome)| {
                let last = if outcome.error_code == 0 {
                    LastAnswer {
                        high_watermark: outcome.high_watermark,
                        last_stable_offset: outcome.last_stable_offset,
                        log_start_offset: outcome.log_start_offset,
                    }
                } else {
                    NOT_ANSWERED
                };
                (
                    key.clone(),
                    CachedPartition {
                        params: *params,
                        last,
                    },
                )
            })
            .collect();
        sessions.insert(
            session_id,
            FetchSession {
                next_epoch: next_epoch(INITIAL_EPOCH),
                uses_topic_ids: context.uses_topic_ids,
                partitions,
                last_used: now,
            },
        );
        session_id
    }
}

/// The epoch after `epoch`, wrapping to 1 (0 and -1 have fixed meanings) as Kafka does.
fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// A positive, unpredictable session id: ids are the only thing that ties a request to a
/// session, so they should not be guessable by another client.
fn random_session_id() -> i32 {
    loop {
        let bits = Uuid::new_v4().as_u128();
        let id = (bits as i32) & i32::MAX;
        if id != INVALID_SESSION_ID {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(topic: &str, partition: i32) -> SessionKey {
        SessionKey {
            topic_id: Uuid::nil(),
            topic: topic.to_string(),
            partition,
        }
    }

    fn params(fetch_offset: i64) -> PartitionFetchParams {
        PartitionFetchParams {
            fetch_offset,
            partition_max_bytes: 1 << 20,
            current_leader_epoch: -1,
            log_start_offset: -1,
        }
    }

    fn outcome(high_watermark: i64, has_records: bool) -> PartitionOutcome {
        PartitionOutcome {
            error_code: 0,
            high_watermark,
            last_stable_offset: high_watermark,
            log_start_offset: 0,
            has_records,
        }
    }

    fn open(cache: &FetchSessionCache, now: Instant) -> i32 {
        let ctx = cache
            .new_context(
                false,
                0,
                0,
                vec![(key("a", 0), params(0)), (key("a", 1), params(0))],
                &[],
                now,
            )
            .unwrap();
        assert_eq!(ctx.kind, FetchContextKind::Full);
        let (id, include) = cache.complete(&ctx, &[outcome(5, true), outcome(0, false)], now);
        assert_eq!(include, vec![true, true]);
        id
    }

    #[test]
    fn full_fetch_opens_a_session_and_incremental_omits_unchanged_partitions() {
        let cache = FetchSessionCache::new(10, DEFAULT_EVICTION_MS);
        let now = Instant::now();
        let id = open(&cache, now);
        assert_ne!(id, 0);
        assert_eq!(cache.len(), 1);

        // Epoch 1: the client moved its offset on a-0 and sends only that partition.
        let ctx = cache
            .new_context(false, id, 1, vec![(key("a", 0), params(5))], &[], now)
            .unwrap();
        assert_eq!(ctx.partitions.len(), 2, "the session remembers a-1");
        assert_eq!(ctx.partitions[0].1.fetch_offset, 5);
        let (same_id, include) = cache.complete(&ctx, &[outcome(5, false), outcome(0, false)], now);
        assert_eq!(same_id, id);
        assert_eq!(include, vec![false, false], "nothing changed");

        // Epoch 2: a-1 got data.
        let ctx = cache.new_context(false, id, 2, vec![], &[], now).unwrap();
        let (_, include) = cache.complete(&ctx, &[outcome(5, false), outcome(3, true)], now);
        assert_eq!(include, vec![false, true]);
    }

    #[test]
    fn wrong_epoch_and_unknown_session_are_refused() {
        let cache = FetchSessionCache::new(10, DEFAULT_EVICTION_MS);
        let now = Instant::now();
        let id = open(&cache, now);
        let err = cache
            .new_context(false, id, 7, vec![], &[], now)
            .unwrap_err();
        assert_eq!(err.error_code(), 71);
        let err = cache
            .new_context(false, id.wrapping_add(1), 1, vec![], &[], now)
            .unwrap_err();
        assert_eq!(err.error_code(), 70);
        // A refused epoch does not advance the session.
        assert!(cache.new_context(false, id, 1, vec![], &[], now).is_ok());
        let err = cache
            .new_context(true, id, 2, vec![], &[], now)
            .unwrap_err();
        assert_eq!(err.error_code(), 106);
    }

    #[test]
    fn forgotten_partitions_leave_the_session() {
        let cache = FetchSessionCache::new(10, DEFAULT_EVICTION_MS);
        let now = Instant::now();
        let id = open(&cache, now);
        let ctx = cache
            .new_context(false, id, 1, vec![], &[key("a", 0)], now)
            .unwrap();
        assert_eq!(ctx.partitions.len(), 1);
        assert_eq!(ctx.partitions[0].0, key("a", 1));
    }

    #[test]
    fn partitions_that_returned_records_move_to_the_back() {
        let cache = FetchSessionCache::new(10, DEFAULT_EVICTION_MS);
        let now = Instant::now();
        let id = open(&cache, now);
        let ctx = cache.new_context(false, id, 1, vec![], &[], now).unwrap();
        assert_eq!(
            ctx.partitions[0].0,
            key("a", 0),
            "a full fetch keeps request order"
        );
        cache.complete(&ctx, &[outcome(9, true), outcome(0, false)], now);
        let ctx = cache.new_context(false, id, 2, vec![], &[], now).unwrap();
        assert_eq!(
            ctx.partitions[0].0,
            key("a", 1),
            "a-0 returned records last time"
        );
    }

    #[test]
    fn final_epoch_closes_the_session_and_fetches_without_one() {
        let cache = FetchSessionCache::new(10, DEFAULT_EVICTION_MS);
        let now = Instant::now();
        let id = open(&cache, now);
        let ctx = cache
            .new_context(
                false,
                id,
                FINAL_EPOCH,
                vec![(key("b", 0), params(0))],
                &[],
                now,
            )
            .unwrap();
        assert_eq!(ctx.kind, FetchContextKind::Sessionless);
        assert!(cache.is_empty());
        let (sid, _) = cache.complete(&ctx, &[outcome(0, false)], now);
        assert_eq!(sid, INVALID_SESSION_ID);
    }

    #[test]
    fn a_full_cache_evicts_only_idle_sessions() {
        let cache = FetchSessionCache::new(1, 1_000);
        let start = Instant::now();
        let first = open(&cache, start);
        assert_ne!(open(&cache, start), first);
        // The second session replaced nothing: it got no slot, so the cache still has one.
        assert_eq!(cache.len(), 1);
        let later = start + Duration::from_millis(1_500);
        let third = open(&cache, later);
        assert_ne!(third, INVALID_SESSION_ID);
        assert_eq!(cache.len(), 1);
        let err = cache
            .new_context(false, first, 1, vec![], &[], later)
            .unwrap_err();
        assert_eq!(err.error_code(), 70);
    }

    #[test]
    fn errors_are_always_answered_and_reset_the_cached_state() {
        let cache = FetchSessionCache::new(10, DEFAULT_EVICTION_MS);
        let now = Instant::now();
        let id = open(&cache, now);
        let ctx = cache.new_context(false, id, 1, vec![], &[], now).unwrap();
        let mut failed = outcome(0, false);
        failed.error_code = 1;
        let (_, include) = cache.complete(&ctx, &[failed, outcome(0, false)], now);
        assert_eq!(include, vec![true, false]);
        let ctx = cache.new_context(false, id, 2, vec![], &[], now).unwrap();
        let (_, include) = cache.complete(&ctx, &[outcome(0, false), outcome(0, false)], now);
        assert_eq!(
            include,
            vec![true, false],
            "first good answer after an error is sent"
        );
    }

    #[test]
    fn epochs_wrap_past_zero() {
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(3), 4);
    }
}
