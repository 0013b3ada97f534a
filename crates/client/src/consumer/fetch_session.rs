//! Fetch sessions (KIP-227): one per broker the consumer fetches from.
//!
//! The first Fetch to a broker is a full fetch that asks for a session (session id 0, epoch 0)
//! and lists every partition. When the broker answers with a session id, later requests are
//! incremental: they carry the session id and the next epoch, list only the partitions that are
//! new or whose fetch state (offset, leader epoch) changed since the last request, and name in
//! `forgotten_topics_data` those the consumer no longer wants from this broker. The broker keeps
//! the rest and answers for every session partition that has data or an error, so a consumer
//! of many quiet partitions sends and receives a few bytes per poll instead of all of them.
//!
//! Epochs count 1, 2, ... and wrap from `i32::MAX` to 1 (0 means "new session", -1 "no
//! session"). The session falls back to a full fetch that creates a new one when the broker
//! answers FETCH_SESSION_ID_NOT_FOUND or INVALID_FETCH_SESSION_EPOCH, when a request fails (the
//! broker may or may not have taken its epoch), and when the broker answers session id 0 (no
//! session: its cache is full). Against a broker whose Fetch is older than v7 there are no
//! sessions: every request is full with epoch -1.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;

use crate::cluster::TopicPartition;

/// Session id meaning "no session".
const INVALID_SESSION_ID: i32 = 0;
/// Epoch asking the broker for a new session (full request).
const INITIAL_EPOCH: i32 = 0;
/// Epoch of a full fetch outside any session (Fetch before v7, or sessions off).
pub(crate) const FINAL_EPOCH: i32 = -1;
/// The oldest Fetch version with sessions.
pub(crate) const FETCH_SESSION_MIN_VERSION: i16 = 7;

/// What the consumer asks of one partition: fetch offset and current leader epoch.
pub(crate) type PartitionFetch = (i64, i32);

/// A Fetch request's session part, and which partitions it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionRequest {
    pub(crate) session_id: i32,
    pub(crate) session_epoch: i32,
    /// Partitions to put in the request (all of them for a full fetch).
    pub(crate) send: Vec<(TopicPartition, PartitionFetch)>,
    /// Partitions the broker should drop from the session.
    pub(crate) forget: Vec<TopicPartition>,
    /// What the session holds once the broker has taken this request.
    pub(crate) wanted: BTreeMap<TopicPartition, PartitionFetch>,
    pub(crate) full: bool,
}

/// The client side of one broker's fetch session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchSession {
    session_id: i32,
    /// The epoch the next request carries.
    next_epoch: i32,
    /// Fetch state of each partition as the broker has it.
    partitions: BTreeMap<TopicPartition, PartitionFetch>,
}

impl Default for FetchSession {
    fn default() -> Self {
        FetchSession {
            session_id: INVALID_SESSION_ID,
            next_epoch: INITIAL_EPOCH,
            partitions: BTreeMap::new(),
        }
    }
}

fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

impl FetchSession {
    pub(crate) fn session_id(&self) -> i32 {
        self.session_id
    }

    pub(crate) fn next_epoch(&self) -> i32 {
        self.next_epoch
    }

    /// The request for `wanted` (every partition the consumer wants from this broker now).
    pub(crate) fn build(&self, wanted: BTreeMap<TopicPartition, PartitionFetch>) -> SessionRequest {
        if self.session_id == INVALID_SESSION_ID || self.next_epoch == INITIAL_EPOCH {
            return SessionRequest {
                session_id: INVALID_SESSION_ID,
                session_epoch: INITIAL_EPOCH,
                send: wanted.iter().map(|(tp, f)| (tp.clone(), *f)).collect(),
                forget: Vec::new(),
                wanted,
                full: true,
            };
        }
        let send = wanted
            .iter()
            .filter(|(tp, f)| self.partitions.get(*tp) != Some(*f))
            .map(|(tp, f)| (tp.clone(), *f))
            .collect();
        let forget = self
            .partitions
            .keys()
            .filter(|tp| !wanted.contains_key(*tp))
            .cloned()
            .collect();
        SessionRequest {
            session_id: self.session_id,
            session_epoch: self.next_epoch,
            send,
            forget,
            wanted,
            full: false,
        }
    }

