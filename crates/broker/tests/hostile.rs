//! Hostile input against an in-process broker: every kind of bad frame closes only the
//! connection it came on, nothing a peer merely declares is allocated, and a well-behaved client
//! (raw ApiVersions round trips) keeps being served throughout, with memory staying flat.
//!
//! One test drives the whole sequence so that the RSS measurement (the broker shares this
//! process) is not disturbed by other tests running in parallel threads.

mod common;

use std::time::{Duration, Instant};

use bytes::BufMut;
use common::*;
use kafka_protocol::messages::ApiKey;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// The broker binary's allocator: hostile declared counts cost address space, not an abort.
#[global_allocator]
static ALLOCATOR: fjord_protocol::alloc::SparseLargeAlloc = fjord_protocol::alloc::SparseLargeAlloc;

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_close_only_their_connection_and_memory_stays_flat() {
    let test = start_broker(|_| {}).await;
    let addr = test.addr;
    well_behaved_client(addr).await;
    let rss_before = rss_bytes();

    // A connection that stays open through everything, doing round trips between attacks.
    let mut steady = TcpStream::connect(addr).await.unwrap();
    let mut steady_correlation = 0;
    steady_round_trip(&mut steady, &mut steady_correlation).await;

    // Garbage: an HTTP request, whose first four bytes declare ~1.1 GiB.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: kafka\r\n\r\n")
        .await
        .unwrap();
    expect_closed_without_reply(&mut conn).await;
    steady_round_trip(&mut steady, &mut steady_correlation).await;

    // Garbage inside a well-sized frame.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(&sized(&[
        0xde, 0xad, 0xbe, 0xef, 0x13, 0x37, 0xff, 0xff, 0x00, 0x01, 0x02,
    ]))
    .await
    .unwrap();
    expect_closed_without_reply(&mut conn).await;

    // A 2 GB declared frame: closed at once, without the client closing or sending more.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(&2_000_000_000i32.to_be_bytes())
        .await
        .unwrap();
    expect_closed_without_reply(&mut conn).await;
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(&i32::MAX.to_be_bytes()).await.unwrap();
    conn.write_all(&[0u8; 32]).await.unwrap();
    expect_closed_without_reply(&mut conn).await;

    // One byte over socket.request.max.bytes (100 MiB) is refused too.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(&(100 * 1024 * 1024 + 1i32).to_be_bytes())
        .await
        .unwrap();
    expect_closed_without_reply(&mut conn).await;

    // Negative lengths.
    for len in [-1i32, i32::MIN] {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(&len.to_be_bytes()).await.unwrap();
        expect_closed_without_reply(&mut conn).await;
    }
    steady_round_trip(&mut steady, &mut steady_correlation).await;

    // An unknown API key.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let mut payload = Vec::new();
    payload.put_i16(9999);
    payload.put_i16(0);
    payload.put_i32(1);
    payload.put_i16(-1);
    conn.write_all(&sized(&payload)).await.unwrap();
    expect_closed_without_reply(&mut conn).await;

    // A known API at a version nobody serves: Kafka closes the connection.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let mut payload = Vec::new();
    payload.put_i16(ApiKey::Fetch as i16);
    payload.put_i16(200);
    payload.put_i32(2);
    payload.put_i16(-1);
    conn.write_all(&sized(&payload)).await.unwrap();
    expect_closed_without_reply(&mut conn).await;

    // ApiVersions at an unknown version: answered (KIP-511), and the connection stays usable.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(&api_versions_frame(127, 55)).await.unwrap();
    let (correlation_id, body) = split_v0_header(read_frame(&mut conn).await.unwrap());
    assert_eq!(correlation_id, 55);
    let fallback = decode_api_versions(body, 0);
    assert_eq!(fallback.error_code, 35);
    assert!(fallback
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::ApiVersions as i16 && k.max_version == 4));
    assert_eq!(api_versions_on(&mut conn, 3, 56).await.error_code, 0);

    // A 14-byte Metadata v0 request declaring 2^31-1 topics: the codec reserves room for the
    // declared count (about 150 GB) before decoding; the broker must refuse the body, not abort.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let mut payload = Vec::new();
    payload.put_i16(ApiKey::Metadata as i16);
    payload.put_i16(0);
    payload.put_i32(3);
    payload.put_i16(-1);
    payload.put_i32(i32::MAX);
    conn.write_all(&sized(&payload)).await.unwrap();
    expect_closed_without_reply(&mut conn).await;
    steady_round_trip(&mut steady, &mut steady_correlation).await;

    // A malformed body (ApiVersions v3 cut inside its compact strings).
    let mut frame = api_versions_frame(3, 7);
    frame.truncate(frame.len() - 6);
    let payload_len = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&payload_len.to_be_bytes());
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(&frame).await.unwrap();
    expect_closed_without_reply(&mut conn).await;

    // A truncated frame: the client closes in the middle of it.
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let whole = api_versions_frame(3, 8);
    conn.write_all(&whole[..whole.len() / 2]).await.unwrap();
    drop(conn);
    // A frame declared at the maximum of 100 MiB, of which 1 MiB arrives: the broker holds
    // what arrived, not what was declared.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(&(100 * 1024 * 1024i32).to_be_bytes())
        .await
        .unwrap();
    slow.write_all(&vec![0u8; MIB as usize]).await.unwrap();
    steady_round_trip(&mut steady, &mut steady_correlation).await;
    let rss_slow = rss_bytes();
    assert!(
        rss_slow < rss_before + 40 * MIB,
        "a 100 MiB declared frame with 1 MiB sent grew RSS by {} MiB",
        (rss_slow - rss_before) / MIB
    );
    drop(slow);

    // 10,000 connections opened and dropped, some after half a request, in bounded time.
    let started = Instant::now();
    let mut opened = 0;
    while opened < 10_000 {
        let mut batch = JoinSet::new();
        for i in 0..500 {
            batch.spawn(async move {
                let mut conn = TcpStream::connect(addr).await.expect("connect under load");
                if i % 5 == 0 {
                    let frame = api_versions_frame(3, i);
                    let _ = conn.write_all(&frame[..frame.len() / 2]).await;
                }
            });
        }
        while let Some(joined) = batch.join_next().await {
            joined.expect("connection task");
        }
        opened += 500;
        steady_round_trip(&mut steady, &mut steady_correlation).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "10,000 connections took {:?}",
        started.elapsed()
    );

    // Still serving, old and new connections alike, and memory is flat.
    steady_round_trip(&mut steady, &mut steady_correlation).await;
    well_behaved_client(addr).await;
    let rss_after = rss_bytes();
    assert!(
        rss_after < rss_before + 50 * MIB,
        "RSS grew from {} MiB to {} MiB",
        rss_before / MIB,
        rss_after / MIB
    );
    test.broker.shutdown().await.unwrap();
}

/// One ApiVersions round trip on the connection that stays open through the whole test.
async fn steady_round_trip(stream: &mut TcpStream, correlation_id: &mut i32) {
    *correlation_id += 1;
    let response = api_versions_on(stream, 3, *correlation_id).await;
    assert_eq!(response.error_code, 0);
}
