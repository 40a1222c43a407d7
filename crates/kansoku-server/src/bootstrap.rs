//! First-start set-up: the `default` organisation, the root user and this node's id.
//!
//! The root user is created once, from `KANSOKU_ROOT_USER_EMAIL` / `KANSOKU_ROOT_USER_PASSWORD`.
//! A password that is set but empty or shorter than 8 characters stops the start. When no
//! password is set on first start, a random one is generated and printed once to stderr; it is
//! never logged or stored in clear. Once the root user exists, these variables are ignored.

use std::path::Path;

use kansoku_core::OrgId;
use kansoku_meta::{MetaStore, User};

use crate::auth::password::{check_policy, hash_password};
use crate::auth::tokens::new_secret;
use crate::config::Config;

/// The organisation that always exists.
pub const DEFAULT_ORG: &str = "default";

/// Creates the default organisation and the root user if needed.
pub async fn bootstrap(meta: &MetaStore, config: &Config) -> anyhow::Result<()> {
    if let Some(password) = &config.root_user_password {
        check_policy(password).map_err(|rule| {
            anyhow::anyhow!("KANSOKU_ROOT_USER_PASSWORD is not acceptable: {rule}")
        })?;
    }
    meta.ensure_org(&OrgId::parse(DEFAULT_ORG)?).await?;
    if let Some(root) = meta.get_root_user().await? {
        if root.email != config.root_user_email.trim().to_lowercase() {
            tracing::info!(root = %root.email, "root user exists; KANSOKU_ROOT_USER_EMAIL is only used on first start");
        }
        return Ok(());
    }
    let email = crate::http::users::normalise_email(&config.root_user_email)
        .map_err(|e| anyhow::anyhow!("KANSOKU_ROOT_USER_EMAIL: {}", e.message))?;
    let (password, generated) = match &config.root_user_password {
        Some(password) => (password.clone(), false),
        None => (
            new_secret("").map_err(anyhow::Error::msg)?[..20].to_string(),
            true,
        ),
    };
    let password_for_hash = password.clone();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password_for_hash))
        .await?
        .map_err(anyhow::Error::msg)?;
    meta.create_user(&User {
        email: email.clone(),
        password_hash,
        first_name: "Root".to_string(),
        last_name: String::new(),
        is_root: true,
        created_at: 0,
    })
    .await?;
    if generated {
        announce_generated_password(&email, &password);
    }
    tracing::info!(%email, "created root user");
    Ok(())
}

#[allow(clippy::print_stderr)]
fn announce_generated_password(email: &str, password: &str) {
    eprintln!();
    eprintln!("  ┌──────────────────────────────────────────────────────────────────┐");
    eprintln!("  │ kansoku created the root user with a generated password.         │");
    eprintln!("  │ It is shown only this once; store it now.                        │");
    eprintln!("  │   email:    {email:<53}│");
    eprintln!("  │   password: {password:<53}│");
    eprintln!("  └──────────────────────────────────────────────────────────────────┘");
    eprintln!();
}

/// This node's id: the configured one, else one generated on first start and kept in
/// `DATA_DIR/node_id` (so WAL checkpoints and file names stay stable across restarts).
pub fn node_id(config: &Config) -> anyhow::Result<String> {
    if let Some(id) = &config.node_id {
        return validate_node_id(id);
    }
    let path = config.data_dir.join("node_id");
    match std::fs::read_to_string(&path) {
        Ok(id) => validate_node_id(id.trim()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let id = format!(
                "node-{}",
                new_secret("").map_err(anyhow::Error::msg)?[..10].to_lowercase()
            );
            write_durably(&path, id.as_bytes())?;
            Ok(id)
        }
        Err(error) => Err(anyhow::anyhow!("cannot read {}: {error}", path.display())),
    }
}

fn validate_node_id(id: &str) -> anyhow::Result<String> {
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        anyhow::bail!("invalid node id '{id}': use 1-64 characters of letters, digits, '-' or '_'");
    }
    Ok(id.to_string())
}

fn write_durably(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
