//! The alert service: stores templates, destinations and alerts, evaluates alerts on a schedule,
//! on demand and on ingested batches (real-time), notifies destinations, and records every
//! evaluation and delivery in the history.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use kansoku_core::{OrgId, StreamKey};
use kansoku_meta::{AlertObjectKind, AlertState, HistoryEntry, MetaStore};
use kansoku_query::QueryEngine;
use serde_json::{Value, json};

use crate::deliver::{self, DeliveryConfig};
use crate::email::{self, SmtpConfig};
use crate::error::{Error, Result};
use crate::evaluate::{self, Evaluation};
use crate::model::{Alert, Destination, Template, format_number};
use crate::schedule::DueRuns;
use crate::template::{self, Context};

/// Settings of the alert service.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// How often the scheduler looks for due alerts.
    pub tick: Duration,
    /// Delivery settings (SSRF allowlist, timeouts, retries).
    pub delivery: DeliveryConfig,
    /// The UI's address, for `{alert_url}`.
    pub public_url: String,
    /// The SMTP server of e-mail destinations (none: they are refused).
    pub smtp: Option<SmtpConfig>,
}

/// What one evaluation led to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The condition did not hold.
    NotFired(Evaluation),
    /// It held, but a notification was sent within the silence period.
    Silenced(Evaluation),
    /// It held and destinations were notified (per destination: delivered or the error).
    Fired(Evaluation, Vec<(String, std::result::Result<u16, String>)>),
}

/// The alert service of a node.
pub struct Alerts {
    meta: MetaStore,
    engine: Arc<QueryEngine>,
    /// The metrics store and PromQL engine of `promql` alerts.
    promql: Option<(kansoku_metrics::MetricsStore, kansoku_promql::Engine)>,
    config: AlertsConfig,
    /// Enabled real-time alerts, read at most once per [`REAL_TIME_REFRESH`] (and after every
    /// change made through this node), so ingest does not cost a database query per batch.
    real_time: std::sync::RwLock<Option<(std::time::Instant, RealTimeAlerts)>>,
    /// When notifications went to each (org, destination) within the last hour, for
    /// `rate_limit_per_hour`. Kept per node.
    sent: std::sync::Mutex<BTreeMap<(String, String), std::collections::VecDeque<i64>>>,
}

/// A rendered notification.
struct Rendered {
    /// Subject of e-mails.
    title: String,
    /// The message.
    body: String,
}

const HOUR_MICROS: i64 = 3_600_000_000;

/// The enabled real-time alerts of every organisation.
type RealTimeAlerts = Arc<Vec<(OrgId, Alert)>>;

/// How stale the real-time alert list may get (changes made on other nodes).
const REAL_TIME_REFRESH: Duration = Duration::from_secs(5);

fn now_micros() -> i64 {
    kansoku_meta::now_micros()
}

