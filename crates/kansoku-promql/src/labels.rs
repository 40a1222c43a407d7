//! Label sets: the identity of a series.
//!
//! A [`Labels`] is a list of `(name, value)` pairs sorted by name, without empty values (a label
//! with an empty value does not exist in Prometheus' model), with the metric name under
//! `__name__`.

use std::fmt;
use std::sync::Arc;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    /// The name.
    pub name: Arc<str>,
    /// The value (never empty inside a [`Labels`]).
    pub value: Arc<str>,
}

/// A label set, sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// The empty set.
    pub fn empty() -> Labels {
        Labels(Vec::new())
    }

    /// A label set from pairs in any order; empty values are left out and a later duplicate
    /// name wins.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Labels {
        let mut builder = LabelsBuilder::new(&Labels::empty());
        for (name, value) in pairs {
            builder.set(name.as_ref(), value.as_ref());
        }
        builder.build()
    }

    /// The value of `name`, `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .binary_search_by(|label| label.name.as_ref().cmp(name))
            .map(|index| self.0[index].value.as_ref())
            .unwrap_or("")
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    /// The metric name, `""` when absent.
    pub fn metric_name(&self) -> &str {
        self.get(METRIC_NAME)
    }

    /// The labels in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.0.iter()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The set without `__name__`.
    pub fn without_metric_name(&self) -> Labels {
        if !self.has(METRIC_NAME) {
            return self.clone();
        }
        Labels(
            self.0
                .iter()
                .filter(|label| label.name.as_ref() != METRIC_NAME)
                .cloned()
                .collect(),
        )
    }

    /// Only the labels named in `names`.
    pub fn keep(&self, names: &[String]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|label| names.iter().any(|n| n.as_str() == label.name.as_ref()))
                .cloned()
                .collect(),
        )
    }

    /// Every label except those named in `names`.
    pub fn drop(&self, names: &[String]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|label| !names.iter().any(|n| n.as_str() == label.name.as_ref()))
                .cloned()
                .collect(),
        )
    }

    /// Every label except `__name__` and those named in `names`.
    pub fn drop_with_name(&self, names: &[String]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|label| {
                    label.name.as_ref() != METRIC_NAME
                        && !names.iter().any(|n| n.as_str() == label.name.as_ref())
                })
                .cloned()
                .collect(),
        )
    }

    /// The pairs as owned strings.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|label| (label.name.to_string(), label.value.to_string()))
            .collect()
    }
}

impl fmt::Display for Labels {
    /// Prometheus' text form: `name{a="b", c="d"}`, or `{…}` without a metric name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name();
        f.write_str(name)?;
        let others: Vec<&Label> = self
            .0
            .iter()
            .filter(|label| label.name.as_ref() != METRIC_NAME)
            .collect();
        if others.is_empty() && !name.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (index, label) in others.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}=\"{}\"", label.name, escape(&label.value))?;
        }
        f.write_str("}")
    }
}

/// A label value escaped as in a PromQL string literal.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out
}

/// Edits a label set.
#[derive(Debug, Clone)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    /// Starts from `base`.
    pub fn new(base: &Labels) -> LabelsBuilder {
        LabelsBuilder {
            labels: base.0.clone(),
        }
    }

    /// Sets `name` to `value`; an empty value removes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        match self
            .labels
            .binary_search_by(|label| label.name.as_ref().cmp(name))
        {
            Ok(index) if value.is_empty() => {
                self.labels.remove(index);
            }
            Ok(index) => self.labels[index].value = Arc::from(value),
            Err(_) if value.is_empty() => {}
            Err(index) => self.labels.insert(
                index,
                Label {
                    name: Arc::from(name),
                    value: Arc::from(value),
                },
            ),
        }
        self
    }

    /// Sets a label from shared strings (no copy).
    pub fn set_label(&mut self, label: &Label) -> &mut Self {
        if label.value.is_empty() {
            return self.del(&label.name);
        }
        match self
            .labels
            .binary_search_by(|existing| existing.name.cmp(&label.name))
        {
            Ok(index) => self.labels[index] = label.clone(),
            Err(index) => self.labels.insert(index, label.clone()),
        }
        self
    }

    /// Removes `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        if let Ok(index) = self
            .labels
            .binary_search_by(|label| label.name.as_ref().cmp(name))
        {
            self.labels.remove(index);
        }
        self
    }

    /// The label set.
    pub fn build(self) -> Labels {
        Labels(self.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_are_sorted_and_skip_empty_values() {
        let labels = Labels::from_pairs([("b", "2"), ("__name__", "up"), ("a", "1"), ("c", "")]);
        assert_eq!(
            labels.to_pairs(),
            vec![
                ("__name__".to_string(), "up".to_string()),
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "2".to_string()),
            ]
        );
        assert_eq!(labels.get("c"), "");
        assert_eq!(labels.to_string(), r#"up{a="1", b="2"}"#);
        assert_eq!(
            labels.without_metric_name().to_string(),
            r#"{a="1", b="2"}"#
        );
        assert_eq!(Labels::from_pairs([("__name__", "up")]).to_string(), "up");
        assert_eq!(Labels::empty().to_string(), "{}");
    }

    #[test]
    fn builders_set_and_remove() {
        let base = Labels::from_pairs([("a", "1")]);
        let mut builder = LabelsBuilder::new(&base);
        builder.set("b", "x\"y").set("a", "");
        assert_eq!(builder.build().to_string(), r#"{b="x\"y"}"#);
    }
}
