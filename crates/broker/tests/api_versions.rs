//! ApiVersions over raw bytes: what fjord advertises is exactly the protocol table, with
//! Kafka's deliberate quirks (Produce from v0, header v0 at v3+, the KIP-511 fallback), the
//! software-name check, and the v3+ feature fields.

mod common;

use bytes::BufMut;
use common::*;
use fjord_protocol::SUPPORTED_APIS;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader};
use kafka_protocol::protocol::{Encodable, StrBytes};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn every_version_advertises_exactly_the_table() {
    let test = start_broker(|_| {}).await;
    let mut stream = TcpStream::connect(test.addr).await.unwrap();
    for version in 0..=4 {
        let response = api_versions_on(&mut stream, version, version as i32).await;
        assert_eq!(response.error_code, 0);
        let advertised: Vec<(i16, i16, i16)> = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        let table: Vec<(i16, i16, i16)> = SUPPORTED_APIS
            .iter()
            .map(|api| {
                (
                    api.api_key as i16,
                    api.advertised_min_version(),
                    api.max_version,
                )
            })
            .collect();
        assert_eq!(advertised, table, "v{version}");
        if let Some(produce) = response
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::Produce as i16)
        {
            assert_eq!(produce.min_version, 0, "KAFKA-18659: Produce from v0");
        }
    }
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn v3_reports_the_finalized_metadata_version() {
    let test = start_broker(|_| {}).await;
    let mut stream = TcpStream::connect(test.addr).await.unwrap();
    for version in [3, 4] {
        let response = api_versions_on(&mut stream, version, 1).await;
        let finalized = response
            .finalized_features
            .iter()
            .find(|f| f.name.as_str() == "metadata.version")
            .expect("metadata.version is finalized");
        assert!(finalized.max_version_level > 0);
        assert_eq!(finalized.min_version_level, finalized.max_version_level);
        assert!(response.finalized_features_epoch >= 0);
        let supported = response
            .supported_features
            .iter()
            .find(|f| f.name.as_str() == "metadata.version")
            .expect("metadata.version is supported");
        assert!(
            (supported.min_version..=supported.max_version).contains(&finalized.max_version_level)
        );
    }
    // v2 has no such fields; the body is the v2 shape.
    let v2 = api_versions_on(&mut stream, 2, 2).await;
    assert!(v2.finalized_features.is_empty());
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_client_software_name_gets_invalid_request() {
    let test = start_broker(|_| {}).await;
    let mut stream = TcpStream::connect(test.addr).await.unwrap();
    let mut payload = Vec::new();
    RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(3)
        .with_correlation_id(8)
        .encode(&mut payload, 2)
        .unwrap();
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("bad name!"))
        .with_client_software_version(StrBytes::from_static_str("1.0"))
        .encode(&mut payload, 3)
        .unwrap();
    stream.write_all(&sized(&payload)).await.unwrap();
    let (correlation_id, body) = split_v0_header(read_frame(&mut stream).await.unwrap());
    assert_eq!(correlation_id, 8);
    let response = decode_api_versions(body, 3);
    assert_eq!(response.error_code, 42);
    assert!(response.api_keys.is_empty());
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_version_gets_a_v0_body_with_the_full_list() {
    let test = start_broker(|_| {}).await;
    let mut stream = TcpStream::connect(test.addr).await.unwrap();
    stream
        .write_all(&api_versions_frame(i16::MAX, 31))
        .await
        .unwrap();
    let frame = read_frame(&mut stream).await.unwrap();
    // Header v0 (correlation id only), then the v0 body: error 35, i32 array length, entries
    // of 6 bytes, and nothing after them (no throttle time, no tagged fields).
    assert_eq!(&frame[..4], &31i32.to_be_bytes());
    assert_eq!(&frame[4..6], &35i16.to_be_bytes());
    let count = i32::from_be_bytes(frame[6..10].try_into().unwrap());
    assert_eq!(count as usize, SUPPORTED_APIS.len());
    assert_eq!(frame.len(), 10 + 6 * SUPPORTED_APIS.len());
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn produce_v0_to_v2_are_advertised_but_refused() {
    let test = start_broker(|_| {}).await;
    if fjord_protocol::supported_api(ApiKey::Produce).is_none() {
        return test.broker.shutdown().await.unwrap();
    }
    for version in 0..=2 {
        let mut stream = TcpStream::connect(test.addr).await.unwrap();
        let mut payload = Vec::new();
        payload.put_i16(ApiKey::Produce as i16);
        payload.put_i16(version);
        payload.put_i32(5);
        payload.put_i16(-1);
        // acks, timeout, no topics
        payload.put_i16(1);
        payload.put_i32(1000);
        payload.put_i32(0);
        stream.write_all(&sized(&payload)).await.unwrap();
        expect_closed_without_reply(&mut stream).await;
    }
    well_behaved_client(test.addr).await;
    test.broker.shutdown().await.unwrap();
}