fn rfc3339(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl Alerts {
    /// The service.
    pub fn new(meta: MetaStore, engine: Arc<QueryEngine>, config: AlertsConfig) -> Alerts {
        Alerts {
            meta,
            engine,
            promql: None,
            config,
            real_time: std::sync::RwLock::new(None),
            sent: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// The service able to evaluate `promql` alerts too.
    pub fn with_promql(
        mut self,
        metrics: kansoku_metrics::MetricsStore,
        engine: kansoku_promql::Engine,
    ) -> Alerts {
        self.promql = Some((metrics, engine));
        self
    }

    /// Evaluates a scheduled (or on-demand) run of `alert` over `window` (a PromQL alert: at
    /// its end).
    async fn evaluate(&self, org: &OrgId, alert: &Alert, window: (i64, i64)) -> Result<Evaluation> {
        if !alert.is_promql() {
            return evaluate::scheduled(&self.engine, org, alert, window).await;
        }
        let Some((metrics, engine)) = &self.promql else {
            return Err(Error::Invalid(
                "this node has no PromQL engine for promql alerts".to_string(),
            ));
        };
        evaluate::promql(&evaluate::Promql { metrics, engine }, org, alert, window.1).await
    }

    /// Its settings.
    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    pub(crate) fn meta(&self) -> &MetaStore {
        &self.meta
    }

    // ---- storage ------------------------------------------------------------------------------

    /// All templates of `org`.
    pub async fn templates(&self, org: &OrgId) -> Result<Vec<Template>> {
        self.list(org, AlertObjectKind::Template).await
    }

    /// One template.
    pub async fn template(&self, org: &OrgId, name: &str) -> Result<Template> {
        self.get(org, AlertObjectKind::Template, name).await
    }

    /// Creates (`create`) or replaces a template.
    pub async fn put_template(&self, org: &OrgId, template: &Template, create: bool) -> Result<()> {
        template.validate()?;
        self.put(
            org,
            AlertObjectKind::Template,
            &template.name,
            template,
            create,
        )
        .await
    }

    /// All destinations of `org`.
    pub async fn destinations(&self, org: &OrgId) -> Result<Vec<Destination>> {
        self.list(org, AlertObjectKind::Destination).await
    }

    /// One destination.
    pub async fn destination(&self, org: &OrgId, name: &str) -> Result<Destination> {
        self.get(org, AlertObjectKind::Destination, name).await
    }

    /// Creates or replaces a destination.
    pub async fn put_destination(
        &self,
        org: &OrgId,
        destination: &Destination,
        create: bool,
    ) -> Result<()> {
        self.check_destination(destination)?;
        let template = destination.template.trim();
        if !template.is_empty() {
            self.template(org, template).await?;
        }
        self.put(
            org,
            AlertObjectKind::Destination,
            &destination.name,
            destination,
            create,
        )
        .await
    }

    /// Checks a destination on its own: valid, and of a kind this node can deliver.
    pub fn check_destination(&self, destination: &Destination) -> Result<()> {
        destination.validate()?;
        if matches!(destination.destination_type.as_str(), "" | "http") {
            crate::ssrf::check_saved(&destination.url, &self.config.delivery.allowlist)?;
        }
        if destination.destination_type == "email" && self.config.smtp.is_none() {
            return Err(Error::Invalid(email::not_configured()));
        }
        Ok(())
    }

    /// All alerts of `org`.
    pub async fn alerts(&self, org: &OrgId) -> Result<Vec<Alert>> {
        self.list(org, AlertObjectKind::Alert).await
    }

    /// One alert by id.
    pub async fn alert(&self, org: &OrgId, id: &str) -> Result<Alert> {
        self.get(org, AlertObjectKind::Alert, id).await
    }

    /// Creates an alert (assigning its id) or replaces the one with `alert.id`.
    pub async fn put_alert(&self, org: &OrgId, alert: &mut Alert, create: bool) -> Result<()> {
        alert.validate()?;
        for destination in &alert.destinations {
            self.destination(org, destination).await?;
        }
        if let Some(template) = alert.template.as_deref().filter(|t| !t.is_empty()) {
            self.template(org, template).await?;
        }
        let existing = self.alerts(org).await?;
        if existing
            .iter()
            .any(|other| other.name == alert.name && (create || other.id != alert.id))
        {
            return Err(Error::Conflict(format!(
                "an alert named '{}' already exists",
                alert.name
            )));
        }
        if create {
            alert.id = uuid::Uuid::new_v4().simple().to_string();
        }
        self.put(
            org,
            AlertObjectKind::Alert,
            &alert.id.clone(),
            alert,
            create,
        )
        .await?;
        // A changed alert is evaluated on its new schedule from now on.
        let mut state = self.meta.alert_state(org.as_str(), &alert.id).await?;
        state.next_run_at = now_micros() + Alert::micros(alert.trigger_condition.frequency);
        self.meta
            .put_alert_state(org.as_str(), &alert.id, &state)
            .await?;
        self.forget_real_time();
        Ok(())
    }

    /// Deletes a template, destination or alert; refuses to delete what an alert still uses.
    pub async fn delete(&self, org: &OrgId, kind: AlertObjectKind, key: &str) -> Result<()> {
        let what = kind.as_str();
        if kind != AlertObjectKind::Alert {
            for alert in self.alerts(org).await? {
                let uses = match kind {
                    AlertObjectKind::Template => alert.template.as_deref() == Some(key),
                    _ => alert.destinations.iter().any(|d| d == key),
                };
                if uses {
                    return Err(Error::Conflict(format!(
                        "{what} '{key}' is used by alert '{}'",
                        alert.name
                    )));
                }
            }
        }
        if kind == AlertObjectKind::Template {
            for destination in self.destinations(org).await? {
                if destination.template == key {
                    return Err(Error::Conflict(format!(
                        "template '{key}' is used by destination '{}'",
                        destination.name
                    )));
                }
            }
        }
        if !self
            .meta
            .delete_alert_object(org.as_str(), kind, key)
            .await?
        {
            return Err(Error::NotFound(format!("{what} '{key}' not found")));
        }
        self.forget_real_time();
        Ok(())
    }

    /// The scheduling state of an alert.
    pub async fn state(&self, org: &OrgId, id: &str) -> Result<AlertState> {
        Ok(self.meta.alert_state(org.as_str(), id).await?)
    }

    /// History entries of `org`, newest first.
    pub async fn history(
        &self,
        org: &OrgId,
        alert_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<HistoryEntry>> {
        Ok(self
            .meta
            .alert_history(org.as_str(), alert_id, limit)
            .await?)
    }

    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        org: &OrgId,
        kind: AlertObjectKind,
    ) -> Result<Vec<T>> {
        let objects = self
            .meta
            .list_alert_objects(Some(org.as_str()), kind)
            .await?;
        Ok(objects
            .iter()
            .filter_map(|object| serde_json::from_str(&object.body).ok())
            .collect())
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        org: &OrgId,
        kind: AlertObjectKind,
        key: &str,
    ) -> Result<T> {
        let what = kind.as_str();
        let object = self
            .meta
            .get_alert_object(org.as_str(), kind, key)
            .await?
            .ok_or_else(|| Error::NotFound(format!("{what} '{key}' not found")))?;
        serde_json::from_str(&object.body)
            .map_err(|e| Error::Invalid(format!("stored {what} '{key}' is unreadable: {e}")))
    }

    async fn put<T: serde::Serialize>(
        &self,
        org: &OrgId,
        kind: AlertObjectKind,
        key: &str,
        value: &T,
        create: bool,
    ) -> Result<()> {
        let what = kind.as_str();
        let body = serde_json::to_string(value)
            .map_err(|e| Error::Invalid(format!("cannot store {what}: {e}")))?;
        if !create
            && self
                .meta
                .get_alert_object(org.as_str(), kind, key)
                .await?
                .is_none()
        {
            return Err(Error::NotFound(format!("{what} '{key}' not found")));
        }
        if !self
            .meta
            .put_alert_object(org.as_str(), kind, key, &body, create)
            .await?
        {
            return Err(Error::Conflict(format!("{what} '{key}' already exists")));
        }
        Ok(())
    }

    // ---- evaluation ---------------------------------------------------------------------------

    /// Evaluates one alert now and notifies when it fires (respecting its silence).
    pub async fn trigger(&self, org: &OrgId, id: &str) -> Result<Outcome> {
        let alert = self.alert(org, id).await?;
        let now = now_micros();
        // On demand: over the window a run due now would see; the schedule is left as it is.
        self.run(org, &alert, now, alert.window_due_at(now), None)
            .await
    }

    /// Evaluates an alert document (saved or not) now without notifying anyone or recording
    /// history: "would this fire now?".
    pub async fn preview_alert(&self, org: &OrgId, alert: &Alert) -> Result<Evaluation> {
        alert.validate()?;
        self.evaluate(org, alert, alert.window_due_at(now_micros()))
            .await
    }

    /// Evaluates every enabled scheduled alert that is due at `now`; returns how many ran.
    pub async fn run_due(&self, now: i64) -> Result<usize> {
        let objects = self
            .meta
            .list_alert_objects(None, AlertObjectKind::Alert)
            .await?;
        let mut ran = 0;
        for object in objects {
            let Ok(alert) = serde_json::from_str::<Alert>(&object.body) else {
                continue;
            };
            if !alert.enabled || alert.is_real_time {
                continue;
            }
            let Ok(org) = OrgId::parse(&object.org) else {
                continue;
            };
            let state = self.meta.alert_state(org.as_str(), &alert.id).await?;
            if state.next_run_at > now {
                continue;
            }
            let runs = DueRuns::new(&alert, state.next_run_at, now);
            // With several nodes on one database, only the node that claims the runs evaluates.
            if !self
                .meta
                .claim_alert_run(org.as_str(), &alert.id, state.next_run_at, runs.next_run_at)
                .await?
            {
                continue;
            }
            ran += 1;
            let next = Some(runs.next_run_at);
            for window in &runs.windows {
                if let Err(error) = self.run(&org, &alert, now, *window, next).await {
                    tracing::warn!(%org, alert = %alert.name, %error, "alert evaluation failed");
                }
            }
        }
        Ok(ran)
    }

    /// Runs the scheduler until `stop` resolves.
    pub async fn scheduler(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut ticker = tokio::time::interval(self.config.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = ticker.tick() => {
                    if let Err(error) = self.run_due(now_micros()).await {
                        tracing::warn!(%error, "alert scheduler pass failed");
                    }
                }
            }
        }
    }

    /// Forgets the cached real-time alerts (read again at the next batch): after a change,
    /// here or announced by another node.
    pub fn forget_real_time(&self) {
        if let Ok(mut cached) = self.real_time.write() {
            *cached = None;
        }
    }

    async fn real_time_alerts(&self) -> Result<RealTimeAlerts> {
        if let Ok(cached) = self.real_time.read()
            && let Some((read_at, alerts)) = cached.as_ref()
            && read_at.elapsed() < REAL_TIME_REFRESH
        {
            return Ok(Arc::clone(alerts));
        }
        let objects = self
            .meta
            .list_alert_objects(None, AlertObjectKind::Alert)
            .await?;
        let alerts: RealTimeAlerts = Arc::new(
            objects
                .iter()
                .filter_map(|object| {
                    let alert = serde_json::from_str::<Alert>(&object.body).ok()?;
                    let org = OrgId::parse(&object.org).ok()?;
                    (alert.enabled && alert.is_real_time).then_some((org, alert))
                })
                .collect(),
        );
        if let Ok(mut cached) = self.real_time.write() {
            *cached = Some((std::time::Instant::now(), Arc::clone(&alerts)));
        }
        Ok(alerts)
    }

    /// Evaluates the enabled real-time alerts of `stream` over one acknowledged batch.
    pub async fn on_batch(&self, stream: &StreamKey, batch: &RecordBatch) -> Result<()> {
        let alerts = self.real_time_alerts().await?;
        for (org, alert) in alerts.iter() {
            if org != &stream.org
                || alert.stream_name != stream.name.as_str()
                || alert.stream_type_name() != stream.stream_type.as_str()
            {
                continue;
            }
            let now = now_micros();
            let evaluation =
                evaluate::real_time(&self.engine, org, alert, std::slice::from_ref(batch), now)
                    .await;
            match evaluation {
                Ok(evaluation) => {
                    if evaluation.fired {
                        let state = self.meta.alert_state(org.as_str(), &alert.id).await?;
                        self.conclude(org, alert, evaluation, now, state).await?;
                    }
                }
                Err(error) => {
                    self.record(
                        org,
                        alert,
                        now,
                        "error",
                        json!({"error": error.to_string()}),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Evaluates `alert` over `window` at `now` and acts on the outcome; `next_run_at` is the
    /// schedule's next due time (`None` for a run on demand, which leaves the schedule alone).
    async fn run(
        &self,
        org: &OrgId,
        alert: &Alert,
        now: i64,
        window: (i64, i64),
        next_run_at: Option<i64>,
    ) -> Result<Outcome> {
        let mut state = self.meta.alert_state(org.as_str(), &alert.id).await?;
        state.last_run_at = now;
        if let Some(next_run_at) = next_run_at {
            state.next_run_at = next_run_at;
        }
        // A real-time alert run on demand looks back over its period like a scheduled one.
        let evaluation = self.evaluate(org, alert, window).await;
        let evaluation = match evaluation {
            Ok(evaluation) => evaluation,
            Err(error) => {
                state.last_status = "error".to_string();
                self.meta
                    .put_alert_state(org.as_str(), &alert.id, &state)
                    .await?;
                self.record(
                    org,
                    alert,
                    now,
                    "error",
                    json!({"error": error.to_string()}),
                )
                .await?;
                return Err(error);
            }
        };
        if !evaluation.fired {
            state.last_status = "not_fired".to_string();
            self.meta
                .put_alert_state(org.as_str(), &alert.id, &state)
                .await?;
            self.record(org, alert, now, "not_fired", evaluation.detail(alert))
                .await?;
            return Ok(Outcome::NotFired(evaluation));
        }
        self.conclude(org, alert, evaluation, now, state).await
    }

    /// A fired evaluation: silenced, or notified. `state` is the alert's, about to be written.
    async fn conclude(
        &self,
        org: &OrgId,
        alert: &Alert,
        evaluation: Evaluation,
        now: i64,
        mut state: AlertState,
    ) -> Result<Outcome> {
        let silence = Alert::micros(alert.trigger_condition.silence);
        if state.last_fired_at > 0 && now < state.last_fired_at + silence {
            state.last_status = "silenced".to_string();
            self.meta
                .put_alert_state(org.as_str(), &alert.id, &state)
                .await?;
            self.record(org, alert, now, "silenced", evaluation.detail(alert))
                .await?;
            return Ok(Outcome::Silenced(evaluation));
        }
        state.last_fired_at = now;
        state.last_status = "fired".to_string();
        self.meta
            .put_alert_state(org.as_str(), &alert.id, &state)
            .await?;
        self.record(org, alert, now, "fired", evaluation.detail(alert))
            .await?;
        let mut results = Vec::with_capacity(alert.destinations.len());
        let notices = notices(alert, &evaluation);
        let deliveries: Vec<(usize, String)> = (0..notices.len())
            .flat_map(|index| {
                alert
                    .destinations
                    .iter()
                    .map(move |name| (index, name.clone()))
            })
            .collect();
        for (index, name) in &deliveries {
            let notice = &notices[*index];
            let result = self.notify(org, alert, notice, name, now).await;
            let (status, detail, outcome) = match &result {
                Ok(delivered) => (
                    "delivered",
                    json!({"destination": name, "http_status": delivered.status, "attempts": delivered.attempts}),
                    Ok(delivered.status),
                ),
                Err(error) => (
                    if matches!(error, Error::RateLimited(_)) {
                        "rate_limited"
                    } else {
                        "delivery_failed"
                    },
                    json!({"destination": name, "error": error.to_string()}),
                    Err(error.to_string()),
                ),
            };
            let mut detail = detail;
            if alert.is_promql()
                && let (Value::Object(map), Some(row)) = (&mut detail, notice.rows.first())
            {
                map.insert("series".to_string(), Value::Object(row.clone()));
            }
            self.record(org, alert, now, status, detail).await?;
            results.push((name.clone(), outcome));
        }
        Ok(Outcome::Fired(evaluation, results))
    }

    async fn notify(
        &self,
        org: &OrgId,
        alert: &Alert,
        evaluation: &Evaluation,
        destination_name: &str,
        now: i64,
    ) -> Result<deliver::Delivered> {
        let destination = self.destination(org, destination_name).await?;
        self.take_rate_limit(org, &destination, now)?;
        let rendered = self
            .render_for(org, alert, evaluation, &destination, now)
            .await?;
        self.send(&destination, &rendered).await
    }

    /// Counts a notification against the destination's hourly limit, or refuses it.
    fn take_rate_limit(&self, org: &OrgId, destination: &Destination, now: i64) -> Result<()> {
        let limit = destination.rate_limit_per_hour as usize;
        if limit == 0 {
            return Ok(());
        }
        let Ok(mut sent) = self.sent.lock() else {
            return Ok(());
        };
        let times = sent
            .entry((org.to_string(), destination.name.clone()))
            .or_default();
        while times.front().is_some_and(|t| *t <= now - HOUR_MICROS) {
            times.pop_front();
        }
        if times.len() >= limit {
            return Err(Error::RateLimited(format!(
                "destination '{}' already received {limit} notifications in the last hour (rate_limit_per_hour)",
                destination.name
            )));
        }
        times.push_back(now);
        Ok(())
    }

    async fn send(
        &self,
        destination: &Destination,
        rendered: &Rendered,
    ) -> Result<deliver::Delivered> {
        if destination.destination_type == "email" {
            return email::send(
                self.config.smtp.as_ref(),
                destination,
                &rendered.title,
                &rendered.body,
                &self.config.delivery,
            )
            .await;
        }
        deliver::send(destination, &rendered.body, &self.config.delivery).await
    }

    /// Sends a sample notification to a destination (its test button).
    pub async fn test_destination(
        &self,
        org: &OrgId,
        name: &str,
        rows: Vec<serde_json::Map<String, Value>>,
    ) -> Result<deliver::Delivered> {
        let destination = self.destination(org, name).await?;
        let (alert, evaluation, now) = sample("kansoku test notification", rows);
        let rendered = self
            .render_for(org, &alert, &evaluation, &destination, now)
            .await?;
        self.send(&destination, &rendered).await
    }

    async fn render_for(
        &self,
        org: &OrgId,
        alert: &Alert,
        evaluation: &Evaluation,
        destination: &Destination,
        now: i64,
    ) -> Result<Rendered> {
        let template_name = alert
            .template
            .clone()
            .filter(|t| !t.is_empty())
            .or_else(|| Some(destination.template.clone()).filter(|t| !t.is_empty()));
        let is_email = destination.destination_type == "email";
        let (title, body) = match template_name {
            Some(name) => {
                let template = self.template(org, &name).await?;
                (template.title, template.body)
            }
            None if is_email => (
                template::default_email_title().to_string(),
                template::default_email_body().to_string(),
            ),
            None if destination.destination_type_name == "slack" => {
                (String::new(), template::slack_preset_body().to_string())
            }
            None => (String::new(), template::default_body().to_string()),
        };
        let title = if title.trim().is_empty() {
            template::default_email_title().to_string()
        } else {
            title
        };
        let context = self.context(org, alert, evaluation, now);
        Ok(Rendered {
            title: template::render(&title, &context, template::Escaping::None),
            body: if is_email {
                template::render(&body, &context, template::Escaping::None)
            } else {
                template::render_body(&body, &context)
            },
        })
    }

    /// The template variables of an evaluation.
    pub fn context(
        &self,
        org: &OrgId,
        alert: &Alert,
        evaluation: &Evaluation,
        now: i64,
    ) -> Context {
        let trigger = &alert.trigger_condition;
        let mut variables = BTreeMap::new();
        let mut set = |name: &str, value: String| {
            variables.insert(name.to_string(), value);
        };
        set("org_name", org.to_string());
        set("stream_type", alert.stream_type_name().to_string());
        set("stream_name", alert.stream_name.clone());
        set("alert_name", alert.name.clone());
        set(
            "alert_type",
            if alert.is_real_time {
                "realtime"
            } else {
                "scheduled"
            }
            .to_string(),
        );
        set("alert_period", format_number(trigger.period));
        set("alert_operator", trigger.operator.clone());
        set("alert_threshold", format_number(trigger.threshold));
        set("alert_count", evaluation.count.to_string());
        set(
            "alert_agg_value",
            evaluation.agg_value.map(format_number).unwrap_or_default(),
        );
        set("alert_start_time", rfc3339(evaluation.window.0));
        set("alert_end_time", rfc3339(evaluation.window.1));
        set("alert_trigger_time", now.to_string());
        set("alert_trigger_time_millis", (now / 1000).to_string());
        set("alert_trigger_time_seconds", (now / 1_000_000).to_string());
        set("alert_trigger_time_str", rfc3339(now));
        set("alert_description", alert.description.clone());
        set("alert_url", self.alert_url(org, alert, evaluation));
        Context {
            variables,
            rows: evaluation.rows.clone(),
            row_template: alert.row_template.clone(),
        }
    }

    fn alert_url(&self, org: &OrgId, alert: &Alert, evaluation: &Evaluation) -> String {
        if alert.is_promql() {
            let expr = alert.query_condition.promql.as_deref().unwrap_or_default();
            return format!(
                "{}/metrics-explorer?org={}&q={}&from={}&to={}",
                self.config.public_url.trim_end_matches('/'),
                encode(org.as_str()),
                encode(expr),
                evaluation.window.1 - HOUR_MICROS,
                evaluation.window.1,
            );
        }
        let sql = crate::sql::queries(alert)
            .map(|q| q.rows)
            .unwrap_or_default();
        let mut url = format!(
            "{}/logs?org={}&stream={}&mode=sql&from={}&to={}&q=",
            self.config.public_url.trim_end_matches('/'),
            encode(org.as_str()),
            encode(&alert.stream_name),
            evaluation.window.0,
            evaluation.window.1.max(evaluation.window.0 + 1),
        );
        url.push_str(&encode(&sql));
        url
    }

    async fn record(
        &self,
        org: &OrgId,
        alert: &Alert,
        now: i64,
        status: &str,
        detail: Value,
    ) -> Result<()> {
        self.meta
            .add_alert_history(&HistoryEntry {
                org: org.to_string(),
                alert_id: alert.id.clone(),
                alert_name: alert.name.clone(),
                timestamp: now,
                status: status.to_string(),
                detail: detail.to_string(),
            })
            .await?;
        Ok(())
    }

    /// Renders `template` against sample values (the preview endpoint).
    pub fn preview(
        &self,
        org: &OrgId,
        body: &str,
        sample_rows: Vec<serde_json::Map<String, Value>>,
    ) -> String {
        let (alert, evaluation, now) = sample("example alert", sample_rows);
        template::render_body(body, &self.context(org, &alert, &evaluation, now))
    }
}

/// The notifications of a fired evaluation: one, or for a `promql` alert one per firing series
/// (its labels are the row's fields, so templates can name them: `{job}`, `{value}`).
fn notices(alert: &Alert, evaluation: &Evaluation) -> Vec<Evaluation> {
    if !alert.is_promql() || evaluation.rows.is_empty() {
        return vec![evaluation.clone()];
    }
    evaluation
        .rows
        .iter()
        .map(|row| Evaluation {
            rows: vec![row.clone()],
            ..evaluation.clone()
        })
        .collect()
}

/// An alert named `name` on stream `default` that fired now with `rows`: for previews and tests.
fn sample(name: &str, rows: Vec<serde_json::Map<String, Value>>) -> (Alert, Evaluation, i64) {
    let alert = Alert {
        name: name.to_string(),
        stream_name: "default".to_string(),
        ..Alert::default()
    };
    let now = now_micros();
    let window = (now - Alert::micros(alert.trigger_condition.period), now);
    let evaluation = Evaluation::counted(&alert, rows.len() as u64, rows, window);
    (alert, evaluation, now)
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
