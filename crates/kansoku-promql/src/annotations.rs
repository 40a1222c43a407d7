//! Warnings and infos a query produces next to its result (Prometheus' annotations).

/// The annotations of one query, each message once, in the order first seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    /// `PromQL warning: …` messages.
    pub warnings: Vec<String>,
    /// `PromQL info: …` messages.
    pub infos: Vec<String>,
}

impl Annotations {
    /// Adds a warning (the `PromQL warning: ` prefix is added here).
    pub fn warn(&mut self, message: impl AsRef<str>) {
        push_once(
            &mut self.warnings,
            format!("PromQL warning: {}", message.as_ref()),
        );
    }

    /// Adds an info (the `PromQL info: ` prefix is added here).
    pub fn info(&mut self, message: impl AsRef<str>) {
        push_once(
            &mut self.infos,
            format!("PromQL info: {}", message.as_ref()),
        );
    }

    /// Adds everything of `other`.
    pub fn merge(&mut self, other: Annotations) {
        for warning in other.warnings {
            push_once(&mut self.warnings, warning);
        }
        for info in other.infos {
            push_once(&mut self.infos, info);
        }
    }
}

fn push_once(list: &mut Vec<String>, message: String) {
    if !list.contains(&message) {
        list.push(message);
    }
}
