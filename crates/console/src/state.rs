//! The state every console handler shares: the broker context, the auth settings and the
//! per-process CSRF token of the pages' forms.

use std::sync::Arc;

use fjord_broker::BrokerContext;

use crate::security::BasicAuth;

/// Shared by every request (cheap to clone).
#[derive(Clone)]
pub struct ConsoleState {
    pub ctx: Arc<BrokerContext>,
    pub auth: Option<Arc<BasicAuth>>,
    /// Put into every form the pages render and required back on every form post; a
    /// cross-site page cannot read it (same-origin policy), so it cannot forge a post.
    pub csrf_token: Arc<str>,
}

impl ConsoleState {
    pub fn new(ctx: Arc<BrokerContext>, auth: Option<BasicAuth>) -> ConsoleState {
        let token: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        ConsoleState {
            ctx,
            auth: auth.map(Arc::new),
            csrf_token: token.into(),
        }
    }
}
