//! Where an evaluation reads its series from.

use async_trait::async_trait;

use crate::error::Result;
use crate::labels::Labels;
use crate::matcher::{LabelMatcher, all_match};
use crate::value::{Point, Series};

/// A store of series.
#[async_trait]
pub trait SeriesSource: Send + Sync {
    /// Every series matching all `matchers`, with its samples in `[start, end]` (milliseconds,
    /// both inclusive), sorted by label set. Series without a sample in the range may be left
    /// out. Stale markers are returned as they were written.
    async fn select(&self, matchers: &[LabelMatcher], start: i64, end: i64) -> Result<Vec<Series>>;
}

/// Series held in memory (tests, the PromQL test-file runner).
#[derive(Debug, Default, Clone)]
pub struct MemorySource {
    series: Vec<Series>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> MemorySource {
        MemorySource::default()
    }

    /// Adds samples to the series `labels` (created when new), keeping time order; a sample at
    /// a time the series already has replaces it.
    pub fn add(&mut self, labels: &Labels, points: impl IntoIterator<Item = Point>) {
        let index = match self.series.binary_search_by(|s| s.labels.cmp(labels)) {
            Ok(index) => index,
            Err(index) => {
                self.series.insert(
                    index,
                    Series {
                        labels: labels.clone(),
                        points: Vec::new(),
                    },
                );
                index
            }
        };
        let series = &mut self.series[index];
        for point in points {
            match series.points.binary_search_by_key(&point.t, |p| p.t) {
                Ok(at) => series.points[at] = point,
                Err(at) => series.points.insert(at, point),
            }
        }
    }

    /// Removes every series.
    pub fn clear(&mut self) {
        self.series.clear();
    }

    /// Every series.
    pub fn series(&self) -> &[Series] {
        &self.series
    }
}

#[async_trait]
impl SeriesSource for MemorySource {
    async fn select(&self, matchers: &[LabelMatcher], start: i64, end: i64) -> Result<Vec<Series>> {
        Ok(self
            .series
            .iter()
            .filter(|series| all_match(matchers, &series.labels))
            .filter_map(|series| {
                let points: Vec<Point> = series
                    .points
                    .iter()
                    .filter(|p| p.t >= start && p.t <= end)
                    .copied()
                    .collect();
                (!points.is_empty()).then(|| Series {
                    labels: series.labels.clone(),
                    points,
                })
            })
            .collect())
    }
}
