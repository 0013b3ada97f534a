//! The table of APIs fjord serves and the version range of each: the single source that both
//! the dispatcher (which refuses anything outside it) and the ApiVersions handler (which
//! advertises exactly it) read.
//!
//! An API goes into [`SUPPORTED_APIS`] in the same commit as its handler goes into the
//! broker's dispatcher; a broker test checks that every row here reaches a handler. Advertising
//! an API without a handler breaks real clients (librdkafka switches code paths on what is
//! advertised), so the table never runs ahead of the code.

use kafka_protocol::messages::ApiKey;

/// One API fjord serves, with the inclusive range of request versions it decodes and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiSupport {
    pub api_key: ApiKey,
    /// Oldest request version accepted. May be above what ApiVersions advertises, see
    /// [`ApiSupport::advertised_min_version`].
    pub min_version: i16,
    /// Newest request version accepted and advertised.
    pub max_version: i16,
}

impl ApiSupport {
    pub const fn new(api_key: ApiKey, min_version: i16, max_version: i16) -> Self {
        ApiSupport {
            api_key,
            min_version,
            max_version,
        }
    }

    /// Whether a request at `version` is decoded and handled.
    pub fn accepts(&self, version: i16) -> bool {
        (self.min_version..=self.max_version).contains(&version)
    }

    /// The minimum version ApiVersions reports for this API.
    ///
    /// Equal to `min_version` except for Produce: Kafka 4.0 removed Produce v0-2, but
    /// librdkafka only enables compression (and some other features) when the advertised
    /// Produce range starts at 0, so Kafka 4.0.0+ keeps advertising v0 while refusing v0-2
    /// requests (KAFKA-18659). fjord copies that so the same clients work.
    pub fn advertised_min_version(&self) -> i16 {
        match self.api_key {
            ApiKey::Produce => 0,
            _ => self.min_version,
        }
    }
}

/// Every API fjord serves. Keep ordered by API key; see the module docs for the rule.
///
/// Ranges start at the codec's oldest version (Kafka 4.x's KIP-896 baseline, checked by a test)
/// and, for JoinGroup, at v0: Kafka 4.1 restored JoinGroup v0-1 because kafka-go, brod and
/// kafka_ex broke without them (KAFKA-19444), and the codec still decodes them.
pub const SUPPORTED_APIS: &[ApiSupport] = &[
    // Produce v0-2 are advertised but refused (see `advertised_min_version`).
    ApiSupport::new(ApiKey::Produce, 3, 13),
    ApiSupport::new(ApiKey::Fetch, 4, 18),
    ApiSupport::new(ApiKey::ListOffsets, 1, 10),
    ApiSupport::new(ApiKey::Metadata, 0, 13),
    // The classic group APIs (crates/broker/src/group): Kafka 4.x's ranges, as far as the
    // codec reaches (OffsetCommit/OffsetFetch v10 name topics by id and are not in it).
    ApiSupport::new(ApiKey::OffsetCommit, 2, 9),
    ApiSupport::new(ApiKey::OffsetFetch, 1, 9),
    ApiSupport::new(ApiKey::FindCoordinator, 0, 6),
    ApiSupport::new(ApiKey::JoinGroup, 0, 9),
    ApiSupport::new(ApiKey::Heartbeat, 0, 4),
    ApiSupport::new(ApiKey::LeaveGroup, 0, 5),
    ApiSupport::new(ApiKey::SyncGroup, 0, 5),
    ApiSupport::new(ApiKey::DescribeGroups, 0, 6),
    ApiSupport::new(ApiKey::ListGroups, 0, 5),
    // v0-4; v3+ is flexible. Requests at an unknown version are still answered (KIP-511).
    ApiSupport::new(ApiKey::ApiVersions, 0, 4),
    ApiSupport::new(ApiKey::CreateTopics, 2, 7),
    ApiSupport::new(ApiKey::DeleteTopics, 1, 6),
    ApiSupport::new(ApiKey::DeleteRecords, 0, 2),
    ApiSupport::new(ApiKey::InitProducerId, 0, 5),
    ApiSupport::new(ApiKey::OffsetForLeaderEpoch, 2, 4),
    // The transaction coordinator (crates/broker/src/txn), Kafka 4.x's ranges.
    ApiSupport::new(ApiKey::AddPartitionsToTxn, 0, 5),
    ApiSupport::new(ApiKey::AddOffsetsToTxn, 0, 4),
    ApiSupport::new(ApiKey::EndTxn, 0, 5),
    // The coordinator's marker writes (crates/broker/src/handlers/write_txn_markers.rs); v1
    // only, as in Kafka 4.x.
    ApiSupport::new(ApiKey::WriteTxnMarkers, 1, 1),
    // Transactional offset commits (crates/broker/src/handlers/txn_offset_commit.rs): Kafka
    // 4.x's range; v5 is v4's format.
    ApiSupport::new(ApiKey::TxnOffsetCommit, 0, 5),
    ApiSupport::new(ApiKey::DescribeConfigs, 1, 4),
    ApiSupport::new(ApiKey::AlterConfigs, 0, 2),
    ApiSupport::new(ApiKey::DescribeLogDirs, 1, 4),
    ApiSupport::new(ApiKey::CreatePartitions, 0, 3),
    ApiSupport::new(ApiKey::DeleteGroups, 0, 2),
    ApiSupport::new(ApiKey::IncrementalAlterConfigs, 0, 1),
    ApiSupport::new(ApiKey::OffsetDelete, 0, 0),
    ApiSupport::new(ApiKey::DescribeCluster, 0, 2),
    ApiSupport::new(ApiKey::DescribeProducers, 0, 0),
    ApiSupport::new(ApiKey::DescribeTransactions, 0, 0),
    // v2 (KIP-1152's transactional id pattern) is not served.
    ApiSupport::new(ApiKey::ListTransactions, 0, 1),
    // KIP-848 consumer protocol (crates/broker/src/group), Kafka 4.x's ranges.
    ApiSupport::new(ApiKey::ConsumerGroupHeartbeat, 0, 1),
    ApiSupport::new(ApiKey::ConsumerGroupDescribe, 0, 1),
    ApiSupport::new(ApiKey::DescribeTopicPartitions, 0, 0),
];

