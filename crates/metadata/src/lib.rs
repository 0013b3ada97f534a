//! fjord-metadata: the cluster's metadata as a log (KRaft's design).
//!
//! - [`record`]: the records of the `__cluster_metadata` log and their batch codec.
//! - [`image`]: [`MetadataImage`], the state those records build, published immutably.
//! - [`topic_config`]: the topic config keys, validation and default resolution.
//! - [`topic_name`]: Kafka's topic naming rules.
//! - [`log`]: the `__cluster_metadata-0` log behind the [`log::MetadataLog`] interface, and replay.
//! - [`controller`]: [`Controller`], the single writer that validates changes, appends their
//!   records and publishes the next image.
//! - [`placement`]: replica placement for new partitions.
//! - [`error`]: [`MetadataError`] and its one mapping to Kafka error codes.

pub mod controller;
pub mod error;
pub mod image;
pub mod log;
pub mod placement;
pub mod record;
pub mod topic_config;
pub mod topic_name;

pub use controller::topic_log_config;
pub use controller::{
    AlterConfigEntry, AlterConfigOp, BrokerRegistrationRequest, ConfigResource, Controller,
    ControllerConfig, CreatePartitionsSpec, CreatedTopic, DeleteTopicTarget, DeletedTopic,
    IncrementalAlterConfig, NewTopic,
};
pub use error::{MetadataError, Result};
pub use image::{BrokerRegistration, MetadataImage, PartitionRegistration, TopicImage, NO_LEADER};
pub use record::ConfigResourceType;
pub use topic_config::{ConfigSource, ConfigType, ResolvedConfig, TopicConfigDefaults};
