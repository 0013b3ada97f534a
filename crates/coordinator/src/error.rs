//! The coordinator layer's error enum and its single mapping to Kafka error codes.

use kafka_protocol::ResponseError;

/// Everything the group coordinator can refuse. Each variant maps to exactly one Kafka error code
/// in [`GroupError::error_code`]; no other place in this crate turns errors into codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// The member id is not (or no longer) part of the group.
    #[error("unknown member id")]
    UnknownMemberId,
    /// The request carries a generation other than the group's current one.
    #[error("illegal generation")]
    IllegalGeneration,
    /// The group is rebalancing; the member must rejoin.
    #[error("rebalance in progress")]
    RebalanceInProgress,
    /// KIP-394: a dynamic member must rejoin with the member id the coordinator chose for it.
    #[error("member id required; rejoin with {member_id}")]
    MemberIdRequired {
        /// The id assigned to the member, sent back in the JoinGroup response.
        member_id: String,
    },
    /// Protocol type or protocols do not match what the group runs.
    #[error("inconsistent group protocol")]
    InconsistentGroupProtocol,
    /// KIP-345: another member id holds this group.instance.id.
    #[error("fenced group instance id")]
    FencedInstanceId,
    /// `group.max.size` members already joined.
    #[error("group max size reached")]
    GroupMaxSizeReached,
    /// The session timeout is outside `group.{min,max}.session.timeout.ms`.
    #[error("invalid session timeout {session_timeout_ms} ms")]
    InvalidSessionTimeout {
        /// What the member asked for.
        session_timeout_ms: i32,
    },
    /// An empty group id.
    #[error("invalid group id")]
    InvalidGroupId,
    /// The group is dead (being unloaded or deleted).
    #[error("coordinator not available")]
    CoordinatorNotAvailable,
    /// The offset commit's metadata string exceeds `offset.metadata.max.bytes`.
    #[error("offset metadata of {metadata_bytes} bytes is too large")]
    OffsetMetadataTooLarge {
        /// Length of the refused metadata string.
        metadata_bytes: usize,
    },
    /// OffsetDelete while the group has members that may be consuming the topic.
    #[error("group is subscribed to the topic")]
    GroupSubscribedToTopic,
    /// DeleteGroups on a group that still has members.
    #[error("group is not empty")]
    NonEmptyGroup,
    /// The group does not exist (or is of the other kind: classic vs consumer).
    #[error("group id not found")]
    GroupIdNotFound,
    /// KIP-848: the member's epoch is older than the coordinator's; it must rejoin at epoch 0.
    #[error("fenced member epoch")]
    FencedMemberEpoch,
    /// KIP-848: a static member rejoins while its previous incarnation has not left.
    #[error("unreleased instance id")]
    UnreleasedInstanceId,
    /// KIP-848: the server assignor named in the heartbeat is not configured.
    #[error("unsupported assignor {assignor}")]
    UnsupportedAssignor {
        /// The refused name.
        assignor: String,
    },
    /// KIP-848 OffsetCommit with a member epoch other than the member's current one.
    #[error("stale member epoch")]
    StaleMemberEpoch,
    /// A request field combination Kafka refuses as malformed (e.g. a heartbeat at epoch 0
    /// without subscriptions).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What was wrong, for the log (never sent to clients).
        reason: &'static str,
    },
    /// OffsetFetch with `require_stable`: a transaction holds a pending offset of the
    /// partition; the consumer retries once the transaction ended.
    #[error("unstable offset commit")]
    UnstableOffsetCommit,
    /// A `__consumer_offsets` record that cannot be decoded.
    #[error("corrupt coordinator record: {reason}")]
    CorruptRecord {
        /// What was wrong, for the log.
        reason: &'static str,
    },
    /// A `__consumer_offsets` record version this coordinator does not read.
    #[error("unsupported coordinator record version {version}")]
    UnsupportedRecordVersion {
        /// The key or value version found.
        version: i16,
    },
}

