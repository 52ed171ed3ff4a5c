//! SQLite's one writer, with group commit.
//!
//! SQLite lets one connection write at a time. Each write request used to take the lock with
//! `BEGIN IMMEDIATE` on its own pooled connection while the others polled SQLite's busy handler,
//! sleeping 1, 2, 5 … 100 ms between tries, and every commit paid its own WAL `fsync`: at 64
//! clients a checkup waited through 4.8 sleeps on average, and p99 was 1.3–3.6 s
//! (`bench/RESULTS.md`, cause 3).
//!
//! Now every write transaction of a SQLite database ([`super::run_tx`]) is queued to one thread
//! that owns one connection. It takes the jobs waiting in the queue (up to [`MAX_BATCH`]), runs
//! each in its own savepoint inside one `BEGIN IMMEDIATE` transaction, commits once — one
//! `fsync` for the batch, still `synchronous = FULL` — and only then answers each job:
//!
//! * a job's answer is sent after the commit that holds its writes is on disk, so a 2xx still
//!   means the record survives a crash;
//! * a job that fails rolls back to its savepoint; the other jobs of the batch keep their work;
//! * a failed commit (or `BEGIN`) fails every job of the batch with 503 — none of them was written;
//! * the jobs of a batch run one after another in queue order and see each other's writes, as
//!   if each had had the lock alone;
//! * a job that panics answers 500 and the batch is rolled back (the others answer 503); the
//!   connection is replaced, as the transaction manager's state is then unknown;
//! * a job still queued when the pool's checkout timeout has passed is not run and answers 503,
//!   as a request waiting that long for a pooled connection would: an overloaded server sheds
//!   work instead of queueing it without end (and never answers 503 for a write it then makes);
//! * a panic anywhere else in the thread (diesel, answering a job) does not stop it: the jobs of
//!   the batch in hand answer 500, the connection is reopened and the queue is served again.
//!   While the database cannot be opened, queued jobs answer 503 rather than wait.
//!
//! PostgreSQL needs none of this: it has row locks and its own group commit.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::mpsc,
    time::{Duration, Instant},
};

use diesel::{
    connection::{AnsiTransactionManager, TransactionManager},
    r2d2::R2D2Connection,
};

use super::{establish, DbConn, DbError};
use crate::error::AppError;

/// Most jobs committed together; a bigger batch adds latency to its first job and saves little.
pub const MAX_BATCH: usize = 64;

/// Tells a job whether its batch was committed.
type Deliver = Box<dyn FnOnce(bool) + Send>;
/// Runs a job in its savepoint (`Some(conn)`), or refuses it when no transaction could be begun
/// (`None`). Returns whether the job succeeded, and how to answer it after the commit; nothing
/// when it refused to run (it waited past its deadline) and has answered already.
type Job = Box<dyn FnOnce(Option<&mut DbConn>) -> Option<(bool, Deliver)> + Send>;

/// The queue to a database's writer thread; cheap to clone. The thread ends when the last clone
/// is dropped.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
    /// How long a job may wait in the queue before it is refused.
    timeout: Duration,
}

impl Writer {
    /// Opens the writer's own connection and starts its thread.
    pub fn start(url: &str, timeout: Duration) -> Result<Writer, DbError> {
        let conn = open(url)?;
        let (queue, jobs) = mpsc::channel::<Job>();
        let url = url.to_string();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || supervise(conn, &url, &jobs))
            .map_err(|e| DbError::Migration(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Writer { queue, timeout })
    }

