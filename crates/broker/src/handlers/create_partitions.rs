//! CreatePartitions (key 37, v0–3): raises topics' partition counts through the controller,
//! with the client's replica assignments when it gives them. Counts only go up
//! (INVALID_PARTITIONS otherwise); `validate_only` checks without creating.

use fjord_metadata::CreatePartitionsSpec;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let specs = request
        .topics
        .iter()
        .map(|t| CreatePartitionsSpec {
            topic: t.name.to_string(),
            count: t.count,
            assignments: t.assignments.as_ref().map(|assignments| {
                assignments
                    .iter()
                    .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            }),
        })
        .collect();
    let results = ctx
        .controller
        .create_partitions(specs, request.validate_only)
        .await;
    let results = request
        .topics
        .iter()
        .zip(results)
        .map(|(t, result)| {
            let response = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            match result {
                Ok(()) => response,
                Err(e) => response
                    .with_error_code(e.error_code().code())
                    .with_error_message(e.client_message().map(StrBytes::from_string)),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}
