//! Appending: a synchronous [`SegmentWriter`] and the group-commit thread around it ([`WalWriter`]).

use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::metrics::WalMetrics;
use crate::segment::{segment_path, sync_dir};
use crate::{FORMAT_VERSION, FRAME_LEN, HEADER_LEN, MAGIC, MAX_PAYLOAD_LEN};

/// Most commands folded into one group commit.
const MAX_GROUP: usize = 4096;

/// Appends records to the newest segment. Synchronous; used by [`WalWriter`]'s thread and by tests.
pub struct SegmentWriter {
    dir: PathBuf,
    segment: u64,
    file: File,
    path: PathBuf,
    /// Length of the file up to the end of the last complete record.
    good_len: u64,
    fsync: bool,
    poisoned: Option<String>,
    metrics: WalMetrics,
}

impl SegmentWriter {
    /// Creates segment `segment` in `dir` (which must exist) and makes it durable.
    pub fn create(
        dir: &Path,
        segment: u64,
        fsync: bool,
        metrics: WalMetrics,
    ) -> Result<SegmentWriter> {
        let path = segment_path(dir, segment);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        header.extend_from_slice(&segment.to_le_bytes());
        file.write_all(&header).map_err(|e| Error::io(&path, e))?;
        if fsync {
            file.sync_data().map_err(|e| Error::io(&path, e))?;
            sync_dir(dir)?;
        }
        Ok(SegmentWriter {
            dir: dir.to_path_buf(),
            segment,
            file,
            path,
            good_len: HEADER_LEN as u64,
            fsync,
            poisoned: None,
            metrics,
        })
    }

    /// The id of the segment being appended to.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// Appends `payloads` as consecutive records and makes them durable with one fsync.
    ///
    /// On failure nothing of this group is acknowledged and the segment is cut back to its
    /// previous length; if even that fails, the writer refuses all further appends.
    pub fn append_group(&mut self, payloads: &[&[u8]]) -> Result<()> {
        if let Some(reason) = &self.poisoned {
            return Err(Error::Poisoned(reason.clone()));
        }
        if let Some(too_big) = payloads.iter().find(|p| p.len() > MAX_PAYLOAD_LEN) {
            return Err(Error::PayloadTooLarge {
                len: too_big.len(),
                limit: MAX_PAYLOAD_LEN,
            });
        }
        let total: usize = payloads.iter().map(|p| p.len() + FRAME_LEN).sum();
        let frames: Vec<[u8; FRAME_LEN]> = payloads
            .iter()
            .map(|payload| {
                let mut frame = [0u8; FRAME_LEN];
                // Length fits: checked against MAX_PAYLOAD_LEN (< u32::MAX) above.
                frame[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
                frame[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
                frame
            })
            .collect();
        // Frames and payloads go out with writev: the payloads are not copied into one buffer.
        let mut slices: Vec<IoSlice<'_>> = frames
            .iter()
            .zip(payloads)
            .flat_map(|(frame, payload)| [IoSlice::new(frame), IoSlice::new(payload)])
            .collect();
        let written = self.write_and_sync(&mut slices);
        if let Err(error) = written {
            self.repair_after_failed_write();
            return Err(error);
        }
        self.good_len += total as u64;
        self.metrics.appended_bytes.inc_by(total as u64);
        self.metrics.appended_records.inc_by(payloads.len() as u64);
        self.metrics.group_commits.inc();
        Ok(())
    }

    /// Seals the current segment and starts the next one; returns the sealed segment's id.
    pub fn rotate(&mut self) -> Result<u64> {
        if let Some(reason) = &self.poisoned {
            return Err(Error::Poisoned(reason.clone()));
        }
        if self.fsync {
            self.file
                .sync_data()
                .map_err(|e| Error::io(&self.path, e))?;
        }
        let sealed = self.segment;
        let next = SegmentWriter::create(&self.dir, sealed + 1, self.fsync, self.metrics.clone())?;
        *self = next;
        Ok(sealed)
    }

    fn write_and_sync(&mut self, slices: &mut [IoSlice<'_>]) -> Result<()> {
        write_all_vectored(&mut self.file, slices).map_err(|e| Error::io(&self.path, e))?;
        if self.fsync {
            let started = Instant::now();
            self.file
                .sync_data()
                .map_err(|e| Error::io(&self.path, e))?;
            self.metrics
                .fsync_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        Ok(())
    }

    fn repair_after_failed_write(&mut self) {
        let repaired = self
            .file
            .set_len(self.good_len)
            .and_then(|()| self.file.seek(SeekFrom::Start(self.good_len)).map(|_| ()))
            .and_then(|()| self.file.sync_data());
        if let Err(error) = repaired {
            let reason = format!(
                "could not cut {} back to {} bytes: {error}",
                self.path.display(),
                self.good_len
            );
            tracing::error!(%reason, "wal poisoned");
            self.poisoned = Some(reason);
        }
    }
}

enum Command {
    Append {
        payloads: Vec<Vec<u8>>,
        reply: oneshot::Sender<Result<u64>>,
    },
    Rotate {
        reply: oneshot::Sender<Result<u64>>,
    },
}

/// An async handle to a dedicated thread that owns the [`SegmentWriter`] and performs group
/// commits: every append waiting while one fsync runs is written and synced by the next one.
#[derive(Clone)]
pub struct WalWriter {
    commands: mpsc::Sender<Command>,
    segment: Arc<AtomicU64>,
}

impl WalWriter {
    /// Creates segment `first_segment` in `dir` and starts the writer thread.
    pub fn start(
        dir: &Path,
        first_segment: u64,
        fsync: bool,
        metrics: WalMetrics,
    ) -> Result<WalWriter> {
        let writer = SegmentWriter::create(dir, first_segment, fsync, metrics)?;
        let segment = Arc::new(AtomicU64::new(first_segment));
        let (commands, receiver) = mpsc::channel();
        let thread_segment = Arc::clone(&segment);
        std::thread::Builder::new()
            .name("kansoku-wal".to_string())
            .spawn(move || run_writer(writer, receiver, thread_segment))
            .map_err(|e| Error::io(dir, e))?;
        Ok(WalWriter { commands, segment })
    }

    /// Appends `payloads` durably; returns the segment they were written to.
    pub async fn append(&self, payloads: Vec<Vec<u8>>) -> Result<u64> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Append { payloads, reply })
            .map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)?
    }

    /// Seals the current segment and starts a new one; returns the sealed segment's id.
    pub async fn rotate(&self) -> Result<u64> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Rotate { reply })
            .map_err(|_| Error::Stopped)?;
        answer.await.map_err(|_| Error::Stopped)?
    }

    /// The segment currently appended to.
    pub fn current_segment(&self) -> u64 {
        self.segment.load(Ordering::Acquire)
    }
}

