//! A decoded, flattened record before it becomes a row of a record batch.
//!
//! Strings borrow from the request body wherever the JSON had no escapes, so decoding a record
//! allocates only for its field list.

use std::borrow::Cow;

/// One scalar value of a flattened record.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// JSON `true` / `false`.
    Bool(bool),
    /// A JSON integer that fits `i64`.
    Int(i64),
    /// A JSON integer above `i64::MAX`.
    UInt(u64),
    /// A JSON number with a fraction or exponent.
    Float(f64),
    /// A JSON string, or an array / too-deep object kept as its JSON text.
    Str(Cow<'a, str>),
}

impl Scalar<'_> {
    /// Bytes the value takes as text, for size limits and raw-byte accounting.
    pub fn approx_len(&self) -> usize {
        match self {
            Scalar::Bool(_) => 5,
            Scalar::Int(_) | Scalar::UInt(_) | Scalar::Float(_) => 8,
            Scalar::Str(text) => text.len(),
        }
    }

    /// The value as text (numbers and booleans as JSON writes them).
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Scalar::Bool(value) => Cow::Owned(value.to_string()),
            Scalar::Int(value) => Cow::Owned(value.to_string()),
            Scalar::UInt(value) => Cow::Owned(value.to_string()),
            Scalar::Float(value) => Cow::Owned(value.to_string()),
            Scalar::Str(text) => Cow::Borrowed(text.as_ref()),
        }
    }

    /// The value, owning its text.
    pub fn into_owned(self) -> Scalar<'static> {
        match self {
            Scalar::Bool(value) => Scalar::Bool(value),
            Scalar::Int(value) => Scalar::Int(value),
            Scalar::UInt(value) => Scalar::UInt(value),
            Scalar::Float(value) => Scalar::Float(value),
            Scalar::Str(text) => Scalar::Str(Cow::Owned(text.into_owned())),
        }
    }
}

/// A record flattened into `(normalised field name, scalar)` pairs, in document order.
/// Later duplicates of a name win when the row is built.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FlatRecord<'a> {
    /// The fields.
    pub fields: Vec<(Cow<'a, str>, Scalar<'a>)>,
}

impl<'a> FlatRecord<'a> {
    /// Bytes of names and values, the measure used for the per-record size limit.
    pub fn approx_bytes(&self) -> usize {
        self.fields
            .iter()
            .map(|(name, value)| name.len() + value.approx_len() + 2)
            .sum()
    }

    /// Removes and returns the last value of `name`.
    pub fn take(&mut self, name: &str) -> Option<Scalar<'a>> {
        let position = self.fields.iter().rposition(|(field, _)| field == name)?;
        let value = self.fields.remove(position).1;
        self.fields.retain(|(field, _)| field != name);
        Some(value)
    }

    /// Sets `name` to `value`, replacing every earlier value of it.
    pub fn set(&mut self, name: impl Into<Cow<'a, str>>, value: Scalar<'a>) {
        let name = name.into();
        self.fields.retain(|(field, _)| *field != name);
        self.fields.push((name, value));
    }

    /// Sets every field of `fields` (later ones of the same name win), replacing the record's
    /// earlier values of those names; one pass over the record, whatever the number of fields.
    pub fn set_all(&mut self, fields: impl IntoIterator<Item = (Cow<'a, str>, Scalar<'a>)>) {
        let mut incoming: Vec<(Cow<'a, str>, Scalar<'a>)> = fields.into_iter().collect();
        if incoming.is_empty() {
            return;
        }
        let names: std::collections::HashSet<String> =
            incoming.iter().map(|(name, _)| name.to_string()).collect();
        self.fields
            .retain(|(name, _)| !names.contains(name.as_ref()));
        self.fields.append(&mut incoming);
    }

    /// The last value of `name`.
    pub fn get(&self, name: &str) -> Option<&Scalar<'a>> {
        self.fields
            .iter()
            .rev()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value)
    }
}
