//! The column type lattice.
//!
//! Ingested JSON values have one of four natural types. When a field is seen with different types,
//! its column type *widens* along `Boolean → Int64 → Float64 → Utf8` so that no record is ever
//! dropped for a type conflict: every value can be represented losslessly in a wider type
//! (`true` as `1`, `5` as `5.0` when exact, anything as its JSON text).

use serde::{Deserialize, Serialize};

/// The type of a stored column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// `true` / `false`.
    Boolean,
    /// Signed 64-bit integer.
    Int64,
    /// 64-bit IEEE float.
    Float64,
    /// UTF-8 text.
    Utf8,
}

impl FieldType {
    /// The narrowest type that can hold values of both `self` and `other`.
    pub fn widen(self, other: FieldType) -> FieldType {
        self.max(other)
    }

    /// The name used in the API (`"Utf8"`, `"Int64"`, … as Arrow spells them).
    pub fn as_arrow_name(self) -> &'static str {
        match self {
            FieldType::Boolean => "Boolean",
            FieldType::Int64 => "Int64",
            FieldType::Float64 => "Float64",
            FieldType::Utf8 => "Utf8",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_follows_the_lattice() {
        use FieldType::*;
        assert_eq!(Boolean.widen(Int64), Int64);
        assert_eq!(Int64.widen(Boolean), Int64);
        assert_eq!(Int64.widen(Float64), Float64);
        assert_eq!(Float64.widen(Utf8), Utf8);
        assert_eq!(Utf8.widen(Boolean), Utf8);
        assert_eq!(Float64.widen(Float64), Float64);
    }

    #[test]
    fn serialises_lowercase() {
        assert_eq!(
            serde_json::to_string(&FieldType::Float64).unwrap(),
            "\"float64\""
        );
    }
}