/// The KIP-848 consumer-protocol APIs. They are in [`SUPPORTED_APIS`], but ApiVersions lists them
/// only while `group.coordinator.rebalance.protocols` includes `consumer`, as Kafka does: a client
/// asked to use `group.protocol=consumer` then reports at once that the broker lacks it, instead
/// of heartbeating into UNSUPPORTED_VERSION.
pub const CONSUMER_PROTOCOL_APIS: &[ApiKey] = &[
    ApiKey::ConsumerGroupHeartbeat,
    ApiKey::ConsumerGroupDescribe,
];

/// The table entry for `api_key`, if fjord serves it.
pub fn supported_api(api_key: ApiKey) -> Option<&'static ApiSupport> {
    SUPPORTED_APIS.iter().find(|api| api.api_key == api_key)
}

/// The table entry for `api_key` if fjord serves it at `version`.
pub fn supported_version(api_key: ApiKey, version: i16) -> Option<&'static ApiSupport> {
    supported_api(api_key).filter(|api| api.accepts(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_within_the_codec() {
        let mut previous = None;
        for api in SUPPORTED_APIS {
            let key = api.api_key as i16;
            assert!(
                previous < Some(key),
                "{:?} out of order or duplicated",
                api.api_key
            );
            previous = Some(key);
            let codec = api.api_key.valid_versions();
            assert!(
                api.min_version <= api.max_version,
                "{:?} has an empty range",
                api.api_key
            );
            assert!(
                codec.min <= api.min_version && api.max_version <= codec.max,
                "{:?} {}..{} is outside what kafka-protocol can decode ({codec})",
                api.api_key,
                api.min_version,
                api.max_version
            );
        }
    }

    /// Newest versions a Kafka 4.0.0 broker advertises, as printed by
    /// `kafka-broker-api-versions.sh` against `apache/kafka:4.0.0` (only rows checked against
    /// such output are listed).
    const KAFKA_4_0_MAX_VERSIONS: &[(ApiKey, i16)] = &[
        (ApiKey::Produce, 12),
        (ApiKey::Fetch, 17),
        (ApiKey::Metadata, 13),
        (ApiKey::ApiVersions, 4),
    ];

    /// KIP-896 (Kafka 4.0) removed old versions; the codec's oldest version is that baseline.
    /// Every API fjord serves accepts from the baseline and reaches at least Kafka 4.0's newest
    /// version, so no client that works with Kafka 4.0 finds a gap.
    #[test]
    fn every_api_covers_kafka_4_0() {
        for api in SUPPORTED_APIS {
            assert_eq!(
                api.min_version,
                api.api_key.valid_versions().min,
                "{:?} must accept from the KIP-896 baseline",
                api.api_key
            );
            if let Some((_, max)) = KAFKA_4_0_MAX_VERSIONS
                .iter()
                .find(|(key, _)| *key == api.api_key)
            {
                assert!(
                    api.max_version >= *max,
                    "{:?} stops at v{} below Kafka 4.0's v{max}",
                    api.api_key,
                    api.max_version
                );
            }
        }
    }

    #[test]
    fn produce_is_advertised_from_v0_but_accepts_only_its_range() {
        let produce = ApiSupport::new(ApiKey::Produce, 3, 12);
        assert_eq!(produce.advertised_min_version(), 0);
        assert!(!produce.accepts(2));
        assert!(produce.accepts(3));
        let fetch = ApiSupport::new(ApiKey::Fetch, 4, 17);
        assert_eq!(fetch.advertised_min_version(), 4);
    }

    #[test]
    fn lookups() {
        assert!(supported_version(ApiKey::ApiVersions, 3).is_some());
        assert!(supported_version(ApiKey::ApiVersions, 5).is_none());
        assert!(supported_api(ApiKey::ApiVersions).is_some());
    }
}
