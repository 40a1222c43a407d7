//! A stream as a DataFusion table: stored Parquet files from the manifest plus not-yet-flushed
//! batches, restricted to the request's time range.
//!
//! ```text
//! FilterExec(_timestamp in [start, end))          exact time bounds, always applied
//!   UnionExec
//!     DataSourceExec(Parquet, predicate)          files overlapping the range; row groups and
//!                                                 pages pruned by statistics of the predicate
//!     DataSourceExec(memory)                      fresh batches, conformed to the stream schema
//! ```
//!
//! Before that, files and row groups that the full-text index rules out are dropped
//! (`crate::pruning`).
//!
//! Older files written with narrower column types or without newer columns are read through
//! DataFusion's schema adapter (cast up, null-filled).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{DFSchema, project_schema};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::parquet::ParquetAccessPlan;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result as DfResult;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, col, lit};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::union::UnionExec;
use futures::StreamExt;
use kansoku_core::schema::TIMESTAMP_COLUMN;
use kansoku_meta::FileEntry;

use crate::pruning::IndexCache;

/// What the scans of one query read (for `scan_size` / `scan_records` in responses).
#[derive(Debug, Default)]
pub struct ScanStats {
    /// Stored bytes of the files scanned.
    pub files_bytes: AtomicU64,
    /// Files scanned.
    pub files: AtomicU64,
    /// Rows of fresh data scanned.
    pub fresh_rows: AtomicU64,
    /// Rows recorded in the manifest for the files scanned.
    pub file_rows: AtomicU64,
    /// Files not read because their partition values rule the query out.
    pub files_skipped_by_partition: AtomicU64,
    /// Files not read because their index rules the query out.
    pub files_skipped_by_index: AtomicU64,
    /// Row groups not read because their index rules the query out.
    pub row_groups_skipped_by_index: AtomicU64,
}

/// One stream over one time range.
#[derive(Debug)]
pub struct StreamTable {
    schema: SchemaRef,
    files: Vec<FileEntry>,
    fresh: Vec<RecordBatch>,
    start: i64,
    end: i64,
    store_url: ObjectStoreUrl,
    stats: Arc<ScanStats>,
    indexes: Arc<IndexCache>,
}

impl StreamTable {
    /// A table over `files` (already filtered by time and pending paths) and `fresh` batches
    /// (already conformed to `schema`).
    pub fn new(
        schema: SchemaRef,
        files: Vec<FileEntry>,
        fresh: Vec<RecordBatch>,
        (start, end): (i64, i64),
        store_url: ObjectStoreUrl,
        stats: Arc<ScanStats>,
        indexes: Arc<IndexCache>,
    ) -> StreamTable {
        StreamTable {
            schema,
            files,
            fresh,
            start,
            end,
            store_url,
            stats,
            indexes,
        }
    }

    fn time_filter(&self) -> Expr {
        col(TIMESTAMP_COLUMN)
            .gt_eq(lit(self.start))
            .and(col(TIMESTAMP_COLUMN).lt(lit(self.end)))
    }

