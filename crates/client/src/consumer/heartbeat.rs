//! The background heartbeat of a group member, as Java's heartbeat thread: a tokio task that
//! sends a Heartbeat every `heartbeat.interval.ms` while the member is stable, so a consumer
//! that processes records for longer than `session.timeout.ms` between polls keeps its
//! partitions. Liveness of the *application* is still enforced: when `poll` has not been
//! called for `max.poll.interval.ms`, the task leaves the group (LeaveGroup; static members
//! just stop heartbeating, KIP-345) so the partitions move on, and the next `poll` rejoins.
//!
//! The task never changes membership itself beyond what the next `poll` must act on: it
//! records in [`HeartbeatState`] that a rejoin is needed, that the member id is void
//! (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID), or a fatal error; `poll`
//! applies it. An answer for a generation that `poll` has meanwhile replaced is ignored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::{ApiKey, GroupId, HeartbeatRequest, LeaveGroupRequest};
use kafka_protocol::protocol::{Request, StrBytes};
use kafka_protocol::ResponseError;
use parking_lot::Mutex;
use tokio::task::JoinHandle;

use crate::admin::groups::find_coordinator;
use crate::cluster::Cluster;
use crate::connection::{client_versions, Connection};
use crate::error::ClientError;

/// Membership facts shared between `poll` and the heartbeat task.
#[derive(Debug)]
pub(crate) struct HeartbeatState {
    pub(crate) group_id: String,
    pub(crate) member_id: String,
    pub(crate) generation_id: i32,
    pub(crate) group_instance_id: Option<String>,
    /// Heartbeats go out only while joined and not rejoining.
    pub(crate) stable: bool,
    /// When the application last called `poll`.
    pub(crate) last_poll: Instant,
    /// Set by the task: the next `poll` must rejoin.
    pub(crate) needs_rejoin: bool,
    /// Set by the task: the member id and generation are no longer valid.
    pub(crate) reset_member: bool,
    /// Set by the task: a non-retriable failure for `poll` to report.
    pub(crate) error: Option<ClientError>,
}

impl HeartbeatState {
    pub(crate) fn new(group_id: String, group_instance_id: Option<String>) -> HeartbeatState {
        HeartbeatState {
            group_id,
            member_id: String::new(),
            generation_id: -1,
            group_instance_id,
            stable: false,
            last_poll: Instant::now(),
            needs_rejoin: false,
            reset_member: false,
            error: None,
        }
    }

    /// Records what a heartbeat error means for membership.
    fn apply_error(&mut self, err: ClientError) {
        match err.kafka_error() {
            Some(ResponseError::RebalanceInProgress) => {
                self.needs_rejoin = true;
                self.stable = false;
            }
            Some(
                ResponseError::UnknownMemberId
                | ResponseError::IllegalGeneration
                | ResponseError::FencedInstanceId,
            ) => {
                self.needs_rejoin = true;
                self.reset_member = true;
                self.stable = false;
            }
            // The coordinator moved or is busy: the next beat finds it again.
            _ if err.is_retriable() => {
                tracing::debug!(group = %self.group_id, %err, "heartbeat failed; retrying")
            }
            _ => self.error = Some(err),
        }
    }
}

