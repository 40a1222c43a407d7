//! A cache of stream settings and schemas in front of the metadata database.
//!
//! Settings are re-read after [`SETTINGS_TTL`] so that changes made through another node apply
//! within that time. A cached schema may be older than the stored one; that is harmless because
//! batches carry their own schema and every write merges into the *stored* schema (optimistic
//! versioning: on a concurrent change the writer reloads, merges and retries).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use jiff::tz::TimeZone;
use kansoku_core::settings::DEFAULT_TIMESTAMP_FIELDS;
use kansoku_core::{FieldType, OrgId, StreamKey, StreamSchema, StreamSettings, StreamType};
use kansoku_meta::MetaStore;
use kansoku_storage::schema::field_type_of;

use crate::error::{Error, Result};
use crate::timestamp::parse_time_zone;
use crate::transform::Pipeline;
use kansoku_core::pipeline::PipelineDefinition;

/// How long cached settings are trusted.
pub const SETTINGS_TTL: Duration = Duration::from_secs(10);
/// Longest wait for a refresh of settings already cached; past it the cached ones are used.
const REFRESH_WAIT: Duration = Duration::from_secs(2);
const MAX_SCHEMA_RETRIES: usize = 16;

/// What the write path needs to know about one stream.
#[derive(Debug, Clone)]
pub struct StreamEntry {
    /// Its identity.
    pub key: StreamKey,
    /// Its settings.
    pub settings: StreamSettings,
    /// Its schema (possibly older than the stored one).
    pub schema: StreamSchema,
    /// Zone for zone-less times.
    pub zone: TimeZone,
    /// Fallback timestamp fields.
    pub timestamp_fields: Vec<String>,
    /// Whether `timestamp_fields` were set explicitly.
    pub timestamp_fields_explicit: bool,
    /// Flatten depth.
    pub flatten_level: u32,
    /// Seconds a record id is remembered to drop re-sent copies (0: off; always 0 for metrics).
    pub dedup_window_secs: u32,
    /// Whether the stream's row exists (it is created with its first committed batch).
    pub exists: bool,
    /// Its ingest pipeline, if it has one.
    pub pipeline: Option<StreamPipeline>,
    loaded_at: Instant,
}

/// A stream's pipeline as the write path runs it.
#[derive(Debug, Clone)]
pub struct StreamPipeline {
    /// Its stored document (a pipeline is compiled again only when the document changes; edit
    /// counts restart after a deletion, so they cannot tell).
    pub definition: String,
    /// The compiled pipeline, or why the stored one does not compile here (a node of an older
    /// build reading a newer document): records then pass unprocessed, marked with the error.
    pub compiled: std::result::Result<Arc<Pipeline>, String>,
}

/// Defaults applied where a stream's settings say "server default".
#[derive(Debug, Clone)]
pub struct CatalogDefaults {
    /// Default zone.
    pub zone: TimeZone,
    /// Default flatten depth.
    pub flatten_level: u32,
    /// Default deduplication window in seconds (0: off).
    pub dedup_window_secs: u32,
}