    /// Runs `f` in a write transaction on the writer thread; answers once it is committed.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T, AppError>>();
        let deadline = Instant::now() + self.timeout;
        let job: Job = Box::new(move |conn| {
            let Some(conn) = conn.filter(|_| Instant::now() <= deadline) else {
                let _ = answer.send(Err(AppError::DatabaseUnavailable));
                return None;
            };
            let result = f(conn);
            let ok = result.is_ok();
            let deliver: Deliver = Box::new(move |committed| {
                let _ = answer.send(match result {
                    Ok(_) if !committed => Err(AppError::DatabaseUnavailable),
                    other => other,
                });
            });
            Some((ok, deliver))
        });
        self.queue
            .send(job)
            .map_err(|_| AppError::internal("the SQLite writer has stopped"))?;
        // The sender is dropped without an answer only when the job panicked.
        answered
            .await
            .map_err(|_| AppError::internal("the write was interrupted"))?
    }
}

/// The writer's connection. Every job runs in a savepoint, and SQLite keeps the pages a savepoint
/// changes in a sub-journal: in memory rather than in a temporary file (a `pwrite` per page, 5 %
/// of the writer's time under checkup load).
fn open(url: &str) -> Result<DbConn, DbError> {
    let mut conn = establish(url)?;
    diesel::connection::SimpleConnection::batch_execute(&mut conn, "PRAGMA temp_store = MEMORY;")?;
    Ok(conn)
}

/// Serves the queue until every sender is gone, starting again on a fresh connection after a
/// panic outside a job (a job's own panic is caught in [`run_batch`]).
fn supervise(first: DbConn, url: &str, jobs: &mpsc::Receiver<Job>) {
    let mut conn = Some(first);
    loop {
        let Some(current) = conn.take().or_else(|| reopen(url, jobs)) else {
            continue;
        };
        match catch_unwind(AssertUnwindSafe(|| serve(current, url, jobs))) {
            Ok(()) => return,
            Err(_) => tracing::error!("the SQLite writer panicked; starting it again"),
        }
    }
}

/// A new connection for the writer; `None` after answering the queued jobs 503 and a short
/// pause, when the database cannot be opened.
fn reopen(url: &str, jobs: &mpsc::Receiver<Job>) -> Option<DbConn> {
    match open(url) {
        Ok(conn) => Some(conn),
        Err(e) => {
            tracing::error!(error = %e, "cannot open the SQLite writer connection");
            while let Ok(job) = jobs.try_recv() {
                job(None);
            }
            std::thread::sleep(Duration::from_millis(100));
            None
        }
    }
}

fn serve(mut conn: DbConn, url: &str, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if !run_batch(&mut conn, batch) {
            // End whatever transaction is left (closing the connection would too), so a failed
            // reopen does not keep the write lock.
            let _ = diesel::connection::SimpleConnection::batch_execute(&mut conn, "ROLLBACK");
            match open(url) {
                Ok(fresh) => conn = fresh,
                Err(e) => tracing::error!(error = %e, "cannot reopen the SQLite writer connection"),
            }
        }
    }
}

fn sqlite(conn: &mut DbConn) -> &mut diesel::SqliteConnection {
    match conn {
        DbConn::Sqlite(c) => c,
        DbConn::Postgresql(_) => unreachable!("the writer is started for SQLite databases only"),
    }
}

