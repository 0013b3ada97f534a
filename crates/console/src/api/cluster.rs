//! `GET /api/v1/cluster`, `/api/v1/brokers`, `/api/v1/brokers/{id}` and
//! `/api/v1/throughput`: the dashboard's and the brokers page's data.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;

use crate::error::{ConsoleError, Result};
use crate::model::{self, BrokerInfo, ConfigRow, Overview};
use crate::state::ConsoleState;

pub async fn overview(State(state): State<ConsoleState>) -> Json<Overview> {
    Json(model::overview(&state.ctx).await)
}

#[derive(Serialize)]
pub struct BrokerList {
    pub brokers: Vec<BrokerInfo>,
}

pub async fn brokers(State(state): State<ConsoleState>) -> Json<BrokerList> {
    Json(BrokerList {
        brokers: model::brokers(&state.ctx),
    })
}

#[derive(Serialize)]
pub struct BrokerDetail {
    #[serde(flatten)]
    pub broker: BrokerInfo,
    /// The configuration, for the broker serving the console (others: not known here).
    pub configs: Option<Vec<ConfigRow>>,
}

pub async fn broker(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
) -> Result<Json<BrokerDetail>> {
    let id: i32 = super::path_number("broker id", &id)?;
    let broker = model::brokers(&state.ctx)
        .into_iter()
        .find(|b| b.id == id)
        .ok_or_else(|| ConsoleError::NotFound(format!("broker {id} is not registered")))?;
    let configs = (id == state.ctx.config.node_id).then(|| model::broker_configs(&state.ctx));
    Ok(Json(BrokerDetail { broker, configs }))
}

/// Totals since start; the dashboard's script turns two readings into rates.
#[derive(Serialize)]
pub struct Throughput {
    pub time_ms: i64,
    pub bytes_in: u64,
    pub messages_in: u64,
    pub bytes_out: u64,
    pub messages_out: u64,
}

pub async fn throughput(State(state): State<ConsoleState>) -> Json<Throughput> {
    let totals = state.ctx.replica_manager.throughput().totals();
    Json(Throughput {
        time_ms: fjord_broker::replica::now_ms(),
        bytes_in: totals.bytes_in,
        messages_in: totals.messages_in,
        bytes_out: totals.bytes_out,
        messages_out: totals.messages_out,
    })
}
