//! Which nodes a router sends a request to, in order: the registered, active nodes that run
//! the role, ranked by rendezvous (highest-random-weight) hashing of the request's key with
//! each node id. Every router computes the same order from the same members, so one stream's
//! writes (and their re-sent copies) meet one ingester while it is up; when a node joins or
//! leaves, only the keys it ranks first move.

use ring::digest;

use crate::registry::{Members, NodeAnnouncement, NodeState};
use crate::roles::Role;

/// The active members running `role` (or `all`), best first for `key`.
pub fn rendezvous_order<'a>(
    members: &'a Members,
    role: Role,
    key: &str,
) -> Vec<&'a NodeAnnouncement> {
    let mut ranked: Vec<(u64, &NodeAnnouncement)> = members
        .values()
        .filter(|member| member.state == NodeState::Active && runs(member, role))
        .map(|member| (weight(key, &member.node), member))
        .collect();
    // Highest weight first; the node id breaks (astronomically unlikely) ties.
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.node.cmp(&b.1.node)));
    ranked.into_iter().map(|(_, member)| member).collect()
}

/// Whether `member` announced `role` (or every role).
pub fn runs(member: &NodeAnnouncement, role: Role) -> bool {
    member
        .roles
        .iter()
        .any(|name| name == "all" || name == role.name())
}

/// A node's weight for a key: the first 8 bytes of SHA-256 over both, with a separator no
/// node id contains, so every build and platform ranks alike.
fn weight(key: &str, node: &str) -> u64 {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(key.as_bytes());
    context.update(b"\n");
    context.update(node.as_bytes());
    let hash = context.finish();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_ref()[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ANNOUNCEMENT_VERSION;

    fn member(node: &str, roles: &[&str], state: NodeState) -> (String, NodeAnnouncement) {
        (
            node.to_string(),
            NodeAnnouncement {
                v: ANNOUNCEMENT_VERSION,
                node: node.to_string(),
                instance: format!("{node}-instance"),
                roles: roles.iter().map(|role| role.to_string()).collect(),
                http: format!("{node}:5080"),
                cluster: String::new(),
                state,
                load: 0,
            },
        )
    }

    fn names(order: &[&NodeAnnouncement]) -> Vec<String> {
        order.iter().map(|member| member.node.clone()).collect()
    }

    #[test]
    fn only_active_members_running_the_role_are_ranked() {
        let members: Members = [
            member("ingester-0", &["ingester"], NodeState::Active),
            member("ingester-1", &["ingester"], NodeState::Draining),
            member("querier-0", &["querier"], NodeState::Active),
            member("all-0", &["all"], NodeState::Active),
        ]
        .into_iter()
        .collect();
        let mut order = names(&rendezvous_order(&members, Role::Ingester, "default/app"));
        order.sort();
        assert_eq!(order, ["all-0", "ingester-0"]);
        let mut order = names(&rendezvous_order(&members, Role::Querier, "default/app"));
        order.sort();
        assert_eq!(order, ["all-0", "querier-0"]);
        assert!(rendezvous_order(&members, Role::Compactor, "x").len() == 1);
    }

    #[test]
    fn the_order_is_stable_spread_and_moves_only_the_keys_of_a_node_that_left() {
        let three: Members = (0..3)
            .map(|n| member(&format!("ingester-{n}"), &["ingester"], NodeState::Active))
            .collect();
        let first_of = |members: &Members, key: &str| {
            rendezvous_order(members, Role::Ingester, key)[0]
                .node
                .clone()
        };
        let keys: Vec<String> = (0..300).map(|n| format!("default/stream-{n}")).collect();
        let before: Vec<String> = keys.iter().map(|key| first_of(&three, key)).collect();
        // Every node is first for some keys.
        for n in 0..3 {
            let count = before
                .iter()
                .filter(|node| **node == format!("ingester-{n}"))
                .count();
            assert!(
                count > 50,
                "ingester-{n} is first for only {count} of 300 keys"
            );
        }
        // The same members give the same order.
        assert_eq!(
            before,
            keys.iter()
                .map(|key| first_of(&three, key))
                .collect::<Vec<_>>()
        );
        // Without ingester-2, only its keys move.
        let mut two = three.clone();
        two.remove("ingester-2");
        for (key, was) in keys.iter().zip(&before) {
            let now = first_of(&two, key);
            if was != "ingester-2" {
                assert_eq!(&now, was, "{key} moved although its node stayed");
            }
        }
    }
}
