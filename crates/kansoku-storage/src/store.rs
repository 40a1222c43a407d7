//! Building the object store from configuration, and durable writes to it.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};

use crate::error::{Error, Result};

/// Where stored files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// A directory on local disk.
    Local {
        /// The root directory (created if missing).
        root: PathBuf,
    },
    /// An S3-compatible bucket.
    S3 {
        /// Endpoint URL (`https://s3.amazonaws.com`, `http://minio:9000`); empty for AWS.
        endpoint: String,
        /// Bucket name.
        bucket: String,
        /// Region (`us-east-1` if unsure).
        region: String,
        /// Access key id; empty to use the environment/instance credentials.
        access_key: String,
        /// Secret key.
        secret_key: String,
        /// Key prefix inside the bucket.
        prefix: String,
        /// How long one request is retried (with backoff) before its error is returned; the
        /// flusher then retries the whole flush with its own backoff.
        retry_timeout: std::time::Duration,
        /// How long one HTTP request may take before it is abandoned (and retried): a store
        /// that hangs cannot hold a flush or a query longer than this per attempt.
        request_timeout: std::time::Duration,
    },
}

/// A handle to the object store with the one durability rule this system needs: a `put` returns
/// only once the object would survive a crash.
#[derive(Clone, Debug)]
pub struct ObjectStore {
    inner: Arc<dyn object_store::ObjectStore>,
    /// For local disk, the root directory, so writes can be fsynced.
    local_root: Option<PathBuf>,
    description: String,
}

impl ObjectStore {
    /// Builds the store described by `config`.
    pub fn open(config: &StorageConfig) -> Result<ObjectStore> {
        match config {
            StorageConfig::Local { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| Error::Config(format!("cannot create {}: {e}", root.display())))?;
                let root = root.canonicalize().map_err(|e| {
                    Error::Config(format!("cannot resolve {}: {e}", root.display()))
                })?;
                let store = LocalFileSystem::new_with_prefix(&root).map_err(|source| {
                    Error::ObjectStore {
                        path: root.display().to_string(),
                        source,
                    }
                })?;
                Ok(ObjectStore {
                    inner: Arc::new(store),
                    description: format!("file://{}", root.display()),
                    local_root: Some(root),
                })
            }
            StorageConfig::S3 {
                endpoint,
                bucket,
                region,
                access_key,
                secret_key,
                prefix,
                retry_timeout,
                request_timeout,
            } => {
                if bucket.is_empty() {
                    return Err(Error::Config(
                        "KANSOKU_S3_BUCKET must name a bucket".to_string(),
                    ));
                }
                let retry = object_store::RetryConfig {
                    retry_timeout: *retry_timeout,
                    ..object_store::RetryConfig::default()
                };
                let client = object_store::ClientOptions::new().with_timeout(*request_timeout);
                let mut builder = AmazonS3Builder::from_env()
                    .with_retry(retry)
                    .with_client_options(client)
                    .with_bucket_name(bucket)
                    .with_region(if region.is_empty() {
                        "us-east-1"
                    } else {
                        region
                    });
                if !endpoint.is_empty() {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if !access_key.is_empty() {
                    builder = builder
                        .with_access_key_id(access_key)
                        .with_secret_access_key(secret_key);
                }
                let s3 = builder.build().map_err(|source| Error::ObjectStore {
                    path: bucket.clone(),
                    source,
                })?;
                let inner: Arc<dyn object_store::ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(
                        s3,
                        prefix.trim_matches('/'),
                    ))
                };
                Ok(ObjectStore {
                    inner,
                    local_root: None,
                    description: format!("s3://{bucket}/{prefix}"),
                })
            }
        }
    }

    /// The store for DataFusion and other readers.
    pub fn inner(&self) -> Arc<dyn object_store::ObjectStore> {
        Arc::clone(&self.inner)
    }

    /// `file:///root` or `s3://bucket/prefix`, for logs.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Writes `bytes` at `path` durably.
    pub async fn put(&self, path: &str, bytes: Bytes) -> Result<()> {
        let location = ObjectPath::from(path);
        self.inner
            .put(&location, PutPayload::from_bytes(bytes))
            .await
            .map_err(|source| Error::ObjectStore {
                path: path.to_string(),
                source,
            })?;
        if let Some(root) = &self.local_root {
            // The file's name is the object path as the store encoded it.
            let file = root.join(location.as_ref());
            tokio::task::spawn_blocking(move || sync_file_and_parent(&file))
                .await
                .map_err(|e| Error::Sync {
                    path: path.to_string(),
                    source: std::io::Error::other(e.to_string()),
                })??;
        }
        Ok(())
    }

    /// Reads the whole object at `path`.
    pub async fn get(&self, path: &str) -> Result<Bytes> {
        let location = ObjectPath::from(path);
        let map = |source| Error::ObjectStore {
            path: path.to_string(),
            source,
        };
        self.inner
            .get(&location)
            .await
            .map_err(map)?
            .bytes()
            .await
            .map_err(|source| Error::ObjectStore {
                path: path.to_string(),
                source,
            })
    }

    /// Deletes the object at `path`; a missing object is not an error.
    pub async fn delete(&self, path: &str) -> Result<()> {
        match self.inner.delete(&ObjectPath::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(Error::ObjectStore {
                path: path.to_string(),
                source,
            }),
        }
    }

    /// Lists object paths under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let location = ObjectPath::from(prefix);
        let metas: Vec<object_store::ObjectMeta> = self
            .inner
            .list(Some(&location))
            .try_collect()
            .await
            .map_err(|source| Error::ObjectStore {
                path: prefix.to_string(),
                source,
            })?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }
}

fn sync_file_and_parent(file: &std::path::Path) -> Result<()> {
    let sync_error = |source| Error::Sync {
        path: file.display().to_string(),
        source,
    };
    std::fs::File::open(file)
        .and_then(|f| f.sync_all())
        .map_err(sync_error)?;
    if let Some(parent) = file.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|source| Error::Sync {
                path: parent.display().to_string(),
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_store_round_trips_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(&StorageConfig::Local {
            root: dir.path().join("objects"),
        })
        .unwrap();
        store
            .put("files/a/b.parquet", Bytes::from_static(b"hello"))
            .await
            .unwrap();
        assert_eq!(&store.get("files/a/b.parquet").await.unwrap()[..], b"hello");
        assert_eq!(store.list("files/a").await.unwrap(), ["files/a/b.parquet"]);
        store.delete("files/a/b.parquet").await.unwrap();
        store.delete("files/a/b.parquet").await.unwrap();
        assert!(store.list("files/a").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn paths_with_characters_the_store_encodes_are_written_durably() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(&StorageConfig::Local {
            root: dir.path().to_path_buf(),
        })
        .unwrap();
        store
            .put("files/a%b~c/x.parquet", Bytes::from_static(b"1"))
            .await
            .unwrap();
        assert_eq!(&store.get("files/a%b~c/x.parquet").await.unwrap()[..], b"1");
    }

    #[test]
    fn s3_requires_a_bucket() {
        let config = StorageConfig::S3 {
            endpoint: String::new(),
            bucket: String::new(),
            region: String::new(),
            access_key: String::new(),
            secret_key: String::new(),
            prefix: String::new(),
            retry_timeout: std::time::Duration::from_secs(1),
            request_timeout: std::time::Duration::from_secs(1),
        };
        assert!(matches!(ObjectStore::open(&config), Err(Error::Config(_))));
    }
}
