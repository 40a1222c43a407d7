//! The series of an organisation's metrics streams, as PromQL reads them.
//!
//! ```text
//! per metrics stream:  fresh snapshot (memtable) THEN manifest files in range minus covered ones
//!   file with a series index: index (cached) → matching series overlapping the range → their row
//!     ranges → only `_timestamp` and `value` of those rows (Parquet row selection)
//!   file without one, fresh batches: every row's labels from its label columns
//! → samples per series, merged in time order, one per timestamp
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use kansoku_core::schema::TIMESTAMP_COLUMN;
use kansoku_core::schema::metrics::{NAME_COLUMN, VALUE_COLUMN, is_metrics_layout};
use kansoku_core::{OrgId, StreamKey, StreamType};
use kansoku_index::{IndexedSeries, SeriesIndex};
use kansoku_meta::{FileEntry, MetaStore};
use kansoku_promql::matcher::all_match;
use kansoku_promql::value::Point;
use kansoku_promql::{LabelMatcher, Labels, SeriesSource};
use kansoku_storage::{FreshData, ObjectStore};
use parquet::arrow::arrow_reader::RowSelection;

use crate::error::Result;
use crate::read::FileReader;
use crate::rows::{Gathered, finish, gather};
use arrow::array::AsArray;
use arrow::datatypes::{Float64Type, Int64Type};

/// The metrics store of one node.
#[derive(Clone)]
pub struct MetricsStore {
    meta: MetaStore,
    fresh: Arc<dyn FreshData>,
    files: FileReader,
}

impl MetricsStore {
    /// A store over the manifest in `meta`, files in `store` and fresh data from `fresh`.
    pub fn new(meta: MetaStore, store: ObjectStore, fresh: Arc<dyn FreshData>) -> MetricsStore {
        MetricsStore {
            meta,
            fresh,
            files: FileReader::new(store),
        }
    }

    /// The metadata database.
    pub fn meta(&self) -> &MetaStore {
        &self.meta
    }

    /// The file reader (shared caches).
    pub fn files(&self) -> &FileReader {
        &self.files
    }

    /// The fresh data.
    pub fn fresh(&self) -> &Arc<dyn FreshData> {
        &self.fresh
    }

    /// The same store (caches shared) reading fresh data from `fresh` instead: one request's
    /// view (`kansoku_storage::ReportedFresh`).
    pub fn with_fresh(&self, fresh: Arc<dyn FreshData>) -> MetricsStore {
        MetricsStore {
            meta: self.meta.clone(),
            fresh,
            files: self.files.clone(),
        }
    }

    /// The series of `org`'s metrics streams (the streams are looked up once).
    pub async fn org(&self, org: &OrgId) -> Result<OrgSeries> {
        let mut streams = Vec::new();
        for record in self
            .meta
            .list_streams(org, Some(StreamType::Metrics))
            .await?
        {
            let schema = self.meta.latest_schema(&record.key).await?;
            if is_metrics_layout(schema.fields.keys().map(String::as_str)) {
                streams.push(record.key);
            }
        }
        Ok(OrgSeries {
            store: self.clone(),
            streams,
            rows_read: std::sync::atomic::AtomicU64::new(0),
        })
    }
}

/// The series of one organisation.
pub struct OrgSeries {
    store: MetricsStore,
    streams: Vec<StreamKey>,
    /// Rows read from stored files so far (what the series indexes saved shows here).
    rows_read: std::sync::atomic::AtomicU64,
}

/// Milliseconds `[start, end]` as microseconds, both inclusive.
pub fn micros_range(start_ms: i64, end_ms: i64) -> (i64, i64) {
    (
        start_ms.saturating_mul(1000),
        end_ms.saturating_mul(1000).saturating_add(999),
    )
}

impl OrgSeries {
    /// The metrics streams read.
    pub fn streams(&self) -> &[StreamKey] {
        &self.streams
    }

