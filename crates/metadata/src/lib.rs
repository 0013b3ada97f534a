//! fjord-metadata: the cluster's metadata as a log (KRaft's design).
//!
//! - [`record`]: the records of the `__cluster_metadata` log and their batch codec.
//! - [`image`]: [`MetadataImage`], the state those records build, published immutably.
//! - [`topic_config`]: the topic config keys, validation and default resolution.
//! - [`topic_name`]: Kafka's topic naming rules.
//! - [`error`]: [`MetadataError`] and its one mapping to Kafka error codes.

pub mod error;
pub mod placement;
pub mod image;
pub mod record;
pub mod topic_config;
pub mod topic_name;

pub use error::{MetadataError, Result};
pub use image::{BrokerRegistration, MetadataImage, PartitionRegistration, TopicImage, NO_LEADER};