    /// The files to read for `filters`, each with a row-group plan when its index rules some out.
    async fn files_to_scan(
        &self,
        filters: &[Expr],
    ) -> Vec<(&FileEntry, Option<ParquetAccessPlan>)> {
        let allowed = crate::pruning::allowed_values(filters);
        let candidates: Vec<&FileEntry> = self
            .files
            .iter()
            .filter(|file| crate::pruning::partition_may_match(&file.partition, &allowed))
            .collect();
        self.stats.files_skipped_by_partition.fetch_add(
            (self.files.len() - candidates.len()) as u64,
            Ordering::Relaxed,
        );
        let required = crate::pruning::requirement(filters);
        if !required.is_useful() {
            return candidates.into_iter().map(|file| (file, None)).collect();
        }
        let paths: Vec<Option<String>> = candidates.iter().map(|f| f.index_path.clone()).collect();
        let loads = paths.into_iter().map(|path| {
            let indexes = Arc::clone(&self.indexes);
            async move {
                match path {
                    Some(path) => indexes.load(&path).await,
                    None => None,
                }
            }
        });
        let indexes: Vec<_> = futures::stream::iter(loads).buffered(16).collect().await;
        let mut scan = Vec::with_capacity(candidates.len());
        let loaded = candidates.into_iter().zip(indexes);
        for (file, index) in loaded {
            let Some(index) = index else {
                scan.push((file, None));
                continue;
            };
            let matching = index.row_groups_matching(&required);
            let skipped = matching.iter().filter(|keep| !**keep).count();
            if skipped == matching.len() {
                self.stats
                    .files_skipped_by_index
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            self.stats
                .row_groups_skipped_by_index
                .fetch_add(skipped as u64, Ordering::Relaxed);
            if skipped == 0 {
                scan.push((file, None));
                continue;
            }
            let mut plan = ParquetAccessPlan::new_all(matching.len());
            for (row_group, keep) in matching.iter().enumerate() {
                if !keep {
                    plan.skip(row_group);
                }
            }
            scan.push((file, Some(plan)));
        }
        scan
    }

    /// Spreads files over `partitions` groups of similar size.
    fn file_groups(
        files: Vec<(&FileEntry, Option<ParquetAccessPlan>)>,
        partitions: usize,
    ) -> Vec<FileGroup> {
        let partitions = partitions.max(1).min(files.len().max(1));
        let mut groups: Vec<(u64, Vec<PartitionedFile>)> =
            (0..partitions).map(|_| (0, Vec::new())).collect();
        let mut files = files;
        files.sort_by_key(|(file, _)| std::cmp::Reverse(file.stored_bytes));
        for (file, plan) in files {
            if let Some(lightest) = groups.iter_mut().min_by_key(|(bytes, _)| *bytes) {
                lightest.0 += file.stored_bytes.max(0) as u64;
                let mut partitioned =
                    PartitionedFile::new(file.path.clone(), file.stored_bytes.max(0) as u64);
                if let Some(plan) = plan {
                    partitioned = partitioned.with_extension(plan);
                }
                lightest.1.push(partitioned);
            }
        }
        groups
            .into_iter()
            .filter(|(_, files)| !files.is_empty())
            .map(|(_, files)| FileGroup::new(files))
            .collect()
    }
}

#[async_trait]
impl TableProvider for StreamTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let requested: Vec<usize> = match projection {
            Some(projection) => projection.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        // `_timestamp` (column 0) is always read so the time bounds can be applied.
        let mut scanned = requested.clone();
        if !scanned.contains(&0) {
            scanned.push(0);
        }
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        let files = self.files_to_scan(filters).await;
        if !files.is_empty() {
            self.stats
                .files
                .fetch_add(files.len() as u64, Ordering::Relaxed);
            self.stats.files_bytes.fetch_add(
                files
                    .iter()
                    .map(|(f, _)| f.stored_bytes.max(0) as u64)
                    .sum(),
                Ordering::Relaxed,
            );
            self.stats.file_rows.fetch_add(
                files.iter().map(|(f, _)| f.records.max(0) as u64).sum(),
                Ordering::Relaxed,
            );
            let table_schema = DFSchema::try_from(Arc::clone(&self.schema))?;
            let pruning = conjunction(filters.iter().cloned().chain([self.time_filter()]))
                .unwrap_or_else(|| self.time_filter());
            let predicate = state.create_physical_expr(pruning, &table_schema)?;
            let source = ParquetSource::new(Arc::clone(&self.schema))
                .with_predicate(predicate)
                .with_enable_page_index(true);
            let groups = Self::file_groups(files, state.config().target_partitions());
            let config = FileScanConfigBuilder::new(self.store_url.clone(), Arc::new(source))
                .with_file_groups(groups)
                .with_projection_indices(Some(scanned.clone()))?
                .build();
            inputs.push(
                ParquetFormat::default()
                    .create_physical_plan(state, config)
                    .await?,
            );
        }
        if !self.fresh.is_empty() {
            let rows: usize = self.fresh.iter().map(RecordBatch::num_rows).sum();
            self.stats
                .fresh_rows
                .fetch_add(rows as u64, Ordering::Relaxed);
            inputs.push(MemorySourceConfig::try_new_exec(
                std::slice::from_ref(&self.fresh),
                Arc::clone(&self.schema),
                Some(scanned.clone()),
            )?);
        }
        if inputs.is_empty() {
            let projected = project_schema(&self.schema, Some(&requested))?;
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let union = UnionExec::try_new(inputs)?;
        let scanned_schema = DFSchema::try_from(union.schema())?;
        let time_predicate = state.create_physical_expr(self.time_filter(), &scanned_schema)?;
        let filtered: Arc<dyn ExecutionPlan> =
            Arc::new(FilterExec::try_new(time_predicate, union)?);
        if scanned == requested {
            return Ok(filtered);
        }
        let schema = filtered.schema();
        let columns: Vec<(Arc<dyn datafusion::physical_expr::PhysicalExpr>, String)> = (0
            ..requested.len())
            .map(|index| {
                let name = schema.field(index).name().clone();
                (Arc::new(Column::new(&name, index)) as _, name)
            })
            .collect();
        Ok(Arc::new(ProjectionExec::try_new(columns, filtered)?))
    }
}
