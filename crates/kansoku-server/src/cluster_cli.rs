//! `kansoku cluster ingesters` and `kansoku cluster forget-node NODE`: the cluster's ingester
//! leases as a running server's `/node/cluster/ingesters` routes report and change them (root
//! only; forgetting is recorded in the audit log).

use clap::{Args, Subcommand};

use crate::remote::ServerArgs;

/// Arguments of `kansoku cluster`.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ClusterAction,
}

/// `kansoku cluster` sub-commands, each with the server and credentials (the root user).
#[derive(Debug, Clone, Subcommand)]
pub enum ClusterAction {
    /// List every node that has held a lease on its id: state, epoch, last renewal.
    Ingesters {
        /// The server and credentials.
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Give up a node whose volume is lost for good: queries stop waiting for it, and the
    /// records it acknowledged but never flushed are accepted as lost. Refused while its lease
    /// is live.
    ForgetNode {
        /// The node id (`KANSOKU_NODE_ID` of the lost node).
        node: String,
        /// The server and credentials.
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Runs the action; returns the lines to print.
pub async fn run(args: &ClusterArgs) -> anyhow::Result<Vec<String>> {
    match &args.action {
        ClusterAction::Ingesters { server } => {
            let body = server
                .call(reqwest_tls::Method::GET, "/node/cluster/ingesters", None)
                .await?;
            let rows = body
                .get("ingesters")
                .and_then(serde_json::Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut lines =
                vec!["NODE\tSTATE\tEPOCH\tRENEWED\tLEASE\tREGISTERED\tHTTP".to_string()];
            lines.extend(rows.iter().map(|row| {
                let text = |name: &str| row.get(name).map_or(String::new(), plain);
                format!(
                    "{}\t{}\t{}\t{}s ago\t{}\t{}\t{}",
                    text("node"),
                    text("state"),
                    text("epoch"),
                    text("renewed_seconds_ago"),
                    if row.get("lease_live") == Some(&serde_json::Value::Bool(true)) {
                        "live"
                    } else {
                        "lapsed"
                    },
                    match row.get("registered") {
                        Some(serde_json::Value::Bool(true)) => "yes",
                        Some(serde_json::Value::Bool(false)) => "no",
                        _ => "-",
                    },
                    text("http"),
                )
            }));
            Ok(lines)
        }
        ClusterAction::ForgetNode { node, server } => {
            if node.is_empty()
                || !node
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
            {
                anyhow::bail!("{node:?} is not a node id (letters, digits, '-' and '_')");
            }
            let body = server
                .call(
                    reqwest_tls::Method::POST,
                    &format!("/node/cluster/ingesters/{node}/forget"),
                    None,
                )
                .await?;
            Ok(vec![
                body.get("message")
                    .map_or_else(|| format!("node {node} forgotten"), plain),
            ])
        }
    }
}

/// A JSON value as text, strings without quotes.
fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
