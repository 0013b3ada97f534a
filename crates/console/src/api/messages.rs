//! `GET/POST /api/v1/topics/{topic}/messages` (browse, produce) and
//! `GET /api/v1/topics/{topic}/partitions/{partition}/messages/{offset}` (one whole message).
//!
//! Browse parameters: `partition` (absent: all), `seek` = `earliest` | `latest` (default) |
//! `offset` | `timestamp`, with `offset` or `timestamp` (ms) for the last two, `limit`
//! (default 50, at most 500), `q` (text filter), `positions` (`p:o,p:o`: continue where the
//! last answer's `next_offsets` ended; live tail), `max_value_bytes` (default 4096; 0 = whole).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;

use super::{json_body, param, path_number, Params};
use crate::error::{ConsoleError, Result};
use crate::messages::{self, Browse, BrowseResult, MessageView, NewMessage, Produced, Seek};
use crate::state::ConsoleState;

impl TryFrom<&Params> for Browse {
    type Error = ConsoleError;

    fn try_from(params: &Params) -> Result<Self> {
        let seek = match param::<String>(params, "seek")?.as_deref() {
            None | Some("latest") => Seek::Latest,
            Some("earliest") => Seek::Earliest,
            Some("offset") => Seek::Offset(param(params, "offset")?.ok_or_else(|| {
                ConsoleError::BadRequest("seek=offset needs an offset parameter".into())
            })?),
            Some("timestamp") => Seek::Timestamp(param(params, "timestamp")?.ok_or_else(|| {
                ConsoleError::BadRequest(
                    "seek=timestamp needs a timestamp parameter (ms since the epoch)".into(),
                )
            })?),
            Some(other) => {
                return Err(ConsoleError::BadRequest(format!(
                    "seek={other:?}: expected earliest, latest, offset or timestamp"
                )))
            }
        };
        let mut positions = BTreeMap::new();
        if let Some(raw) = param::<String>(params, "positions")? {
            for pair in raw.split(',').filter(|p| !p.is_empty()) {
                let parsed = pair
                    .split_once(':')
                    .and_then(|(p, o)| Some((p.trim().parse().ok()?, o.trim().parse().ok()?)));
                let Some((partition, offset)) = parsed else {
                    return Err(ConsoleError::BadRequest(format!(
                        "positions: {pair:?} is not partition:offset"
                    )));
                };
                positions.insert(partition, offset);
            }
        }
        let max_value_bytes = match param::<usize>(params, "max_value_bytes")? {
            None => Some(messages::LIST_VALUE_BYTES),
            Some(0) => None,
            Some(n) => Some(n),
        };
        Ok(Browse {
            partition: param(params, "partition")?,
            seek,
            limit: param::<usize>(params, "limit")?
                .unwrap_or(50)
                .clamp(1, messages::MAX_LIMIT),
            filter: param(params, "q")?,
            positions,
            max_value_bytes,
        })
    }
}

pub async fn browse(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<BrowseResult>> {
    let query = Browse::try_from(&params)?;
    Ok(Json(messages::browse(&state.ctx, &topic, &query).await?))
}

pub async fn produce(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Produced>)> {
    let message: NewMessage = json_body(&body)?;
    let produced = messages::produce(&state.ctx, &topic, message).await?;
    Ok((StatusCode::CREATED, Json(produced)))
}

pub async fn one(
    State(state): State<ConsoleState>,
    Path((topic, partition, offset)): Path<(String, String, String)>,
) -> Result<Json<MessageView>> {
    let partition: i32 = path_number("partition", &partition)?;
    let offset: i64 = path_number("offset", &offset)?;
    Ok(Json(
        messages::fetch_one(&state.ctx, &topic, partition, offset).await?,
    ))
}
