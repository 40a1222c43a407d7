//! The query engine: from an organisation, a stream type, SQL and a time range to results.
//!
//! ```text
//! guard::validate (one read-only SELECT, plain stream names)
//!   → resolve each stream in the caller's organisation (else "stream not found")
//!   → rewrite o2 functions (match_all over the stream's full-text fields, …)
//!   → per stream: fresh snapshot, then manifest files in range minus pending paths → StreamTable
//!   → a fresh SessionContext holding only those tables (no information_schema, no DDL/DML)
//!   → DataFrame (+ default ORDER BY _timestamp DESC for plain scans) → limit → collect, with
//!     a memory limit and a timeout
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use datafusion::common::TableReference;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::cache::cache_manager::{CacheManagerConfig, FileMetadataCache};
use datafusion::execution::cache::default_cache::DefaultCache;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::SortExpr;
use datafusion::prelude::{DataFrame, SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, Ident, OrderBy, OrderByExpr, OrderByKind, OrderByOptions, Query, SetExpr,
    WithFill,
};
use kansoku_core::{OrgId, StreamKey, StreamName, StreamSchema, StreamType};
use kansoku_meta::{FileEntry, MetaStore};
use kansoku_storage::schema::{arrow_schema, conform_batch};
use kansoku_storage::{FreshData, ObjectStore};

use crate::error::{Error, Result, from_datafusion};
use crate::functions::{Histogram, auto_interval};
use crate::guard::{ValidatedQuery, validate};
use crate::pruning::IndexCache;
use crate::rewrite::{RewriteContext, rewrite};
use crate::table::{ScanStats, StreamTable};

/// Limits of the read path.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Memory one query may use for sorts, aggregates and joins.
    pub memory_limit: usize,
    /// Longest a query may run.
    pub timeout: Duration,
    /// Most hits one search may return (downloads are not capped).
    pub max_hits: usize,
    /// Parallelism of one query.
    pub target_partitions: usize,
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            memory_limit: 512 * 1024 * 1024,
            timeout: Duration::from_secs(60),
            max_hits: 10_000,
            target_partitions: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// A search request (OpenObserve's `query` object).
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The SQL.
    pub sql: String,
    /// Start of the time range, µs, inclusive.
    pub start_time: i64,
    /// End of the time range, µs, exclusive.
    pub end_time: i64,
    /// Hits to skip.
    pub from: usize,
    /// Hits to return.
    pub size: usize,
    /// Count all matching rows, not just the returned ones.
    pub track_total_hits: bool,
}

/// A search result.
#[derive(Debug, Clone)]
pub struct SearchResponse {
    /// The hits as a JSON array (objects without null fields).
    pub hits_json: String,
    /// Number of hits.
    pub hits: usize,
    /// Number of matching rows (exact when `track_total_hits`).
    pub total: usize,
    /// Output columns.
    pub columns: Vec<String>,
    /// Milliseconds taken.
    pub took_ms: u64,
    /// Stored bytes of the files scanned.
    pub scan_size_bytes: u64,
    /// Rows in the files and fresh data scanned.
    pub scan_records: u64,
    /// Files scanned.
    pub scan_files: u64,
    /// Files skipped because their partition values rule the query out.
    pub files_skipped_by_partition: u64,
    /// Files skipped because their full-text index rules the query out.
    pub files_skipped_by_index: u64,
    /// Row groups skipped because their full-text index rules the query out.
    pub row_groups_skipped_by_index: u64,
    /// The automatic `histogram()` interval for this range, in seconds.
    pub histogram_interval_secs: i64,
}

/// A planned query, ready to run or to build on.
pub struct PlannedQuery {
    /// The DataFrame.
    pub frame: DataFrame,
    /// Every field of the streams read (for suggestions).
    pub fields: Vec<String>,
    /// What the scans read.
    pub stats: Arc<ScanStats>,
}

/// Where a planned query reads its streams from.
#[derive(Clone, Copy)]
enum TableSource<'a> {
    /// Stored files and fresh data in the time range.
    Stored,
    /// Exactly these batches of this stream.
    Batches(&'a StreamName, &'a [RecordBatch]),
}

/// Runs queries for one node.
pub struct QueryEngine {
    meta: MetaStore,
    store: ObjectStore,
    fresh: Arc<dyn FreshData>,
    config: QueryConfig,
    indexes: Arc<IndexCache>,
    /// Parquet footers of stored files, shared by all queries (committed files never change).
    footers: Arc<FileMetadataCache>,
}

const STORE_URL: &str = "kansoku://storage";
/// Memory for cached Parquet footers.
const FOOTER_CACHE_BYTES: usize = 64 * 1024 * 1024;

