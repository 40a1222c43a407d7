//! Sending a rendered notification by e-mail through the SMTP server the operator configured
//! (`KANSOKU_SMTP_*`). The SMTP server is the operator's, not the alert author's, so it is not
//! subject to the destination SSRF guard; recipients are checked when a destination is saved.
//! Transient SMTP failures (4xx replies, connection errors) are retried with the same backoff
//! settings as webhooks.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::deliver::{Delivered, DeliveryConfig};
use crate::error::{Error, Result};
use crate::model::Destination;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refuses servers without it.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

impl SmtpSecurity {
    /// Parses `starttls`, `tls` or `none`.
    pub fn parse(raw: &str) -> std::result::Result<SmtpSecurity, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "starttls" | "" => Ok(SmtpSecurity::StartTls),
            "tls" | "smtps" => Ok(SmtpSecurity::Tls),
            "none" | "plain" => Ok(SmtpSecurity::None),
            other => Err(format!("'{other}' is not starttls, tls or none")),
        }
    }
}

/// The SMTP server e-mail destinations send through.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Connection security.
    pub security: SmtpSecurity,
    /// Login (empty: no authentication).
    pub username: String,
    /// Password.
    pub password: String,
    /// The `From:` address.
    pub from: String,
    /// Per attempt.
    pub timeout: Duration,
}

fn mailer(config: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = match config.security {
        SmtpSecurity::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(|e| Error::DeliveryFailed(format!("SMTP TLS set-up failed: {e}")))?
        }
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
            .map_err(|e| Error::DeliveryFailed(format!("SMTP TLS set-up failed: {e}")))?,
        SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
    };
    let mut builder = builder.port(config.port).timeout(Some(config.timeout));
    if !config.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            config.username.clone(),
            config.password.clone(),
        ));
    }
    Ok(builder.build())
}

fn message(
    config: &SmtpConfig,
    destination: &Destination,
    subject: &str,
    body: &str,
) -> Result<Message> {
    let from = config.from.parse().map_err(|_| {
        Error::DeliveryFailed(format!(
            "KANSOKU_SMTP_FROM '{}' is not an e-mail address",
            config.from
        ))
    })?;
    let mut builder = Message::builder().from(from).subject(subject.trim());
    for address in &destination.emails {
        let to = address
            .parse()
            .map_err(|_| Error::Invalid(format!("'{address}' is not an e-mail address")))?;
        builder = builder.to(to);
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| Error::Invalid(format!("cannot build the e-mail: {e}")))
}

/// Sends `subject` and `body` to the recipients of `destination`.
pub async fn send(
    config: Option<&SmtpConfig>,
    destination: &Destination,
    subject: &str,
    body: &str,
    delivery: &DeliveryConfig,
) -> Result<Delivered> {
    let Some(config) = config else {
        return Err(Error::Invalid(not_configured()));
    };
    let email = message(config, destination, subject, body)?;
    let mailer = mailer(config)?;
    let attempts = delivery.attempts.max(1);
    let mut wait = delivery.backoff;
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        match mailer.send(email.clone()).await {
            Ok(response) => {
                return Ok(Delivered {
                    status: response.code().into(),
                    attempts: attempt,
                });
            }
            Err(error) => {
                last_error = format!("the SMTP server refused or failed: {error}");
                if error.is_permanent() {
                    break;
                }
            }
        }
        if attempt < attempts {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(delivery.max_backoff);
        }
    }
    Err(Error::DeliveryFailed(format!(
        "{last_error} (after {attempts} attempts at most)"
    )))
}

/// The message for e-mail destinations on a server without SMTP.
pub fn not_configured() -> String {
    "email destinations need an SMTP server: set KANSOKU_SMTP_HOST (and KANSOKU_SMTP_FROM)"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_modes_parse() {
        assert_eq!(SmtpSecurity::parse("STARTTLS"), Ok(SmtpSecurity::StartTls));
        assert_eq!(SmtpSecurity::parse("tls"), Ok(SmtpSecurity::Tls));
        assert_eq!(SmtpSecurity::parse("none"), Ok(SmtpSecurity::None));
        assert!(SmtpSecurity::parse("ssl3").is_err());
    }
}
