//! What the client sub-commands (`kansoku apply`, `kansoku cluster`) share: the server's address
//! and credentials, and one authenticated call answering JSON.

use anyhow::{Context, bail};
use clap::Args;

/// Where the server is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The server's address.
    #[arg(long, env = "KANSOKU_URL", default_value = "http://127.0.0.1:5080")]
    pub url: String,
    /// User (e-mail) to authenticate as.
    #[arg(long, env = "KANSOKU_USER")]
    pub user: String,
    /// That user's password.
    #[arg(long, env = "KANSOKU_PASSWORD", hide_env_values = true)]
    pub password: String,
}

/// A request body: its content type and bytes.
pub struct Body {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub text: String,
}

impl ServerArgs {
    /// Calls `method path` (path from the root, `/api/…` or `/node/…`) and returns the JSON
    /// body of a 2xx answer; any other answer is an error carrying the server's message.
    pub async fn call(
        &self,
        method: reqwest_tls::Method,
        path: &str,
        body: Option<Body>,
    ) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let mut request = reqwest_tls::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?
            .request(method, &url)
            .basic_auth(&self.user, Some(&self.password));
        if let Some(body) = body {
            request = request
                .header("content-type", body.content_type)
                .body(body.text);
        }
        let response = request
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
        Ok(body)
    }
}
