//! A response frame as a chain of `Bytes` pieces, so that record bytes read from a segment
//! reach the socket without being copied into the frame.
//!
//! The bytes on the wire are exactly those of [`crate::encode_response`]:
//!
//! ```text
//! size:i32 | response header | body ...  records of partition 1 ...  body ...  records ... body
//! \___________ piece 0 (encoded) ________/\_ piece 1 (spliced) _/\ piece 2 /\ piece 3 /\ ... /
//! ```
//!
//! How: the `kafka-protocol` encoder writes a `records` field (`Option<Bytes>`) with one
//! `put_slice` of the whole slice after its length prefix. [`SpliceBuf`] is the encoder's
//! buffer; it knows the record `Bytes` of the response in advance and, when `put_slice` is
//! handed a slice that *is* one of them (same address, same length), it closes the encoded
//! piece and appends a clone of that `Bytes` (a reference count, no copy) instead of copying
//! it. Identity, not content, is compared, so a match is always the same bytes; any other write
//! goes to the encoded piece. The encoded pieces are allocated once at their exact size, from
//! `compute_size`, so the frame buffer never grows and moves either.
//!
//! The connection writes the pieces with one vectored write ([`ResponseFrame::into_buf`] is a
//! [`Buf`] whose `chunks_vectored` yields every piece).

use std::collections::VecDeque;
use std::io::IoSlice;
use std::ops::Range;

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, FetchResponse, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::Encodable;

use crate::frame::{encode_response, response_header_version, EncodeError, FRAME_LEN_BYTES};

/// Record sets smaller than this are copied into the encoded piece: below a few hundred bytes
/// an extra iovec entry costs more than the copy.
pub const SPLICE_MIN_BYTES: usize = 512;

/// One encoded response, size prefix included, as the pieces to write in order.
#[derive(Debug, Clone, Default)]
pub struct ResponseFrame {
    pieces: Vec<Bytes>,
    len: usize,
}

impl ResponseFrame {
    /// A frame that is one contiguous buffer.
    pub fn contiguous(frame: Bytes) -> Self {
        let len = frame.len();
        Self {
            pieces: vec![frame],
            len,
        }
    }

    /// Bytes on the wire, size prefix included.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pieces in wire order.
    pub fn pieces(&self) -> &[Bytes] {
        &self.pieces
    }

    /// The frame as one buffer (copies when there are several pieces); for tests and callers
    /// that need contiguous bytes.
    pub fn to_bytes(&self) -> Bytes {
        match self.pieces.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            pieces => {
                let mut out = BytesMut::with_capacity(self.len);
                for piece in pieces {
                    out.extend_from_slice(piece);
                }
                out.freeze()
            }
        }
    }

    /// The frame as a [`Buf`] for `write_all_buf`, which writes it with vectored writes.
    pub fn into_buf(self) -> FrameBuf {
        FrameBuf {
            pieces: self.pieces.into_iter().filter(|p| !p.is_empty()).collect(),
            remaining: self.len,
        }
    }
}

/// A [`ResponseFrame`] being written: a queue of pieces.
#[derive(Debug)]
pub struct FrameBuf {
    pieces: VecDeque<Bytes>,
    remaining: usize,
}

impl Buf for FrameBuf {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        self.pieces.front().map_or(&[], |p| &p[..])
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, piece) in dst.iter_mut().zip(&self.pieces) {
            *slot = IoSlice::new(piece);
            n += 1;
        }
        n
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.remaining, "advance past the end of a frame");
        self.remaining -= cnt;
        while cnt > 0 {
            let Some(front) = self.pieces.front_mut() else {
                return;
            };
            if cnt < front.len() {
                front.advance(cnt);
                return;
            }
            cnt -= front.len();
            self.pieces.pop_front();
        }
    }
}

