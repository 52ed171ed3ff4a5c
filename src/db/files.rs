//! The SQLite database's files: private to the service account, and one server at a time.
//!
//! The database holds identity numbers (encrypted) and every family's clinical record: it is
//! created 0600 in a directory created 0700, as the keys are (`keys.rs`); SQLite gives its WAL
//! and shared-memory files the database file's permissions. Files left readable by an earlier
//! version are narrowed at start-up (issue #14: the database, its WAL and backups were
//! world-readable).
//!
//! A serving process holds an exclusive lock on `<database>.lock` for its lifetime (released by
//! the kernel if it dies), so `restore` can refuse to replace a database under a running server
//! (issue #14: a write after a forced restore went into the renamed file).

use std::{
    fs, io,
    path::{Path, PathBuf},
};

/// Creates `dir` (and its parents) if missing; the directories created are private (0700).
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates `file` empty and private (0600) if it does not exist; narrows it to 0600 if it does.
pub fn private_file(file: &Path) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => narrow(file),
        Err(e) => Err(e),
    }
}

/// Narrows an existing file to 0600.
pub fn narrow(file: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(file)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            fs::set_permissions(file, fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Prepares a SQLite database file before SQLite opens it: its directory and the file private,
/// its WAL and shared-memory files (if any) narrowed.
pub fn prepare_sqlite(file: &Path) -> io::Result<()> {
    if let Some(dir) = file.parent() {
        private_dir(dir)?;
    }
    private_file(file)?;
    for side in sidecars(file) {
        if side.exists() {
            narrow(&side)?;
        }
    }
    Ok(())
}

/// The WAL and shared-memory files SQLite keeps beside `file`.
pub fn sidecars(file: &Path) -> [PathBuf; 2] {
    ["-wal", "-shm"].map(|suffix| PathBuf::from(format!("{}{suffix}", file.display())))
}

/// The lock a serving process holds on its database for as long as it runs.
#[derive(Debug)]
pub struct ServerLock {
    _file: fs::File,
}

fn lock_path(database: &Path) -> PathBuf {
    PathBuf::from(format!("{}.lock", database.display()))
}

impl ServerLock {
    /// Takes the lock, or says that another process serves this database.
    pub fn acquire(database: &Path) -> Result<ServerLock, String> {
        let path = lock_path(database);
        if let Some(dir) = path.parent() {
            private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(ServerLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(format!(
                "another server is running on {} (it holds {}); stop it first",
                database.display(),
                path.display()
            )),
            Err(fs::TryLockError::Error(e)) => Err(format!("{}: {e}", path.display())),
        }
    }
}
