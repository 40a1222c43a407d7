//! The baseline: the same records as one plain zstd Parquet file.

use std::io::{BufReader, Seek};
use std::path::PathBuf;
use std::sync::Arc;

use arrow::json::ReaderBuilder;
use arrow::json::reader::infer_json_schema;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::generate::Data;

/// The written file.
pub struct Baseline {
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// CPU seconds of this process to parse and encode it.
    pub cpu_seconds: f64,
}

/// Reads the normalised NDJSON with arrow-json and writes it with parquet's default settings
/// and zstd.
pub fn write_parquet(data: &Data) -> anyhow::Result<Baseline> {
    let path = data.normalised_path.with_extension("parquet");
    let before = process_cpu_seconds();
    let mut input = BufReader::new(std::fs::File::open(&data.normalised_path)?);
    let (schema, _) = infer_json_schema(&mut input, Some(20_000))?;
    input.rewind()?;
    let schema = Arc::new(schema);
    let reader = ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(8192)
        .with_strict_mode(false)
        .build(input)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(&path)?, schema, Some(properties))?;
    for batch in reader {
        writer.write(&batch?)?;
    }
    writer.close()?;
    let cpu_seconds = process_cpu_seconds() - before;
    let bytes = std::fs::metadata(&path)?.len();
    Ok(Baseline {
        path,
        bytes,
        cpu_seconds,
    })
}

/// CPU seconds of this process (user + system).
fn process_cpu_seconds() -> f64 {
    #[allow(unsafe_code)]
    // SAFETY: getrusage writes into the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