    /// The broker answered `request` with `error_code` (top level) and `session_id`.
    /// Returns true when the request was refused for session reasons and must be sent again
    /// as a full fetch.
    pub(crate) fn handle_response(
        &mut self,
        request: SessionRequest,
        error_code: i16,
        session_id: i32,
    ) -> bool {
        let session_lost = [
            ResponseError::FetchSessionIdNotFound.code(),
            ResponseError::InvalidFetchSessionEpoch.code(),
        ];
        if session_lost.contains(&error_code) {
            tracing::debug!(
                session_id = self.session_id,
                error_code,
                "fetch session lost; next fetch is full"
            );
            *self = FetchSession::default();
            return true;
        }
        if error_code != 0 {
            // Not taken; the session is as it was (the broker did not bump its epoch).
            return false;
        }
        if request.full {
            self.session_id = session_id;
            // Session id 0: the broker keeps no session; ask again next time.
            self.next_epoch = if session_id == INVALID_SESSION_ID {
                INITIAL_EPOCH
            } else {
                1
            };
        } else {
            self.next_epoch = next_epoch(self.next_epoch);
        }
        self.partitions = request.wanted;
        false
    }

    /// The request failed on the way (connection, timeout): whether the broker took its epoch
    /// is unknown, so the next fetch starts a new session.
    pub(crate) fn handle_failure(&mut self) {
        *self = FetchSession::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn wanted(items: &[(i32, i64)]) -> BTreeMap<TopicPartition, PartitionFetch> {
        items.iter().map(|(p, o)| (tp(*p), (*o, 0))).collect()
    }

    #[test]
    fn full_then_incremental_with_only_changed_and_forgotten_partitions() {
        let mut s = FetchSession::default();
        let first = s.build(wanted(&[(0, 10), (1, 20), (2, 30)]));
        assert!(first.full);
        assert_eq!((first.session_id, first.session_epoch), (0, 0));
        assert_eq!(first.send.len(), 3);
        assert!(!s.handle_response(first, 0, 77));
        assert_eq!((s.session_id(), s.next_epoch()), (77, 1));

        // Partition 0 moved on, 1 is unchanged, 2 is no longer wanted, 3 is new.
        let second = s.build(wanted(&[(0, 15), (1, 20), (3, 0)]));
        assert!(!second.full);
        assert_eq!((second.session_id, second.session_epoch), (77, 1));
        assert_eq!(
            second.send,
            vec![(tp(0), (15, 0)), (tp(3), (0, 0))],
            "only new and changed partitions"
        );
        assert_eq!(second.forget, vec![tp(2)]);
        assert!(!s.handle_response(second, 0, 77));
        assert_eq!(s.next_epoch(), 2);

        // Nothing changed: an empty incremental request.
        let third = s.build(wanted(&[(0, 15), (1, 20), (3, 0)]));
        assert!(third.send.is_empty() && third.forget.is_empty());
        assert_eq!(third.session_epoch, 2);
    }

    #[test]
    fn session_errors_fall_back_to_a_full_fetch() {
        for code in [
            ResponseError::FetchSessionIdNotFound.code(),
            ResponseError::InvalidFetchSessionEpoch.code(),
        ] {
            let mut s = FetchSession::default();
            let first = s.build(wanted(&[(0, 1)]));
            s.handle_response(first, 0, 5);
            let second = s.build(wanted(&[(0, 2)]));
            assert!(!second.full);
            assert!(s.handle_response(second, code, 0), "retry as full");
            let again = s.build(wanted(&[(0, 2)]));
            assert!(again.full);
            assert_eq!((again.session_id, again.session_epoch), (0, 0));
            assert_eq!(again.send, vec![(tp(0), (2, 0))]);
        }
    }

    #[test]
    fn failures_and_sessionless_brokers_send_full_fetches() {
        let mut s = FetchSession::default();
        let first = s.build(wanted(&[(0, 1)]));
        // The broker's session cache is full: it answers session id 0.
        s.handle_response(first, 0, 0);
        assert!(s.build(wanted(&[(0, 1)])).full);
        let first = s.build(wanted(&[(0, 1)]));
        s.handle_response(first, 0, 9);
        assert!(!s.build(wanted(&[(0, 1)])).full);
        s.handle_failure();
        assert!(s.build(wanted(&[(0, 1)])).full);
    }

    #[test]
    fn other_errors_keep_the_session_and_its_epoch() {
        let mut s = FetchSession::default();
        let first = s.build(wanted(&[(0, 1)]));
        s.handle_response(first, 0, 9);
        let second = s.build(wanted(&[(0, 5)]));
        assert!(!s.handle_response(second, ResponseError::UnknownServerError.code(), 0));
        let third = s.build(wanted(&[(0, 5)]));
        assert_eq!(third.session_epoch, 1);
        assert_eq!(third.send, vec![(tp(0), (5, 0))]);
    }

    #[test]
    fn epochs_wrap_to_one() {
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(1), 2);
    }
}
