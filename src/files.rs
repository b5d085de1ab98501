//! Photos and signatures live outside the database, behind one interface (`object_store`):
//! a local folder by default; an S3-compatible bucket is a matter of building another store
//! here, which several instances on different machines need.

use std::sync::Arc;

use anyhow::Context;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[derive(Clone)]
pub struct Files {
    /// None for callers that never handle files (the demo loader, the CLI): using it fails.
    store: Option<Arc<dyn ObjectStore>>,
}

impl Files {
    /// A folder on this machine, created when missing.
    pub fn local(dir: &std::path::Path) -> anyhow::Result<Files> {
        std::fs::create_dir_all(dir).with_context(|| {
            format!("cannot create the files folder {}: check permissions or set files_dir", dir.display())
        })?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("cannot use {} as the files folder", dir.display()))?;
        Ok(Files { store: Some(Arc::new(fs)) })
    }

    /// A store that refuses every file.
    pub fn none() -> Files {
        Files { store: None }
    }

    fn store(&self) -> anyhow::Result<&Arc<dyn ObjectStore>> {
        self.store.as_ref().ok_or_else(|| anyhow::anyhow!("no file store is configured here"))
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store()?.put(&Path::from(key), PutPayload::from(bytes)).await.with_context(|| format!("storing {key}"))?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        let r = self.store()?.get(&Path::from(key)).await.with_context(|| format!("reading {key}"))?;
        Ok(r.bytes().await?.to_vec())
    }
}
