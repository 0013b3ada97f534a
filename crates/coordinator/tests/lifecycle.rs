//! Member-id uniqueness across restarts, DeleteGroups and offset expiry: table tests over
//! (state, request, now) -> (result, records).

mod common;

use common::*;
use fjord_coordinator::{GroupConfig, GroupCoordinator, GroupError, Reply};

fn first_member_id(c: &mut GroupCoordinator) -> String {
    match c.join_group(join_req("", None, &["range"]), 0).0 {
        Reply::Now(Err(GroupError::MemberIdRequired { member_id })) => member_id,
        other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
    }
}

#[test]
fn member_ids_are_client_id_dash_uuid_and_differ_across_seeds() {
    let mut before_restart = GroupCoordinator::with_member_id_seed(GroupConfig::default(), 1);
    let mut after_restart = GroupCoordinator::with_member_id_seed(GroupConfig::default(), 2);
    let a = first_member_id(&mut before_restart);
    let b = first_member_id(&mut after_restart);
    assert_ne!(
        a, b,
        "a restarted coordinator with fresh seed must not reuse ids"
    );
    let uuid = a.strip_prefix("client-").expect("client id prefix");
    let parsed = uuid::Uuid::parse_str(uuid).expect("a UUID after the client id");
    assert_eq!(parsed.get_version_num(), 4);
    // The same seed replays the same ids (pure machine), and ids within one seed never repeat.
    let mut again = GroupCoordinator::with_member_id_seed(GroupConfig::default(), 1);
    assert_eq!(first_member_id(&mut again), a);
    assert_ne!(first_member_id(&mut again), a);
    // `new` keeps working and still yields the client-id prefix.
    assert!(first_member_id(&mut coordinator()).starts_with("client-"));
}
