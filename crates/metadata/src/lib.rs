//! fjord-metadata