fn run_writer(
    mut writer: SegmentWriter,
    receiver: mpsc::Receiver<Command>,
    segment: Arc<AtomicU64>,
) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(command) => group.push(command),
                Err(_) => break,
            }
        }
        let mut pending = Vec::new();
        for command in group {
            match command {
                Command::Append { payloads, reply } => pending.push((payloads, reply)),
                Command::Rotate { reply } => {
                    commit(&mut writer, &mut pending);
                    let rotated = writer.rotate();
                    segment.store(writer.segment(), Ordering::Release);
                    let _ = reply.send(rotated);
                }
            }
        }
        commit(&mut writer, &mut pending);
    }
}

type PendingAppend = (Vec<Vec<u8>>, oneshot::Sender<Result<u64>>);

fn commit(writer: &mut SegmentWriter, pending: &mut Vec<PendingAppend>) {
    if pending.is_empty() {
        return;
    }
    let appends = std::mem::take(pending);
    let payloads: Vec<&[u8]> = appends
        .iter()
        .flat_map(|(payloads, _)| payloads.iter().map(Vec::as_slice))
        .collect();
    let outcome = writer.append_group(&payloads);
    let segment = writer.segment();
    match outcome {
        Ok(()) => {
            for (_, reply) in appends {
                let _ = reply.send(Ok(segment));
            }
        }
        Err(error) => {
            let message = error.to_string();
            tracing::error!(error = %message, "wal group commit failed");
            for (_, reply) in appends {
                let _ = reply.send(Err(duplicate(&error, &message)));
            }
        }
    }
}

/// One error is reported to every waiter of a failed group.
fn duplicate(error: &Error, message: &str) -> Error {
    match error {
        Error::PayloadTooLarge { len, limit } => Error::PayloadTooLarge {
            len: *len,
            limit: *limit,
        },
        Error::Io { path, source } => Error::Io {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), message.to_string()),
        },
        Error::Poisoned(reason) => Error::Poisoned(reason.clone()),
        Error::Stopped => Error::Stopped,
    }
}

/// Writes every byte of `slices` (std's `write_all_vectored` is not stable yet).
fn write_all_vectored(file: &mut File, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    "the WAL file accepted no more bytes",
                ));
            }
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::{TailState, read_segment};

    #[test]
    fn appended_records_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SegmentWriter::create(dir.path(), 7, true, WalMetrics::default()).unwrap();
        writer.append_group(&[b"one", b"two"]).unwrap();
        writer.append_group(&[b""]).unwrap();
        let contents = read_segment(&segment_path(dir.path(), 7), 7).unwrap();
        assert_eq!(contents.segment, 7);
        assert_eq!(contents.tail, TailState::Clean);
        assert_eq!(
            contents.records,
            vec![b"one".to_vec(), b"two".to_vec(), Vec::new()]
        );
    }

    #[test]
    fn rotation_starts_the_next_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer =
            SegmentWriter::create(dir.path(), 1, false, WalMetrics::default()).unwrap();
        writer.append_group(&[b"a"]).unwrap();
        assert_eq!(writer.rotate().unwrap(), 1);
        writer.append_group(&[b"b"]).unwrap();
        assert_eq!(writer.segment(), 2);
        assert_eq!(crate::list_segments(dir.path()).unwrap(), vec![1, 2]);
        assert_eq!(crate::remove_segments_through(dir.path(), 1).unwrap(), 1);
        assert_eq!(crate::list_segments(dir.path()).unwrap(), vec![2]);
    }

    #[tokio::test]
    async fn concurrent_appends_share_group_commits() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = WalMetrics::default();
        let wal = WalWriter::start(dir.path(), 1, true, metrics.clone()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..64u32 {
            let wal = wal.clone();
            tasks.push(tokio::spawn(async move {
                wal.append(vec![i.to_le_bytes().to_vec()]).await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), 1);
        }
        assert_eq!(metrics.appended_records.get(), 64);
        let sealed = wal.rotate().await.unwrap();
        assert_eq!(sealed, 1);
        assert_eq!(wal.current_segment(), 2);
        let contents = read_segment(&segment_path(dir.path(), 1), 1).unwrap();
        let mut seen: Vec<u32> = contents
            .records
            .iter()
            .map(|r| u32::from_le_bytes([r[0], r[1], r[2], r[3]]))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..64).collect::<Vec<_>>());
    }
}