/// The cache.
pub struct Catalog {
    meta: MetaStore,
    defaults: CatalogDefaults,
    entries: RwLock<HashMap<StreamKey, Arc<StreamEntry>>>,
    schema_locks: Mutex<HashMap<StreamKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl Catalog {
    /// The zone of times that carry none, where a stream sets no zone of its own.
    pub fn default_zone(&self) -> &TimeZone {
        &self.defaults.zone
    }

    /// A catalog over `meta`.
    pub fn new(meta: MetaStore, defaults: CatalogDefaults) -> Catalog {
        Catalog {
            meta,
            defaults,
            entries: RwLock::new(HashMap::new()),
            schema_locks: Mutex::new(HashMap::new()),
        }
    }

    /// The stream's entry. A stream that does not exist yet gets default settings; it is created
    /// by [`Catalog::merge_batch_schema`] when its first batch is committed, so it never becomes
    /// visible to searches before its schema is.
    pub async fn entry(&self, key: &StreamKey) -> Result<Arc<StreamEntry>> {
        let Some(cached) = self.cached(key) else {
            return self.load(key).await;
        };
        if cached.loaded_at.elapsed() < SETTINGS_TTL {
            return Ok(cached);
        }
        // With the last settings in hand, a refresh waits at most REFRESH_WAIT for the database
        // (whose pool would wait 10 s for a connection when it is down). When it fails, a stream
        // known here keeps taking writes (into the WAL) with the settings last read; only new
        // streams wait for the database.
        let failure = match tokio::time::timeout(REFRESH_WAIT, self.load(key)).await {
            Ok(Ok(entry)) => return Ok(entry),
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {REFRESH_WAIT:?}"),
        };
        tracing::warn!(stream = %key.name, error = %failure, "cannot re-read stream settings; the last ones read stay in force");
        Ok(self.keep_stale(key, &cached))
    }

    /// Keeps `stale` for another TTL (tried again then, not by every request meanwhile), but only
    /// in place of itself: a settings change or a deletion that invalidated it is not undone.
    fn keep_stale(&self, key: &StreamKey, stale: &Arc<StreamEntry>) -> Arc<StreamEntry> {
        let kept = Arc::new(StreamEntry {
            loaded_at: Instant::now(),
            ..StreamEntry::clone(stale)
        });
        if let Ok(mut entries) = self.entries.write()
            && entries
                .get(key)
                .is_some_and(|current| Arc::ptr_eq(current, stale))
        {
            entries.insert(key.clone(), Arc::clone(&kept));
        }
        kept
    }

    async fn load(&self, key: &StreamKey) -> Result<Arc<StreamEntry>> {
        let stored = self.meta.get_stream(key).await?;
        let exists = stored.is_some();
        let settings = stored.map(|stream| stream.settings).unwrap_or_default();
        let schema = self.meta.latest_schema(key).await?;
        let pipeline = self.load_pipeline(key).await?;
        let mut entry = self.make_entry(key.clone(), settings, schema, exists);
        entry.pipeline = pipeline;
        let entry = Arc::new(entry);
        self.store(Arc::clone(&entry));
        Ok(entry)
    }

    /// The stream's pipeline, compiled unless the cached one is of the same edit.
    async fn load_pipeline(&self, key: &StreamKey) -> Result<Option<StreamPipeline>> {
        let Some(stored) = self.meta.get_pipeline(key).await? else {
            return Ok(None);
        };
        let cached = self
            .cached(key)
            .and_then(|entry| entry.pipeline.clone())
            .filter(|pipeline| pipeline.definition == stored.definition);
        if let Some(cached) = cached {
            return Ok(Some(cached));
        }
        let text = stored.definition.clone();
        // Regular expressions and VRL programs take a while to compile: off the async runtime.
        let compiled = tokio::task::spawn_blocking(move || {
            serde_json::from_str::<PipelineDefinition>(&text)
                .map_err(|e| e.to_string())
                .and_then(|definition| Pipeline::compile(&definition))
                .map(Arc::new)
        })
        .await
        .map_err(|e| Error::Internal(format!("pipeline compile task failed: {e}")))?
        .map_err(|error| {
            tracing::error!(stream = %key, %error, "the stream's pipeline does not compile; its records are stored unprocessed");
            format!("the stream's pipeline does not compile: {error}")
        });
        Ok(Some(StreamPipeline {
            definition: stored.definition,
            compiled,
        }))
    }

    /// The cached entry, if any (fresh or not).
    pub fn cached(&self, key: &StreamKey) -> Option<Arc<StreamEntry>> {
        self.entries
            .read()
            .ok()
            .and_then(|entries| entries.get(key).cloned())
    }

    /// Forgets the stream (after its settings changed or it was deleted).
    pub fn invalidate(&self, key: &StreamKey) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(key);
        }
    }

    /// Marks the streams named `stream` of `org` stale (every stream of `org` without a name,
    /// of every organisation without `org`): a change announced by another node, or events
    /// missed while NATS was unreachable. The next write re-reads their settings, and keeps
    /// the stale ones — unlike [`Catalog::invalidate`] — should the database not answer.
    pub fn mark_stale(&self, org: Option<&OrgId>, stream: Option<&str>) {
        let Some(expired) = Instant::now().checked_sub(SETTINGS_TTL) else {
            return;
        };
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        for (key, entry) in entries.iter_mut() {
            let named = org.is_none_or(|org| key.org == *org)
                && stream.is_none_or(|stream| key.name.as_str() == stream);
            if named {
                *entry = Arc::new(StreamEntry {
                    loaded_at: expired,
                    ..StreamEntry::clone(entry)
                });
            }
        }
    }

    /// The stored schema, read from the database.
    pub async fn stored_schema(&self, key: &StreamKey) -> Result<StreamSchema> {
        Ok(self.meta.latest_schema(key).await?)
    }

    /// Merges the columns of `batch` into the stream's stored schema, creating the stream on its
    /// first batch (schema first, then the stream row); returns whether a new schema version was
    /// written.
    pub async fn merge_batch_schema(&self, key: &StreamKey, batch: &RecordBatch) -> Result<bool> {
        let cached = self.entry(key).await?;
        let changed = self.merge_schema(key, &cached, batch).await?;
        if !cached.exists {
            self.meta.ensure_stream(key).await?;
            self.mark_existing(key);
        }
        Ok(changed)
    }

    async fn merge_schema(
        &self,
        key: &StreamKey,
        cached: &StreamEntry,
        batch: &RecordBatch,
    ) -> Result<bool> {
        let needed = |schema: &StreamSchema| required_types(schema, batch);
        let (_, changed) = cached
            .schema
            .merged(needed(&cached.schema).iter().map(|(n, t)| (n.as_str(), *t)));
        if !changed {
            return Ok(false);
        }
        let lock = self.schema_lock(key);
        let _guard = lock.lock().await;
        let mut current = self.meta.latest_schema(key).await?;
        for _ in 0..MAX_SCHEMA_RETRIES {
            let required = needed(&current);
            let (next, changed) = current.merged(required.iter().map(|(n, t)| (n.as_str(), *t)));
            if !changed {
                self.update_schema(key, current);
                return Ok(false);
            }
            match self.meta.save_schema(key, &next).await {
                Ok(()) => {
                    self.update_schema(key, next);
                    return Ok(true);
                }
                Err(kansoku_meta::Error::Conflict(_)) => {
                    current = self.meta.latest_schema(key).await?;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::Internal(format!(
            "schema of {key} kept changing concurrently; gave up after {MAX_SCHEMA_RETRIES} attempts"
        )))
    }

    fn update_schema(&self, key: &StreamKey, schema: StreamSchema) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if let Some(entry) = entries.get_mut(key)
            && entry.schema.version <= schema.version
        {
            let mut updated = (**entry).clone();
            updated.schema = schema;
            *entry = Arc::new(updated);
        }
    }

    fn mark_existing(&self, key: &StreamKey) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if let Some(entry) = entries.get_mut(key) {
            let mut updated = (**entry).clone();
            updated.exists = true;
            *entry = Arc::new(updated);
        }
    }

    fn store(&self, entry: Arc<StreamEntry>) {
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(entry.key.clone(), entry);
        }
    }

    fn schema_lock(&self, key: &StreamKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.schema_locks.lock() {
            Ok(locks) => locks,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(locks.entry(key.clone()).or_default())
    }

    fn make_entry(
        &self,
        key: StreamKey,
        settings: StreamSettings,
        schema: StreamSchema,
        exists: bool,
    ) -> StreamEntry {
        let zone = if settings.timezone.is_empty() {
            self.defaults.zone.clone()
        } else {
            parse_time_zone(&settings.timezone).unwrap_or_else(|error| {
                tracing::warn!(stream = %key, %error, "ignoring invalid stream time zone");
                self.defaults.zone.clone()
            })
        };
        let timestamp_fields_explicit = !settings.timestamp_fields.is_empty();
        let timestamp_fields = if timestamp_fields_explicit {
            settings
                .timestamp_fields
                .iter()
                .map(|f| kansoku_core::names::normalise_field_name(f))
                .collect()
        } else {
            DEFAULT_TIMESTAMP_FIELDS
                .iter()
                .map(|f| f.to_string())
                .collect()
        };
        let flatten_level = settings.flatten_level(self.defaults.flatten_level);
        let dedup_window_secs = match key.stream_type {
            StreamType::Metrics => 0,
            StreamType::Logs | StreamType::Traces => {
                settings.dedup_window_secs(self.defaults.dedup_window_secs)
            }
        };
        StreamEntry {
            dedup_window_secs,
            key,
            settings,
            schema,
            zone,
            timestamp_fields,
            timestamp_fields_explicit,
            flatten_level,
            exists,
            pipeline: None,
            loaded_at: Instant::now(),
        }
    }
}

/// The stream-schema types the batch's columns need, given the current schema. An integer
/// column meeting a float schema column needs text if any value is too large for a float.
fn required_types(current: &StreamSchema, batch: &RecordBatch) -> Vec<(String, FieldType)> {
    let schema = batch.schema();
    let mut required = Vec::with_capacity(schema.fields().len());
    for (index, field) in schema.fields().iter().enumerate().skip(1) {
        let Some(mut field_type) = field_type_of(field.data_type()) else {
            continue;
        };
        let meets_float = current.field_type(field.name()) == Some(FieldType::Float64);
        if meets_float && field.data_type() == &DataType::Int64 {
            let column = batch.column(index).as_primitive::<Int64Type>();
            let too_large = column
                .iter()
                .flatten()
                .any(|v| v.unsigned_abs() > (1u64 << 53));
            if too_large {
                field_type = FieldType::Utf8;
            }
        }
        required.push((field.name().clone(), field_type));
    }
    required
}