impl QueryEngine {
    /// An engine over the manifest in `meta`, files in `store` and fresh data from `fresh`.
    pub fn new(
        meta: MetaStore,
        store: ObjectStore,
        fresh: Arc<dyn FreshData>,
        config: QueryConfig,
    ) -> QueryEngine {
        QueryEngine {
            meta,
            indexes: Arc::new(IndexCache::new(store.clone())),
            footers: Arc::new(DefaultCache::new(FOOTER_CACHE_BYTES)),
            store,
            fresh,
            config,
        }
    }

    /// The same engine (caches shared) reading fresh data from `fresh` instead: one request's
    /// view, e.g. one that reports which nodes it could not read
    /// (`kansoku_storage::ReportedFresh`).
    pub fn with_fresh(&self, fresh: Arc<dyn FreshData>) -> QueryEngine {
        QueryEngine {
            meta: self.meta.clone(),
            store: self.store.clone(),
            fresh,
            config: self.config.clone(),
            indexes: Arc::clone(&self.indexes),
            footers: Arc::clone(&self.footers),
        }
    }

    /// The fresh data it reads.
    pub fn fresh(&self) -> &Arc<dyn FreshData> {
        &self.fresh
    }

    /// The limits in force.
    pub fn config(&self) -> &QueryConfig {
        &self.config
    }

    /// Runs a search. If a file it listed is gone when read (replaced by compaction or expired
    /// after the grace period), it is planned and run once more over a new listing.
    pub async fn search(
        &self,
        org: &OrgId,
        stream_type: StreamType,
        request: &SearchRequest,
    ) -> Result<SearchResponse> {
        match self.search_once(org, stream_type, request).await {
            Err(Error::FileGone(detail)) => {
                tracing::info!(%detail, "a listed file was gone; searching again over a new listing");
                self.search_once(org, stream_type, request).await
            }
            other => other,
        }
    }

    async fn search_once(
        &self,
        org: &OrgId,
        stream_type: StreamType,
        request: &SearchRequest,
    ) -> Result<SearchResponse> {
        let started = Instant::now();
        if request.size > self.config.max_hits {
            return Err(Error::InvalidParams(format!(
                "size {} exceeds the limit of {} hits per search; page with from/size or use the download API",
                request.size, self.config.max_hits
            )));
        }
        let planned = self
            .plan(
                org,
                stream_type,
                &request.sql,
                request.start_time,
                request.end_time,
                true,
            )
            .await?;
        let fields = planned.fields.clone();
        let limited = planned
            .frame
            .clone()
            .limit(request.from, Some(request.size))
            .map_err(|e| from_datafusion(e, &fields))?;
        let batches = self.collect(limited, &fields).await?;
        let hits: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let total = if request.track_total_hits {
            self.with_timeout(planned.frame.count(), &fields).await?
        } else {
            hits + request.from
        };
        let columns = batches
            .first()
            .map(|batch| {
                batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect()
            })
            .unwrap_or_default();
        let stats = &planned.stats;
        use std::sync::atomic::Ordering::Relaxed;
        Ok(SearchResponse {
            hits_json: batches_to_json(&batches)?,
            hits,
            total,
            columns,
            took_ms: started.elapsed().as_millis() as u64,
            scan_size_bytes: stats.files_bytes.load(Relaxed),
            scan_records: stats.file_rows.load(Relaxed) + stats.fresh_rows.load(Relaxed),
            scan_files: stats.files.load(Relaxed),
            files_skipped_by_partition: stats.files_skipped_by_partition.load(Relaxed),
            files_skipped_by_index: stats.files_skipped_by_index.load(Relaxed),
            row_groups_skipped_by_index: stats.row_groups_skipped_by_index.load(Relaxed),
            histogram_interval_secs: auto_interval(request.start_time, request.end_time)
                / 1_000_000,
        })
    }

    /// Runs a query and streams every result batch (downloads).
    pub async fn stream(
        &self,
        org: &OrgId,
        stream_type: StreamType,
        sql: &str,
        start: i64,
        end: i64,
    ) -> Result<SendableRecordBatchStream> {
        let planned = self.plan(org, stream_type, sql, start, end, true).await?;
        let fields = planned.fields.clone();
        planned
            .frame
            .execute_stream()
            .await
            .map_err(|e| from_datafusion(e, &fields))
    }