impl GroupError {
    /// The Kafka error code sent to clients for this error.
    pub fn error_code(&self) -> i16 {
        match self {
            GroupError::UnknownMemberId => ResponseError::UnknownMemberId.code(),
            GroupError::IllegalGeneration => ResponseError::IllegalGeneration.code(),
            GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress.code(),
            GroupError::MemberIdRequired { .. } => ResponseError::MemberIdRequired.code(),
            GroupError::InconsistentGroupProtocol => {
                ResponseError::InconsistentGroupProtocol.code()
            }
            GroupError::FencedInstanceId => ResponseError::FencedInstanceId.code(),
            GroupError::GroupMaxSizeReached => ResponseError::GroupMaxSizeReached.code(),
            GroupError::InvalidSessionTimeout { .. } => ResponseError::InvalidSessionTimeout.code(),
            GroupError::InvalidGroupId => ResponseError::InvalidGroupId.code(),
            GroupError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable.code(),
            GroupError::OffsetMetadataTooLarge { .. } => {
                ResponseError::OffsetMetadataTooLarge.code()
            }
            GroupError::GroupSubscribedToTopic => ResponseError::GroupSubscribedToTopic.code(),
            GroupError::NonEmptyGroup => ResponseError::NonEmptyGroup.code(),
            GroupError::GroupIdNotFound => ResponseError::GroupIdNotFound.code(),
            GroupError::FencedMemberEpoch => ResponseError::FencedMemberEpoch.code(),
            GroupError::UnreleasedInstanceId => ResponseError::UnreleasedInstanceId.code(),
            GroupError::UnsupportedAssignor { .. } => ResponseError::UnsupportedAssignor.code(),
            GroupError::StaleMemberEpoch => ResponseError::StaleMemberEpoch.code(),
            GroupError::InvalidRequest { .. } => ResponseError::InvalidRequest.code(),
            GroupError::UnstableOffsetCommit => ResponseError::UnstableOffsetCommit.code(),
            // Records come from our own log: a bad one is an internal fault, never a client's.
            GroupError::CorruptRecord { .. } | GroupError::UnsupportedRecordVersion { .. } => {
                ResponseError::UnknownServerError.code()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kafkas() {
        assert_eq!(GroupError::UnknownMemberId.error_code(), 25);
        assert_eq!(GroupError::IllegalGeneration.error_code(), 22);
        assert_eq!(GroupError::RebalanceInProgress.error_code(), 27);
        let required = GroupError::MemberIdRequired {
            member_id: "m".into(),
        };
        assert_eq!(required.error_code(), 79);
        assert_eq!(GroupError::InconsistentGroupProtocol.error_code(), 23);
        assert_eq!(GroupError::FencedInstanceId.error_code(), 82);
        assert_eq!(GroupError::GroupMaxSizeReached.error_code(), 81);
        assert_eq!(GroupError::CoordinatorNotAvailable.error_code(), 15);
        assert_eq!(GroupError::NonEmptyGroup.error_code(), 68);
        assert_eq!(GroupError::GroupIdNotFound.error_code(), 69);
        assert_eq!(GroupError::InvalidGroupId.error_code(), 24);
        assert_eq!(GroupError::FencedMemberEpoch.error_code(), 110);
        assert_eq!(GroupError::UnreleasedInstanceId.error_code(), 111);
        let assignor = GroupError::UnsupportedAssignor {
            assignor: "x".into(),
        };
        assert_eq!(assignor.error_code(), 112);
        assert_eq!(GroupError::StaleMemberEpoch.error_code(), 113);
        assert_eq!(GroupError::InvalidRequest { reason: "x" }.error_code(), 42);
        assert_eq!(GroupError::UnstableOffsetCommit.error_code(), 88);
        let corrupt = GroupError::CorruptRecord { reason: "x" };
        assert_eq!(corrupt.error_code(), -1);
    }
}
