//! The volume lock and the instance file beside the WAL.
//!
//! `DATA_DIR/wal/node.lock` is held with an exclusive `flock` for the life of the process: two
//! processes on one WAL would corrupt it, and holding the lock is what proves that the process
//! named in `DATA_DIR/wal/instance` (the volume's previous one) is gone, so its lease row can be
//! taken at once. The instance file holds one line, the instance id (a UUID).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

const LOCK_FILE: &str = "node.lock";
const INSTANCE_FILE: &str = "instance";
const LONGEST_INSTANCE: usize = 64;

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

    /// The instance id this volume's previous process recorded, if any.
    pub fn previous_instance(&self) -> Result<Option<String>> {
        let path = self.dir.join(INSTANCE_FILE);
        let raw = match std::fs::read_to_string(&path) {
            Ok(raw) => raw,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    what: "read",
                    path,
                    source,
                });
            }
        };
        let instance = raw.trim();
        if !is_instance_id(instance) {
            return Err(Error::CorruptInstance { path });
        }
        Ok(Some(instance.to_string()))
    }

    /// Records `instance` as this volume's process, durably (written aside, fsynced, renamed,
    /// directory fsynced). Blocking.
    pub fn record_instance(&self, instance: &str) -> Result<()> {
        let path = self.dir.join(INSTANCE_FILE);
        let staged = self.dir.join(format!("{INSTANCE_FILE}.tmp"));
        let io = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source: std::io::Error| Error::Io { what, path, source }
        };
        let mut file = File::create(&staged).map_err(io("create", &staged))?;
        file.write_all(format!("{instance}\n").as_bytes())
            .map_err(io("write", &staged))?;
        file.sync_all().map_err(io("fsync", &staged))?;
        std::fs::rename(&staged, &path).map_err(io("rename", &path))?;
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io("fsync", &self.dir))
    }
}

fn is_instance_id(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= LONGEST_INSTANCE
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
    fn the_instance_file_round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let lock = VolumeLock::acquire(dir.path()).unwrap();
        assert_eq!(lock.previous_instance().unwrap(), None);
        lock.record_instance("3f1c0d9e-1111-4a2b-8c3d-000000000001")
            .unwrap();
        assert_eq!(
            lock.previous_instance().unwrap().as_deref(),
            Some("3f1c0d9e-1111-4a2b-8c3d-000000000001")
        );
        std::fs::write(dir.path().join(INSTANCE_FILE), "not an id; rm -rf /").unwrap();
        assert!(matches!(
            lock.previous_instance(),
            Err(Error::CorruptInstance { .. })
        ));
        std::fs::write(dir.path().join(INSTANCE_FILE), "").unwrap();
        assert!(matches!(
            lock.previous_instance(),
            Err(Error::CorruptInstance { .. })
        ));
    }
}