/// Encodes a response like [`encode_response`], but a Fetch response's record sets of at least
/// [`SPLICE_MIN_BYTES`] become pieces of their own instead of being copied. Other responses
/// are one piece.
pub fn encode_response_frame(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<ResponseFrame, EncodeError> {
    let ResponseKind::Fetch(fetch) = body else {
        return encode_response(api_key, api_version, correlation_id, body)
            .map(ResponseFrame::contiguous);
    };
    let wrap = |source: anyhow::Error| EncodeError {
        api_key,
        api_version,
        source: source.into(),
    };
    let splice = spliceable_records(fetch);
    let spliced_len: usize = splice.iter().map(Bytes::len).sum();
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = response_header_version(api_key, api_version);
    let size = header.compute_size(header_version).map_err(wrap)?
        + fetch.compute_size(api_version).map_err(wrap)?;
    let size_prefix = i32::try_from(size).map_err(|e| wrap(e.into()))?;
    let mut buf = SpliceBuf::new(FRAME_LEN_BYTES + size - spliced_len, &splice);
    buf.put_i32(size_prefix);
    header.encode(&mut buf, header_version).map_err(wrap)?;
    fetch.encode(&mut buf, api_version).map_err(wrap)?;
    let frame = buf.finish();
    if frame.len != FRAME_LEN_BYTES + size {
        return Err(wrap(anyhow::anyhow!(
            "encoded {} bytes where compute_size said {}",
            frame.len,
            FRAME_LEN_BYTES + size
        )));
    }
    Ok(frame)
}

/// The record sets worth splicing, in encoding order.
fn spliceable_records(fetch: &FetchResponse) -> Vec<Bytes> {
    fetch
        .responses
        .iter()
        .flat_map(|topic| &topic.partitions)
        .filter_map(|partition| partition.records.as_ref())
        .filter(|records| records.len() >= SPLICE_MIN_BYTES)
        .cloned()
        .collect()
}

/// The encoder's buffer: encoded bytes go to `tail`, known record sets become pieces.
struct SpliceBuf<'a> {
    pieces: Vec<Bytes>,
    /// Bytes in `pieces`.
    before_tail: usize,
    tail: BytesMut,
    splice: &'a [Bytes],
    /// Index in `splice` of the record set expected next (the encoder walks in order).
    next: usize,
}

impl<'a> SpliceBuf<'a> {
    fn new(encoded_capacity: usize, splice: &'a [Bytes]) -> Self {
        Self {
            pieces: Vec::with_capacity(2 * splice.len() + 1),
            before_tail: 0,
            tail: BytesMut::with_capacity(encoded_capacity),
            splice,
            next: 0,
        }
    }

    /// The record set `src` is, if it is one of those to splice.
    fn spliced(&mut self, src: &[u8]) -> Option<Bytes> {
        if src.len() < SPLICE_MIN_BYTES {
            return None;
        }
        let same = |b: &Bytes| b.as_ptr() == src.as_ptr() && b.len() == src.len();
        let index = (self.next..self.splice.len())
            .chain(0..self.next)
            .find(|&i| same(&self.splice[i]))?;
        self.next = index + 1;
        Some(self.splice[index].clone())
    }

    /// Closes the encoded piece; the rest of its allocation stays with `tail`.
    fn close_tail(&mut self) {
        if !self.tail.is_empty() {
            let piece = self.tail.split().freeze();
            self.before_tail += piece.len();
            self.pieces.push(piece);
        }
    }

    /// Makes everything one contiguous `tail` again, for the rare encoder that seeks back
    /// (none of the generated messages do; kept so that `ByteBufMut` is honoured anyway).
    fn collapse(&mut self) {
        if self.pieces.is_empty() {
            return;
        }
        let mut all = BytesMut::with_capacity(self.before_tail + self.tail.len());
        for piece in self.pieces.drain(..) {
            all.extend_from_slice(&piece);
        }
        all.extend_from_slice(&self.tail);
        self.tail = all;
        self.before_tail = 0;
    }

    fn finish(mut self) -> ResponseFrame {
        self.close_tail();
        ResponseFrame {
            len: self.before_tail,
            pieces: self.pieces,
        }
    }
}

// SAFETY: every method delegates to `tail`, a `BytesMut`, whose `BufMut` implementation upholds
// the trait's contract; `put_slice` either does the same or appends a separate piece without
// touching `tail`'s memory.
unsafe impl BufMut for SpliceBuf<'_> {
    fn remaining_mut(&self) -> usize {
        self.tail.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: forwarded unchanged; the caller initialised `cnt` bytes of `tail.chunk_mut()`.
        unsafe { self.tail.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.tail.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        match self.spliced(src) {
            Some(records) => {
                self.close_tail();
                self.before_tail += records.len();
                self.pieces.push(records);
            }
            None => self.tail.extend_from_slice(src),
        }
    }
}

