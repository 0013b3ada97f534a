//! fjord-config