/// The running heartbeat task; stopped when dropped.
pub(crate) struct Heartbeat {
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Heartbeat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Heartbeat")
            .field("finished", &self.task.is_finished())
            .finish()
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Heartbeat {
    /// Starts beating for the member described by `state`.
    pub(crate) fn start(
        cluster: Cluster,
        state: Arc<Mutex<HeartbeatState>>,
        heartbeat_interval: Duration,
        max_poll_interval: Duration,
    ) -> Heartbeat {
        let task = tokio::spawn(run(cluster, state, heartbeat_interval, max_poll_interval));
        Heartbeat { task }
    }
}

async fn run(
    cluster: Cluster,
    state: Arc<Mutex<HeartbeatState>>,
    heartbeat_interval: Duration,
    max_poll_interval: Duration,
) {
    let interval = heartbeat_interval.max(Duration::from_millis(1));
    loop {
        tokio::time::sleep(interval).await;
        let (group_id, member_id, generation_id, instance_id, leave) = {
            let mut s = state.lock();
            if !s.stable {
                continue;
            }
            let poll_expired = s.last_poll.elapsed() > max_poll_interval;
            if poll_expired {
                tracing::warn!(
                    group = %s.group_id,
                    "poll not called within max.poll.interval.ms; leaving the group"
                );
                s.stable = false;
                s.needs_rejoin = true;
                // A static member keeps its id (KIP-345); a dynamic one joins afresh.
                s.reset_member = s.group_instance_id.is_none();
            }
            (
                s.group_id.clone(),
                s.member_id.clone(),
                s.generation_id,
                s.group_instance_id.clone(),
                poll_expired,
            )
        };
        if leave {
            if instance_id.is_none() {
                if let Err(err) = leave_group(&cluster, &group_id, &member_id).await {
                    tracing::debug!(group = %group_id, %err, "LeaveGroup failed");
                }
            }
            continue;
        }
        let result =
            send_heartbeat(&cluster, &group_id, &member_id, generation_id, instance_id).await;
        let mut s = state.lock();
        if s.generation_id != generation_id || s.member_id != member_id || !s.stable {
            // `poll` rejoined (or began to) meanwhile; this answer is about the old member.
            continue;
        }
        if let Err(err) = result {
            s.apply_error(err);
        }
    }
}

fn negotiate<R: Request>(conn: &Connection, api_key: ApiKey) -> Result<i16, ClientError> {
    let (min, max) = client_versions::<R>();
    conn.negotiate(api_key, min, max)
}

async fn send_heartbeat(
    cluster: &Cluster,
    group_id: &str,
    member_id: &str,
    generation_id: i32,
    instance_id: Option<String>,
) -> Result<(), ClientError> {
    let coordinator = find_coordinator(cluster, group_id, 0).await?;
    let conn = cluster.connection(coordinator).await?;
    let version = negotiate::<HeartbeatRequest>(&conn, ApiKey::Heartbeat)?;
    let mut request = HeartbeatRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group_id.to_string())))
        .with_generation_id(generation_id)
        .with_member_id(StrBytes::from_string(member_id.to_string()));
    if version >= 3 {
        request = request.with_group_instance_id(instance_id.map(StrBytes::from_string));
    }
    let response = conn.call_at(&request, version).await?;
    ClientError::check(response.error_code, None)
}

/// Sends LeaveGroup for a dynamic member.
pub(crate) async fn leave_group(
    cluster: &Cluster,
    group_id: &str,
    member_id: &str,
) -> Result<(), ClientError> {
    let coordinator = find_coordinator(cluster, group_id, 0).await?;
    let conn = cluster.connection(coordinator).await?;
    let version = negotiate::<LeaveGroupRequest>(&conn, ApiKey::LeaveGroup)?;
    let member_id = StrBytes::from_string(member_id.to_string());
    let group_id = GroupId(StrBytes::from_string(group_id.to_string()));
    let request = if version >= 3 {
        LeaveGroupRequest::default()
            .with_group_id(group_id)
            .with_members(vec![MemberIdentity::default().with_member_id(member_id)])
    } else {
        LeaveGroupRequest::default()
            .with_group_id(group_id)
            .with_member_id(member_id)
    };
    let response = conn.call_at(&request, version).await?;
    ClientError::check(response.error_code, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kafka(error: ResponseError) -> ClientError {
        ClientError::Kafka {
            error,
            message: None,
        }
    }

    #[test]
    fn heartbeat_errors_map_to_what_poll_must_do() {
        let mut s = HeartbeatState::new("g".into(), None);
        s.stable = true;
        s.apply_error(kafka(ResponseError::NotCoordinator));
        assert!(s.stable && !s.needs_rejoin && s.error.is_none());
        s.apply_error(kafka(ResponseError::RebalanceInProgress));
        assert!(!s.stable && s.needs_rejoin && !s.reset_member);
        s.stable = true;
        s.apply_error(kafka(ResponseError::UnknownMemberId));
        assert!(!s.stable && s.reset_member);
        s.apply_error(kafka(ResponseError::GroupAuthorizationFailed));
        assert!(s.error.is_some());
    }
}
