//! Segment files: naming, listing and deletion.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const SUFFIX: &str = ".wal";

/// The path of segment `id` in `dir`.
pub fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}{SUFFIX}"))
}

/// The ids of all segments in `dir`, ascending. Files that are not segments are ignored.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(SUFFIX) else {
            continue;
        };
        if let Ok(id) = stem.parse::<u64>() {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Deletes every segment with an id `<= last` and returns how many were removed.
pub fn remove_segments_through(dir: &Path, last: u64) -> Result<usize> {
    let mut removed = 0;
    for id in list_segments(dir)? {
        if id > last {
            break;
        }
        let path = segment_path(dir, id);
        fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        removed += 1;
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// Makes a directory entry change (create, delete) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let handle = fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    handle.sync_all().map_err(|e| Error::io(dir, e))
}