impl ByteBufMut for SpliceBuf<'_> {
    fn offset(&self) -> usize {
        self.before_tail + self.tail.len()
    }

    fn seek(&mut self, offset: usize) {
        if offset < self.before_tail {
            self.collapse();
        }
        self.tail.resize(offset - self.before_tail, 0);
    }

    fn range(&mut self, r: Range<usize>) -> &mut [u8] {
        if r.start < self.before_tail {
            self.collapse();
        }
        let start = self.before_tail;
        &mut self.tail[r.start - start..r.end - start]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{
        AbortedTransaction, FetchableTopicResponse, PartitionData,
    };
    use kafka_protocol::messages::{ProduceResponse, ProducerId, TopicName};
    use kafka_protocol::protocol::StrBytes;

    fn records(len: usize, seed: u8) -> Bytes {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect::<Vec<u8>>()
            .into()
    }

    fn fetch_response(sizes: &[usize]) -> FetchResponse {
        let partitions = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| {
                PartitionData::default()
                    .with_partition_index(i as i32)
                    .with_high_watermark(1000 + i as i64)
                    .with_last_stable_offset(900)
                    .with_aborted_transactions(Some(vec![AbortedTransaction::default()
                        .with_producer_id(ProducerId(7))
                        .with_first_offset(3)]))
                    .with_records(Some(records(len, i as u8)))
            })
            .collect();
        FetchResponse::default().with_responses(vec![
            FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_static_str("orders")))
                .with_partitions(partitions),
            FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_static_str("empty")))
                .with_partitions(vec![PartitionData::default().with_records(None)]),
        ])
    }

    /// Every Fetch version fjord serves, old and flexible, with record sets below and above the
    /// threshold: the spliced frame is byte for byte the plain encoder's.
    #[test]
    fn spliced_fetch_frames_equal_the_plain_encoding() {
        let sizes = [0, 10, SPLICE_MIN_BYTES - 1, SPLICE_MIN_BYTES, 70_000, 3000];
        for version in 4..=18 {
            let body = ResponseKind::Fetch(fetch_response(&sizes));
            let plain = encode_response(ApiKey::Fetch, version, 42, &body).unwrap();
            let frame = encode_response_frame(ApiKey::Fetch, version, 42, &body).unwrap();
            assert_eq!(frame.len(), plain.len(), "v{version}");
            assert_eq!(frame.to_bytes(), plain, "v{version}");
            // Three record sets are large enough: each is a piece of its own, between encoded
            // pieces (and not a copy: the same memory).
            assert_eq!(frame.pieces().len(), 7, "v{version}");
            let ResponseKind::Fetch(fetch) = &body else {
                unreachable!()
            };
            let large: Vec<_> = fetch.responses[0]
                .partitions
                .iter()
                .filter_map(|p| p.records.clone())
                .filter(|r| r.len() >= SPLICE_MIN_BYTES)
                .collect();
            for (piece, records) in frame.pieces()[1..].iter().step_by(2).zip(&large) {
                assert_eq!(piece.as_ptr(), records.as_ptr());
                assert_eq!(piece.len(), records.len());
            }
        }
    }

    #[test]
    fn the_same_record_bytes_twice_are_spliced_twice() {
        let shared = records(4096, 1);
        let partitions = (0..2)
            .map(|i| {
                PartitionData::default()
                    .with_partition_index(i)
                    .with_records(Some(shared.clone()))
            })
            .collect();
        let body = ResponseKind::Fetch(FetchResponse::default().with_responses(vec![
            FetchableTopicResponse::default().with_partitions(partitions),
        ]));
        let plain = encode_response(ApiKey::Fetch, 12, 1, &body).unwrap();
        let frame = encode_response_frame(ApiKey::Fetch, 12, 1, &body).unwrap();
        assert_eq!(frame.to_bytes(), plain);
        assert_eq!(frame.pieces().len(), 5);
    }

    #[test]
    fn other_responses_are_one_piece() {
        let body = ResponseKind::Produce(ProduceResponse::default());
        let plain = encode_response(ApiKey::Produce, 9, 5, &body).unwrap();
        let frame = encode_response_frame(ApiKey::Produce, 9, 5, &body).unwrap();
        assert_eq!(frame.pieces().len(), 1);
        assert_eq!(frame.to_bytes(), plain);
    }

    #[test]
    fn frame_buf_walks_the_pieces_across_partial_advances() {
        let body = ResponseKind::Fetch(fetch_response(&[2000, 0, 5000]));
        let frame = encode_response_frame(ApiKey::Fetch, 12, 9, &body).unwrap();
        let expected = frame.to_bytes();
        let mut buf = frame.into_buf();
        let mut slices = [IoSlice::new(&[]); 8];
        assert_eq!(buf.chunks_vectored(&mut slices), 5);
        let mut out = Vec::new();
        // Advance by odd amounts, as a short write would.
        while buf.has_remaining() {
            let take = buf.chunk().len().min(777);
            out.extend_from_slice(&buf.chunk()[..take]);
            buf.advance(take);
        }
        assert_eq!(out, expected);
    }

    #[test]
    fn seeking_back_collapses_into_one_piece() {
        let splice = [records(1024, 3)];
        let mut buf = SpliceBuf::new(64, &splice);
        buf.put_i32(0);
        buf.put_slice(&splice[0]);
        buf.put_u8(9);
        assert_eq!(buf.pieces.len(), 2);
        buf.range(0..4).copy_from_slice(&[1, 2, 3, 4]);
        let frame = buf.finish();
        assert_eq!(frame.pieces().len(), 1);
        let bytes = frame.to_bytes();
        assert_eq!(&bytes[..4], &[1, 2, 3, 4]);
        assert_eq!(&bytes[4..1028], &splice[0][..]);
        assert_eq!(bytes[1028], 9);
    }
}