/// Runs one batch; false when the connection should be replaced.
fn run_batch(conn: &mut DbConn, batch: Vec<Job>) -> bool {
    if let Err(e) = AnsiTransactionManager::begin_transaction_sql(sqlite(conn), "BEGIN IMMEDIATE") {
        tracing::warn!(error = %e, jobs = batch.len(), "cannot begin a write transaction");
        for job in batch {
            job(None);
        }
        return !sqlite(conn).is_broken();
    }
    let mut done: Vec<Deliver> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        // Depth 1 → `SAVEPOINT`.
        if let Err(e) = AnsiTransactionManager::begin_transaction(sqlite(conn)) {
            tracing::error!(error = %e, "cannot open a savepoint");
            job(None);
            continue;
        }
        // Release the savepoint of a job that succeeded; roll back that of one that failed or
        // refused to run.
        let closed = match catch_unwind(AssertUnwindSafe(|| job(Some(&mut *conn)))) {
            Ok(Some((true, deliver))) => {
                done.push(deliver);
                AnsiTransactionManager::commit_transaction(sqlite(conn))
            }
            Ok(Some((false, deliver))) => {
                done.push(deliver);
                AnsiTransactionManager::rollback_transaction(sqlite(conn))
            }
            Ok(None) => AnsiTransactionManager::rollback_transaction(sqlite(conn)),
            Err(_) => {
                tracing::error!("a write job panicked; its batch is rolled back");
                return abandon(done, jobs);
            }
        };
        if let Err(e) = closed {
            // The savepoint could not be closed: nothing of this batch can be trusted.
            tracing::error!(error = %e, "cannot close a savepoint; batch rolled back");
            return abandon(done, jobs);
        }
    }
    match AnsiTransactionManager::commit_transaction(sqlite(conn)) {
        Ok(()) => {
            for deliver in done {
                deliver(true);
            }
            true
        }
        Err(e) => {
            tracing::error!(error = %e, jobs = done.len(), "commit failed; batch not written");
            for deliver in done {
                deliver(false);
            }
            false
        }
    }
}

/// Answers a batch that cannot be committed: the jobs that ran get 503, the rest are refused.
/// The caller replaces the connection, which rolls the open transaction back.
fn abandon(done: Vec<Deliver>, rest: std::vec::IntoIter<Job>) -> bool {
    for deliver in done {
        deliver(false);
    }
    for job in rest {
        job(None);
    }
    false
}

#[cfg(test)]
mod tests {
    use diesel::{sql_query, sql_types::Integer, QueryableByName, RunQueryDsl};

