//! A raw Kafka admin client for the admin integration tests: one connection, requests encoded
//! and responses decoded with the codec crate at an explicit version, so the tests see what
//! goes over the wire at each version.

#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct AdminConnection {
    stream: TcpStream,
    correlation_id: i32,
}

impl AdminConnection {
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        AdminConnection {
            stream: TcpStream::connect(addr).await.expect("connects"),
            correlation_id: 0,
        }
    }

    /// Sends `request` as `api_key` at `version` and decodes the response at that version.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Resp {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("admin-test")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, api_key.request_header_version(version))
            .expect("header encodes");
        request.encode(&mut body, version).expect("body encodes");
        let mut frame = Vec::with_capacity(body.len() + 4);
        frame.extend_from_slice(&(body.len() as i32).to_be_bytes());
        frame.extend_from_slice(&body);
        self.stream
            .write_all(&frame)
            .await
            .expect("request written");

        let mut len = [0u8; 4];
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            self.stream.read_exact(&mut len),
        )
        .await
        .expect("a response in time")
        .expect("a response, not a close");
        let mut payload = vec![0u8; i32::from_be_bytes(len) as usize];
        self.stream
            .read_exact(&mut payload)
            .await
            .expect("whole response");
        let mut payload = Bytes::from(payload);
        let header = ResponseHeader::decode(&mut payload, api_key.response_header_version(version))
            .expect("response header decodes");
        assert_eq!(header.correlation_id, self.correlation_id);
        let response = Resp::decode(&mut payload, version).expect("response body decodes");
        assert!(
            payload.is_empty(),
            "{} bytes left after the {api_key:?} v{version} body",
            payload.len()
        );
        response
    }
}
