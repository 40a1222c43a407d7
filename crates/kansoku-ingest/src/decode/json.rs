//! `POST /api/{org}/{stream}/_json`: a JSON array of records, or one record.
//!
//! The body must be valid JSON as a whole: a syntax error anywhere rejects the request with its
//! line and column and nothing is ingested. Elements that are not objects fail individually.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::flatten::{FlattenOptions, NotAnObject, RecordSeed};
use crate::record::FlatRecord;

/// Calls `sink(index, record)` for every element (index starts at 1). Returns the number of
/// elements, or a message describing why the body is not a JSON array or object.
pub fn for_each_record<'b>(
    body: &'b [u8],
    options: FlattenOptions,
    mut sink: impl FnMut(usize, Result<FlatRecord<'b>, NotAnObject>),
) -> Result<usize, String> {
    let body = super::strip_bom(body);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let visitor = BodyVisitor {
        options,
        sink: &mut sink,
    };
    let count = de::Deserializer::deserialize_any(&mut deserializer, visitor)
        .map_err(|e| format!("invalid JSON body: {e}"))?
        .map_err(|kind| {
            format!("body must be a JSON array of objects or one object, found {kind}")
        })?;
    deserializer
        .end()
        .map_err(|e| format!("invalid JSON body: {e}"))?;
    Ok(count)
}

struct BodyVisitor<'s, S> {
    options: FlattenOptions,
    sink: &'s mut S,
}

impl<'de, S> Visitor<'de> for BodyVisitor<'_, S>
where
    S: FnMut(usize, Result<FlatRecord<'de>, NotAnObject>),
{
    /// Number of records, or the kind of value the body was instead.
    type Value = Result<usize, &'static str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of objects or one object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut index = 0;
        while let Some(record) = seq.next_element_seed(RecordSeed {
            options: self.options,
        })? {
            index += 1;
            (self.sink)(index, record);
        }
        Ok(Ok(index))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let record = RecordSeed {
            options: self.options,
        }
        .deserialize(de::value::MapAccessDeserializer::new(map))?;
        (self.sink)(1, record);
        Ok(Ok(1))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(body: &str) -> Result<Vec<Result<usize, NotAnObject>>, String> {
        let mut seen = Vec::new();
        for_each_record(body.as_bytes(), FlattenOptions { max_depth: 3 }, |i, r| {
            seen.push(r.map(|rec| {
                assert!(i >= 1);
                rec.fields.len()
            }));
        })?;
        Ok(seen)
    }

    #[test]
    fn arrays_objects_and_bad_elements() {
        assert_eq!(
            collect(r#"[{"a":1},{"b":2,"c":3}]"#).unwrap(),
            vec![Ok(1), Ok(2)]
        );
        assert_eq!(collect(r#"{"a":1}"#).unwrap(), vec![Ok(1)]);
        assert_eq!(collect("[]").unwrap(), vec![]);
        assert_eq!(
            collect(r#"[{"a":1},"x",[1]]"#).unwrap(),
            vec![
                Ok(1),
                Err(NotAnObject("a string")),
                Err(NotAnObject("an array"))
            ]
        );
        assert_eq!(collect("\u{feff}[{\"a\":1}]").unwrap(), vec![Ok(1)]);
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let error = collect("[{\"a\":1},\n{\"b\":}]").unwrap_err();
        assert!(error.contains("line 2"), "{error}");
        assert!(error.contains("column"), "{error}");
        assert!(collect("[{\"a\":1},]").is_err(), "trailing comma");
        assert!(collect("[{\"a\":NaN}]").is_err());
        assert!(collect("[{\"a\":1}] x").is_err());
        assert!(collect("42").unwrap_err().contains("found a number"));
        assert!(collect("null").is_err());
    }
}
