//! The volume lock and the volume id beside the WAL.
//!
//! `DATA_DIR/wal/node.lock` is held with an exclusive `flock` for the life of the process: two
//! processes on one WAL would corrupt it, and holding the lock is what proves that the volume's
//! previous process is gone, so a lease row naming this volume can be taken at once.
//! `DATA_DIR/wal/volume` holds one line, the volume's id (a UUID drawn when the volume is first
//! used, never changed).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

const LOCK_FILE: &str = "node.lock";
const VOLUME_FILE: &str = "volume";
const LEGACY_INSTANCE_FILE: &str = "instance";
const LONGEST_ID: usize = 64;

/// This process's exclusive hold on a WAL directory, released when dropped (or when the
/// process dies: the kernel drops a dead process's flock).
#[derive(Debug)]
pub struct VolumeLock {
    dir: PathBuf,
    _file: File,
}

impl VolumeLock {
    /// Locks `wal_dir` (created if missing), or fails at once with [`Error::VolumeInUse`].
    /// Blocking: call it off the async runtime.
    pub fn acquire(wal_dir: &Path) -> Result<VolumeLock> {
        std::fs::create_dir_all(wal_dir).map_err(|source| Error::Io {
            what: "create",
            path: wal_dir.to_path_buf(),
            source,
        })?;
        let path = wal_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Io {
                what: "open",
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(VolumeLock {
                dir: wal_dir.to_path_buf(),
                _file: file,
            }),
            Err(TryLockError::WouldBlock) => Err(Error::VolumeInUse { path }),
            Err(TryLockError::Error(source)) => Err(Error::Io {
                what: "lock",
                path,
                source,
            }),
        }
    }

    /// This volume's id: read from the volume file, or drawn and recorded durably (written
    /// aside, fsynced, renamed, directory fsynced) when there is none yet. Blocking.
    pub fn volume_id(&self) -> Result<String> {
        let path = self.dir.join(VOLUME_FILE);
        match std::fs::read_to_string(&path) {
            Ok(raw) => {
                let id = raw.trim();
                if !is_id(id) {
                    return Err(Error::CorruptVolumeId { path });
                }
                return Ok(id.to_string());
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Io {
                    what: "read",
                    path,
                    source,
                });
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        self.record(&path, &id)?;
        Ok(id)
    }

    /// The instance id a build before volume ids recorded beside the WAL
    /// (`DATA_DIR/wal/instance`), if any: it identifies this volume's lease row from before
    /// migration 11.
    pub fn legacy_instance(&self) -> Result<Option<String>> {
        let path = self.dir.join(LEGACY_INSTANCE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(raw) if is_id(raw.trim()) => Ok(Some(raw.trim().to_string())),
            Ok(_) => Ok(None),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                what: "read",
                path,
                source,
            }),
        }
    }

    fn record(&self, path: &Path, id: &str) -> Result<()> {
        let staged = self.dir.join(format!("{VOLUME_FILE}.tmp"));
        let io = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source: std::io::Error| Error::Io { what, path, source }
        };
        let mut file = File::create(&staged).map_err(io("create", &staged))?;
        file.write_all(format!("{id}\n").as_bytes())
            .map_err(io("write", &staged))?;
        file.sync_all().map_err(io("fsync", &staged))?;
        std::fs::rename(&staged, path).map_err(io("rename", path))?;
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io("fsync", &self.dir))
    }
}

fn is_id(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= LONGEST_ID
        && raw
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_volume_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("wal");
        let first = VolumeLock::acquire(&wal).unwrap();
        assert!(matches!(
            VolumeLock::acquire(&wal),
            Err(Error::VolumeInUse { .. })
        ));
        drop(first);
        VolumeLock::acquire(&wal).unwrap();
    }

    #[test]
    fn the_volume_id_is_drawn_once_and_garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let lock = VolumeLock::acquire(dir.path()).unwrap();
        let id = lock.volume_id().unwrap();
        assert!(is_id(&id), "{id}");
        assert_eq!(lock.volume_id().unwrap(), id);
        drop(lock);
        assert_eq!(
            VolumeLock::acquire(dir.path())
                .unwrap()
                .volume_id()
                .unwrap(),
            id
        );
        let lock = VolumeLock::acquire(dir.path()).unwrap();
        std::fs::write(dir.path().join(VOLUME_FILE), "not an id; rm -rf /").unwrap();
        assert!(matches!(
            lock.volume_id(),
            Err(Error::CorruptVolumeId { .. })
        ));
        std::fs::write(dir.path().join(VOLUME_FILE), "").unwrap();
        assert!(matches!(
            lock.volume_id(),
            Err(Error::CorruptVolumeId { .. })
        ));
    }
}