    use super::*;

    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = Integer)]
        n: i32,
    }

    fn rows(url: &str) -> Vec<i32> {
        let mut conn = establish(url).unwrap();
        sql_query("SELECT n FROM t ORDER BY n")
            .load::<N>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|r| r.n)
            .collect()
    }

    /// A new SQLite database with one table `t (n)`; the directory goes when dropped.
    fn database_with_table() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let mut setup = establish(&url).unwrap();
        sql_query("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .execute(&mut setup)
            .unwrap();
        (dir, url)
    }

    /// Whatever the batching, a job answered Ok has its writes on disk and a job answered Err has
    /// none: failed jobs roll back to their savepoint, and a panicking job takes its batch down
    /// with 503 for the others.
    #[actix_rt::test]
    async fn ok_answers_are_exactly_the_committed_jobs() {
        let (_dir, url) = database_with_table();
        let writer = Writer::start(&url, Duration::from_secs(30)).unwrap();
        let jobs: Vec<_> = (0..300)
            .map(|i: i32| {
                let writer = writer.clone();
                actix_rt::spawn(async move {
                    let answer = writer
                        .run(move |conn| {
                            sql_query(format!("INSERT INTO t (n) VALUES ({i})")).execute(conn)?;
                            match i % 10 {
                                3 => Err(AppError::conflict(
                                    crate::error::Code::IllegalTransition,
                                    "this job fails",
                                )),
                                // A duplicate key: an error from SQLite after a write of this job.
                                7 => {
                                    sql_query(format!("INSERT INTO t (n) VALUES ({i})"))
                                        .execute(conn)?;
                                    Ok(i)
                                }
                                _ if i == 150 => panic!("a bug in a handler"),
                                _ => Ok(i),
                            }
                        })
                        .await;
                    (i, answer)
                })
            })
            .collect();
        let mut answers = Vec::new();
        for job in jobs {
            answers.push(job.await.unwrap());
        }
        let ok: Vec<i32> = answers
            .iter()
            .filter_map(|(i, a)| a.as_ref().ok().map(|_| *i))
            .collect();
        assert_eq!(rows(&url), ok, "the rows on disk are the jobs answered Ok");
        for (i, answer) in &answers {
            match (i % 10, answer) {
                // The batch of the panicking job: the jobs run before it and the ones after.
                (_, Err(AppError::DatabaseUnavailable)) => {}
                (_, Err(AppError::Internal(_))) => assert_eq!(*i, 150),
                (3, Err(AppError::Conflict { .. })) => {}
                (
                    7,
                    Err(AppError::Conflict {
                        code: crate::error::Code::AlreadyExists,
                        ..
                    }),
                ) => {}
                (3 | 7, other) => panic!("job {i}: expected its own error, got {other:?}"),
                (_, Ok(n)) => assert_eq!(n, i),
                (_, Err(e)) => panic!("job {i}: unexpected {e:?}"),
            }
        }
        // 240 jobs succeed on their own; the panic costs at most one batch.
        assert!(ok.len() >= 240 - MAX_BATCH, "jobs written: {}", ok.len());
        // The writer goes on after a panic.
        let after = writer
            .run(|conn| Ok(sql_query("INSERT INTO t (n) VALUES (1000)").execute(conn)?))
            .await;
        assert!(after.is_ok());
        assert_eq!(rows(&url).last(), Some(&1000));
    }

    /// A panic outside a job's own run (here: while answering it, after the commit) does not
    /// stop the writer: the next writes are made and answered.
    #[actix_rt::test]
    async fn the_writer_starts_again_after_a_panic_outside_a_job() {
        let (_dir, url) = database_with_table();
        let writer = Writer::start(&url, Duration::from_secs(30)).unwrap();
        let bad: Job = Box::new(|conn| {
            sql_query("INSERT INTO t (n) VALUES (1)")
                .execute(conn?)
                .ok()?;
            let deliver: Deliver = Box::new(|_| panic!("a bug while answering"));
            Some((true, deliver))
        });
        writer.queue.send(bad).unwrap();
        // Alone in its batch: a job batched with it would lose its answer to the panic.
        while rows(&url).is_empty() {
            actix_rt::time::sleep(Duration::from_millis(5)).await;
        }
        for n in 2..=3 {
            let answer = writer
                .run(move |conn| {
                    Ok(sql_query(format!("INSERT INTO t (n) VALUES ({n})")).execute(conn)?)
                })
                .await;
            assert!(answer.is_ok(), "{answer:?}");
        }
        assert_eq!(rows(&url), vec![1, 2, 3]);
    }

    /// A job still queued when the checkout timeout has passed answers 503 and writes nothing.
    /// Deterministic (issue #14: it raced 20 ms sleeps against the writer thread): the first
    /// job holds the writer until the second's deadline has certainly passed.
    #[actix_rt::test]
    async fn a_job_queued_past_its_deadline_is_refused_and_not_run() {
        let (_dir, url) = database_with_table();
        let writer = Writer::start(&url, Duration::from_millis(50)).unwrap();
        let (started, has_started) = std::sync::mpsc::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let slow = {
            let writer = writer.clone();
            actix_rt::spawn(async move {
                writer
                    .run(move |conn| {
                        started.send(()).unwrap();
                        released.recv().unwrap();
                        Ok(sql_query("INSERT INTO t (n) VALUES (1)").execute(conn)?)
                    })
                    .await
            })
        };
        // The writer is inside the first job before the second is queued …
        actix_rt::task::spawn_blocking(move || has_started.recv().unwrap())
            .await
            .unwrap();
        let late = {
            let writer = writer.clone();
            actix_rt::spawn(async move {
                writer
                    .run(|conn| Ok(sql_query("INSERT INTO t (n) VALUES (2)").execute(conn)?))
                    .await
            })
        };
        // … and stays there past the second's deadline (50 ms from when it was queued).
        actix_rt::time::sleep(Duration::from_millis(120)).await;
        release.send(()).unwrap();
        let late = late.await.unwrap();
        assert!(
            matches!(late, Err(AppError::DatabaseUnavailable)),
            "{late:?}"
        );
        assert!(
            slow.await.unwrap().is_ok(),
            "the job taken in time was written"
        );
        assert_eq!(rows(&url), vec![1]);
    }
}
