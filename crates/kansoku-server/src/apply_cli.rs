//! `kansoku apply -f FILE`: sends an alerts-as-code file to a running server's
//! `POST /api/{org}/alerts/apply` and prints what changed.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

/// Arguments of `kansoku apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The YAML (or JSON) file of templates, destinations and alerts; `-` reads standard input.
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// The server's address.
    #[arg(long, env = "KANSOKU_URL", default_value = "http://127.0.0.1:5080")]
    pub url: String,
    /// The organisation.
    #[arg(long, env = "KANSOKU_ORG", default_value = "default")]
    pub org: String,
    /// User (e-mail) to authenticate as.
    #[arg(long, env = "KANSOKU_USER")]
    pub user: String,
    /// That user's password.
    #[arg(long, env = "KANSOKU_PASSWORD", hide_env_values = true)]
    pub password: String,
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
    let url = format!(
        "{}/api/{}/alerts/apply",
        args.url.trim_end_matches('/'),
        args.org
    );
    let response = reqwest_tls::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()?
        .post(&url)
        .basic_auth(&args.user, Some(&args.password))
        .header("content-type", "application/yaml")
        .body(text)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("{url} answered {status} without a readable body"))?;
    let body: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{url} answered {status} without JSON"))?;
    if !status.is_success() {
        let message = body
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no message");
        bail!("{status}: {message}");
    }
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