    /// Rows read from stored files so far.
    pub fn rows_read(&self) -> u64 {
        self.rows_read.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_rows(&self, batches: &[arrow::array::RecordBatch]) {
        let rows: usize = batches
            .iter()
            .map(arrow::array::RecordBatch::num_rows)
            .sum();
        self.rows_read
            .fetch_add(rows as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Series matching `matchers` with data in `[start_us, end_us]`, with their samples when
    /// `samples` is set.
    pub async fn gather(
        &self,
        matchers: &[LabelMatcher],
        (start_us, end_us): (i64, i64),
        samples: bool,
    ) -> Result<Gathered> {
        let mut out = Gathered::new();
        for key in &self.streams {
            let range_end = end_us.saturating_add(1);
            let (snapshot, files) = kansoku_storage::fresh::snapshot_then_list(
                self.store.fresh.as_ref(),
                key,
                start_us,
                range_end,
                || self.store.meta.list_files(key, start_us, range_end),
                FileEntry::path_and_node,
                FileEntry::listing_too_slow,
            )
            .await?;
            for batch in &snapshot.batches {
                gather(batch, matchers, (start_us, end_us), samples, &mut out);
            }
            for file in &files {
                self.gather_file(file, matchers, (start_us, end_us), samples, &mut out)
                    .await?;
            }
        }
        Ok(out)
    }

    async fn gather_file(
        &self,
        file: &FileEntry,
        matchers: &[LabelMatcher],
        range: (i64, i64),
        samples: bool,
        out: &mut Gathered,
    ) -> Result<()> {
        let index = match &file.series_path {
            Some(path) => match self.store.files.series_index(path).await {
                Ok(index) => Some(index),
                Err(error) => {
                    tracing::warn!(%path, %error, "unreadable series index; reading the file row by row");
                    None
                }
            },
            None => None,
        };
        let Some(index) = index else {
            let batches = self.store.files.read(&file.path, None, None).await?;
            self.count_rows(&batches);
            for batch in &batches {
                gather(batch, matchers, range, samples, out);
            }
            return Ok(());
        };
        let chosen = choose(&index, matchers, range);
        if chosen.is_empty() {
            return Ok(());
        }
        if !samples {
            for (labels, _) in chosen {
                out.entry(labels).or_default();
            }
            return Ok(());
        }
        let total_rows = index
            .series()
            .last()
            .map_or(0, |s| (s.first_row + s.rows) as usize);
        let ranges = chosen
            .iter()
            .map(|(_, s)| s.first_row as usize..(s.first_row + s.rows) as usize);
        let selection = RowSelection::from_consecutive_ranges(ranges, total_rows);
        let batches = self
            .store
            .files
            .read(
                &file.path,
                Some(&[TIMESTAMP_COLUMN, VALUE_COLUMN]),
                Some(selection),
            )
            .await?;
        self.count_rows(&batches);
        let mut rows = batches.iter().flat_map(|batch| {
            let times = batch.column(0).as_primitive::<Int64Type>().clone();
            let values = batch.column(1).as_primitive::<Float64Type>().clone();
            (0..batch.num_rows()).map(move |row| (times.value(row), values.value(row)))
        });
        for (labels, series) in chosen {
            let points = out.entry(labels).or_default();
            for _ in 0..series.rows {
                let Some((t, v)) = rows.next() else {
                    break;
                };
                if t >= range.0 && t <= range.1 {
                    points.push(Point {
                        t: t.div_euclid(1000),
                        v,
                    });
                }
            }
        }
        Ok(())
    }

    /// The label sets of series matching any of `sets` (every series when `sets` is empty) with
    /// data in `[start_ms, end_ms]`, sorted.
    pub async fn label_sets(
        &self,
        sets: &[Vec<LabelMatcher>],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Labels>> {
        let range = micros_range(start_ms, end_ms);
        let mut all = Gathered::new();
        if sets.is_empty() {
            all = self.gather(&[], range, false).await?;
        }
        for matchers in sets {
            all.extend(self.gather(matchers, range, false).await?);
        }
        let mut labels: Vec<Labels> = all.into_keys().collect();
        labels.sort();
        Ok(labels)
    }
}

/// The series of `index` that match `matchers` and overlap `range`, in file order.
fn choose(
    index: &SeriesIndex,
    matchers: &[LabelMatcher],
    (start, end): (i64, i64),
) -> Vec<(Labels, IndexedSeries)> {
    let all = index.series();
    let name_of = |series: &IndexedSeries| -> String {
        index
            .labels(series)
            .find(|(name, _)| name.as_ref() == NAME_COLUMN)
            .map(|(_, value)| value.to_string())
            .unwrap_or_default()
    };
    // Files are sorted by metric name first: a name matcher with literal values narrows the
    // search to the runs of those names.
    let literal_names = matchers
        .iter()
        .filter(|m| m.name == NAME_COLUMN)
        .find_map(LabelMatcher::literal_values);
    let spans: Vec<std::ops::Range<usize>> = match literal_names {
        Some(mut names) => {
            names.sort();
            names.dedup();
            names
                .iter()
                .map(|name| {
                    let from = all.partition_point(|s| name_of(s).as_str() < name.as_str());
                    let to = all.partition_point(|s| name_of(s).as_str() <= name.as_str());
                    from..to
                })
                .collect()
        }
        None => std::iter::once(0..all.len()).collect(),
    };
    let mut chosen = Vec::new();
    for span in spans {
        for series in &all[span] {
            if series.max_ts < start || series.min_ts > end {
                continue;
            }
            let labels =
                Labels::from_pairs(index.labels(series).map(|(n, v)| (n.as_ref(), v.as_ref())));
            if all_match(matchers, &labels) {
                chosen.push((labels, series.clone()));
            }
        }
    }
    chosen.sort_by_key(|(_, series)| series.first_row);
    chosen
}

#[async_trait]
impl SeriesSource for OrgSeries {
    async fn select(
        &self,
        matchers: &[LabelMatcher],
        start: i64,
        end: i64,
    ) -> kansoku_promql::Result<Vec<kansoku_promql::Series>> {
        let gathered = self
            .gather(matchers, micros_range(start, end), true)
            .await?;
        Ok(finish(gathered)
            .into_iter()
            .filter(|series| !series.points.is_empty())
            .collect())
    }
}