    /// Validates and plans `sql` over `[start, end)`. With `default_order`, a plain scan without
    /// ORDER BY is ordered by `_timestamp` descending.
    pub async fn plan(
        &self,
        org: &OrgId,
        stream_type: StreamType,
        sql: &str,
        start: i64,
        end: i64,
        default_order: bool,
    ) -> Result<PlannedQuery> {
        self.plan_over(
            org,
            stream_type,
            sql,
            (start, end),
            default_order,
            TableSource::Stored,
        )
        .await
    }

    /// Runs `sql`, which must read exactly the stream `stream`, over `batches` of it instead of
    /// its stored and fresh data (live tail). The same validation and rewriting apply.
    pub async fn run_over_batches(
        &self,
        org: &OrgId,
        stream_type: StreamType,
        stream: &StreamName,
        sql: &str,
        batches: &[RecordBatch],
    ) -> Result<Vec<RecordBatch>> {
        let planned = self
            .plan_over(
                org,
                stream_type,
                sql,
                (i64::MIN, i64::MAX),
                false,
                TableSource::Batches(stream, batches),
            )
            .await?;
        let fields = planned.fields.clone();
        self.collect(planned.frame, &fields).await
    }

    async fn plan_over(
        &self,
        org: &OrgId,
        stream_type: StreamType,
        sql: &str,
        (start, end): (i64, i64),
        default_order: bool,
        source: TableSource<'_>,
    ) -> Result<PlannedQuery> {
        if start >= end {
            return Err(Error::InvalidParams(format!(
                "start_time ({start}) must be before end_time ({end})"
            )));
        }
        let ValidatedQuery { mut query, streams } = validate(sql)?;
        if let TableSource::Batches(stream, _) = source {
            let reads_only_the_stream =
                streams.len() == 1 && streams.iter().all(|name| name.as_str() == stream.as_str());
            if !reads_only_the_stream {
                return Err(Error::InvalidParams(format!(
                    "a live tail query must read exactly the stream '{stream}'"
                )));
            }
        }
        let mut resolved = BTreeMap::new();
        for name in &streams {
            let stream_name = StreamName::normalise(name)
                .ok()
                .filter(|normalised| normalised.as_str() == name)
                .ok_or_else(|| Error::StreamNotFound(name.clone()))?;
            let key = StreamKey::new(org.clone(), stream_type, stream_name);
            let Some(record) = self.meta.get_stream(&key).await? else {
                return Err(Error::StreamNotFound(name.clone()));
            };
            let schema = self.meta.latest_schema(&key).await?;
            resolved.insert(name.clone(), (key, record.settings, schema));
        }
        if let Some((first, (_, settings, schema))) = resolved.iter().next() {
            let full_text_fields = settings.full_text_fields(schema);
            rewrite(
                &mut query,
                &RewriteContext {
                    stream: first,
                    full_text_fields: &full_text_fields,
                },
            )?;
        }
        let fields: Vec<String> = resolved
            .values()
            .flat_map(|(_, _, schema)| schema.field_defs().into_iter().map(|f| f.name))
            .collect();
        let stats = Arc::new(ScanStats::default());
        let context = self.context(start, end)?;
        for (name, (key, _, schema)) in &resolved {
            let table = match source {
                TableSource::Stored => {
                    self.table(key, schema, start, end, Arc::clone(&stats))
                        .await?
                }
                TableSource::Batches(_, batches) => {
                    self.table_over(schema, batches, Arc::clone(&stats))?
                }
            };
            context
                .register_table(TableReference::bare(name.clone()), Arc::new(table))
                .map_err(|e| Error::Internal(e.to_string()))?;
        }
        let single_stream = resolved.len() == 1;
        if default_order && single_stream && query.order_by.is_none() && is_plain_select(&query) {
            let mut ordered = query.clone();
            ordered.order_by = Some(timestamp_descending());
            if let Ok(frame) = self.frame(&context, &ordered, &fields).await {
                return Ok(PlannedQuery {
                    frame,
                    fields,
                    stats,
                });
            }
        }
        let frame = self.frame(&context, &query, &fields).await?;
        Ok(PlannedQuery {
            frame,
            fields,
            stats,
        })
    }

