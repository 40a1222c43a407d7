//! `kansoku apply -f FILE`: sends an alerts-as-code file to a running server's
//! `POST /api/{org}/alerts/apply` and prints what changed.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::remote::{Body, ServerArgs};

/// Arguments of `kansoku apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The YAML (or JSON) file of templates, destinations and alerts; `-` reads standard input.
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// The organisation.
    #[arg(long, env = "KANSOKU_ORG", default_value = "default")]
    pub org: String,
    /// The server and credentials.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Sends the file; returns the lines to print (one per object).
pub async fn apply(args: &ApplyArgs) -> anyhow::Result<Vec<String>> {
    let text = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("cannot read standard input")?;
        text
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))?
    };
    let body = args
        .server
        .call(
            reqwest_tls::Method::POST,
            &format!("/api/{}/alerts/apply", args.org),
            Some(Body {
                content_type: "application/yaml",
                text,
            }),
        )
        .await?;
    let changes = body
        .get("changes")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    Ok(changes
        .iter()
        .map(|change| {
            let field = |name: &str| {
                change
                    .get(name)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?")
                    .to_string()
            };
            format!("{} '{}' {}", field("kind"), field("name"), field("action"))
        })
        .collect())
}
