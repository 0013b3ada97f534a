//! ApiVersions (key 18): what fjord serves, straight from the protocol crate's table.
//!
//! Kafka's behaviours copied here, each because a real client depends on it:
//! - the list is exactly [`fjord_protocol::SUPPORTED_APIS`]: nothing without a handler; the
//!   KIP-848 APIs (ConsumerGroupHeartbeat, ConsumerGroupDescribe) only while
//!   `group.coordinator.rebalance.protocols` lists `consumer`, as Kafka leaves them out then;
//! - Produce is advertised from v0 although v0-2 requests are refused (KAFKA-18659);
//! - a request at an unknown version gets a v0 body with UNSUPPORTED_VERSION that still lists
//!   every API ([`unsupported_version_response`], KIP-511), encoded by the connection at v0;
//! - v3+ requests must carry a valid client software name and version, else INVALID_REQUEST
//!   with an empty list (Kafka's `ApiVersionsRequest.isValid`);
//! - the response header stays v0 (handled by `fjord_protocol::response_header_version`);
//! - v3+ also carries the features: what this broker supports and what the cluster finalized
//!   (from the metadata image), built as Kafka builds them: finalized features at level 0 are
//!   left out, min and max level are both the finalized level, the epoch is the image's
//!   offset, and a supported feature whose minimum is 0 is left out below v4 (KAFKA-17492:
//!   older clients fail to parse it). Default-valued tagged fields are not written at all, so
//!   librdkafka < 2.2 (which mis-skips tagged fields) parses the response.

use fjord_metadata::controller::{METADATA_VERSION_FEATURE, METADATA_VERSION_LEVEL};
use fjord_metadata::MetadataImage;
use fjord_protocol::api::CONSUMER_PROTOCOL_APIS;
use fjord_protocol::SUPPORTED_APIS;
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: ApiVersionsRequest,
) -> ApiVersionsResponse {
    if req.api_version >= 3
        && !(is_valid_software_field(request.client_software_name.as_str())
            && is_valid_software_field(request.client_software_version.as_str()))
    {
        return ApiVersionsResponse::default()
            .with_error_code(ResponseError::InvalidRequest.code());
    }
    let response = ApiVersionsResponse::default().with_api_keys(advertised_api_keys(ctx));
    if req.api_version < 3 {
        return response;
    }
    with_features(response, &ctx.controller.image(), req.api_version)
}

/// The features this broker supports: `(name, min level, max level)`. Only metadata.version for
/// now, at the one level fjord writes; `transaction.version` and `group.version` are added when
/// the coordinators implement them (a client that sees them finalized switches protocols).
const SUPPORTED_FEATURES: &[(&str, i16, i16)] = &[(
    METADATA_VERSION_FEATURE,
    METADATA_VERSION_LEVEL,
    METADATA_VERSION_LEVEL,
)];

/// Adds the v3+ feature fields, as Kafka's `ApiVersionsResponse` builder fills them.
fn with_features(
    response: ApiVersionsResponse,
    image: &MetadataImage,
    api_version: i16,
) -> ApiVersionsResponse {
    let supported = SUPPORTED_FEATURES
        .iter()
        .filter(|(_, min, _)| api_version >= 4 || *min != 0)
        .map(|(name, min, max)| {
            SupportedFeatureKey::default()
                .with_name(StrBytes::from_static_str(name))
                .with_min_version(*min)
                .with_max_version(*max)
        })
        .collect();
    let finalized: Vec<FinalizedFeatureKey> = image
        .features()
        .iter()
        .filter(|(_, level)| **level != 0)
        .map(|(name, level)| {
            FinalizedFeatureKey::default()
                .with_name(StrBytes::from_string(name.clone()))
                .with_min_version_level(*level)
                .with_max_version_level(*level)
        })
        .collect();
    // -1 ("no epoch") is the field's default and is then not written at all.
    let epoch = if finalized.is_empty() {
        -1
    } else {
        image.offset().max(0)
    };
    response
        .with_supported_features(supported)
        .with_finalized_features(finalized)
        .with_finalized_features_epoch(epoch)
}

/// The answer to an ApiVersions request at a version fjord does not know; the caller encodes it
/// at v0 whatever the request's version was.
pub fn unsupported_version_response(ctx: &BrokerContext) -> ApiVersionsResponse {
    fallback(advertised_api_keys(ctx))
}

fn fallback(api_keys: Vec<ApiVersion>) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys)
}

fn advertised_api_keys(ctx: &BrokerContext) -> Vec<ApiVersion> {
    api_keys(ctx.groups.consumer_protocol_enabled())
}

/// The advertised list; `consumer_protocol` says whether the KIP-848 APIs are in it.
fn api_keys(consumer_protocol: bool) -> Vec<ApiVersion> {
    SUPPORTED_APIS
        .iter()
        .filter(|api| consumer_protocol || !CONSUMER_PROTOCOL_APIS.contains(&api.api_key))
        .map(|api| {
            ApiVersion::default()
                .with_api_key(api.api_key as i16)
                .with_min_version(api.advertised_min_version())
                .with_max_version(api.max_version)
        })
        .collect()
}

/// Kafka's rule for `ClientSoftwareName` / `ClientSoftwareVersion` (KIP-511): non-empty,
/// letters, digits, `-` and `.`, starting and ending with a letter or digit.
fn is_valid_software_field(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_protocol_apis_follow_the_config() {
        let keys = |on| -> Vec<i16> { api_keys(on).iter().map(|k| k.api_key).collect() };
        for api in CONSUMER_PROTOCOL_APIS {
            assert!(keys(true).contains(&(*api as i16)), "{api:?} with consumer");
            assert!(
                !keys(false).contains(&(*api as i16)),
                "{api:?} without consumer"
            );
        }
        // Nothing else depends on it.
        assert_eq!(keys(true).len(), SUPPORTED_APIS.len());
        assert_eq!(
            keys(false).len(),
            SUPPORTED_APIS.len() - CONSUMER_PROTOCOL_APIS.len()
        );
    }

    #[test]
    fn software_field_rule() {
        for ok in [
            "librdkafka",
            "apache-kafka-java",
            "2.3.0",
            "a",
            "confluent-kafka-python",
        ] {
            assert!(is_valid_software_field(ok), "{ok}");
        }
        for bad in ["", "-x", "x-", "has space", "x_y", ".1", "ü"] {
            assert!(!is_valid_software_field(bad), "{bad}");
        }
    }

    #[test]
    fn fallback_lists_every_api_with_code_35() {
        let response = fallback(api_keys(true));
        assert_eq!(response.error_code, 35);
        assert_eq!(response.api_keys.len(), SUPPORTED_APIS.len());
        assert_eq!(response.finalized_features_epoch, -1);
    }
}