    async fn frame(
        &self,
        context: &SessionContext,
        query: &Query,
        fields: &[String],
    ) -> Result<DataFrame> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        context
            .sql_with_options(&query.to_string(), options)
            .await
            .map_err(|e| from_datafusion(e, fields))
    }

    fn context(&self, start: i64, end: i64) -> Result<SessionContext> {
        let caches =
            CacheManagerConfig::default().with_file_metadata_cache(Some(Arc::clone(&self.footers)));
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(self.config.memory_limit, 1.0)
            .with_cache_manager(caches)
            .build_arc()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let url = ObjectStoreUrl::parse(STORE_URL).map_err(|e| Error::Internal(e.to_string()))?;
        runtime.register_object_store(url.as_ref(), self.store.inner());
        let config = SessionConfig::new()
            .with_information_schema(false)
            .with_target_partitions(self.config.target_partitions.max(1))
            .with_default_catalog_and_schema("kansoku", "streams");
        let context = SessionContext::new_with_config_rt(config, runtime);
        context.register_udf(Histogram::udf(start, end));
        context.register_udf(crate::icontains::ContainsIgnoreCase::udf());
        Ok(context)
    }

    async fn table(
        &self,
        key: &StreamKey,
        schema: &StreamSchema,
        start: i64,
        end: i64,
        stats: Arc<ScanStats>,
    ) -> Result<StreamTable> {
        let arrow = arrow_schema(schema);
        let (snapshot, files) = kansoku_storage::fresh::snapshot_then_list(
            self.fresh.as_ref(),
            key,
            start,
            end,
            || self.meta.list_files(key, start, end),
            FileEntry::path_and_node,
            FileEntry::listing_too_slow,
        )
        .await?;
        let fresh = snapshot
            .batches
            .iter()
            .map(|batch| conform_batch(batch, &arrow))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let url = ObjectStoreUrl::parse(STORE_URL).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(StreamTable::new(
            arrow,
            files,
            fresh,
            (start, end),
            url,
            stats,
            Arc::clone(&self.indexes),
        ))
    }

    fn table_over(
        &self,
        schema: &StreamSchema,
        batches: &[RecordBatch],
        stats: Arc<ScanStats>,
    ) -> Result<StreamTable> {
        let arrow = arrow_schema(schema);
        let fresh = batches
            .iter()
            .map(|batch| conform_batch(batch, &arrow))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let url = ObjectStoreUrl::parse(STORE_URL).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(StreamTable::new(
            arrow,
            Vec::new(),
            fresh,
            (i64::MIN, i64::MAX),
            url,
            stats,
            Arc::clone(&self.indexes),
        ))
    }

    /// Collects a frame within the time limit.
    pub async fn collect(&self, frame: DataFrame, fields: &[String]) -> Result<Vec<RecordBatch>> {
        self.with_timeout(frame.collect(), fields).await
    }

    /// Runs `future` on its own task and gives up after the configured timeout. A separate task
    /// matters: operators over in-memory data may never yield, so a timeout around the same
    /// future would never be polled.
    async fn with_timeout<T: Send + 'static>(
        &self,
        future: impl std::future::Future<Output = datafusion::error::Result<T>> + Send + 'static,
        fields: &[String],
    ) -> Result<T> {
        let mut task = tokio::spawn(future);
        match tokio::time::timeout(self.config.timeout, &mut task).await {
            Ok(Ok(result)) => result.map_err(|e| from_datafusion(e, fields)),
            Ok(Err(join_error)) => Err(Error::Internal(format!("query task failed: {join_error}"))),
            Err(_) => {
                task.abort();
                Err(Error::Timeout(self.config.timeout.as_secs()))
            }
        }
    }
}

/// Whether the query is a single SELECT without grouping, DISTINCT or set operations.
fn is_plain_select(query: &Query) -> bool {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    let grouped = match &select.group_by {
        datafusion::sql::sqlparser::ast::GroupByExpr::All(_) => true,
        datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(expressions, _) => {
            !expressions.is_empty()
        }
    };
    !grouped && select.distinct.is_none() && select.having.is_none()
}

fn timestamp_descending() -> OrderBy {
    OrderBy {
        kind: OrderByKind::Expressions(vec![OrderByExpr {
            expr: SqlExpr::Identifier(Ident::with_quote(
                '"',
                kansoku_core::schema::TIMESTAMP_COLUMN,
            )),
            options: OrderByOptions {
                asc: Some(false),
                nulls_first: None,
            },
            with_fill: None::<WithFill>,
        }]),
        interpolate: None,
    }
}

/// Sort expression `_timestamp DESC`.
pub fn timestamp_desc_sort() -> SortExpr {
    datafusion::prelude::col(kansoku_core::schema::TIMESTAMP_COLUMN).sort(false, false)
}

/// Record batches as one JSON array of objects (nulls omitted).
pub fn batches_to_json(batches: &[RecordBatch]) -> Result<String> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    writer
        .write_batches(&refs)
        .map_err(|e| Error::Internal(format!("encoding hits: {e}")))?;
    writer
        .finish()
        .map_err(|e| Error::Internal(format!("encoding hits: {e}")))?;
    let bytes = writer.into_inner();
    let text = String::from_utf8(bytes).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(if text.is_empty() {
        "[]".to_string()
    } else {
        text
    })
}
