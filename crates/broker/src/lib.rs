//! fjord-broker
