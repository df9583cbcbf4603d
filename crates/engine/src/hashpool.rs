//! A fixed pool of threads for piece verification (and the disk write that follows it).
//!
//! Hashing is the bottleneck on machines without SHA instructions (anchors.md: SHA-256 ~330 MB/s per
//! core), so it must not run on the async workers that move bytes to and from peers, and it must use
//! every core. One thread per core; jobs queue in FIFO order.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct HashPool {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
}

impl HashPool {
    /// `threads == 0` means one per available core.
    pub fn new(threads: usize) -> Arc<HashPool> {
        let n = if threads == 0 {
            thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            threads
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let handles = (0..n)
            .map(|i| {
                let rx = Arc::clone(&rx);
                thread::Builder::new()
                    .name(format!("seedbank-hash-{i}"))
                    .spawn(move || {
                        loop {
                            // The lock is held only while waiting for the next job, never while running it.
                            let job = match rx.lock() {
                                Ok(guard) => guard.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => job(),
                                Err(_) => return, // pool dropped
                            }
                        }
                    })
                    .expect("spawning a hashing thread")
            })
            .collect();
        Arc::new(HashPool {
            sender: Mutex::new(Some(tx)),
            threads: Mutex::new(handles),
        })
    }

    /// Runs `f` on the pool and waits for its result without blocking the async runtime.
    pub async fn run<T, F>(&self, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        {
            let sender = self.sender.lock().ok()?;
            sender.as_ref()?.send(job).ok()?;
        }
        rx.await.ok()
    }

    /// Stops accepting jobs and waits for the queued ones to finish.
    pub fn shutdown(&self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
        let handles = self
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for h in handles {
            let _ = h.join();
        }
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_jobs_on_pool_threads() {
        let pool = HashPool::new(2);
        let mut handles = Vec::new();
        for i in 0..16u64 {
            let pool = Arc::clone(&pool);
            handles.push(tokio::spawn(async move {
                pool.run(move || (i * i, thread::current().name().map(str::to_owned)))
                    .await
            }));
        }
        for (i, h) in handles.into_iter().enumerate() {
            let (sq, name) = h.await.unwrap().unwrap();
            assert_eq!(sq, (i * i) as u64);
            assert!(name.unwrap().starts_with("seedbank-hash-"));
        }
        pool.shutdown();
        assert!(
            pool.run(|| 1).await.is_none(),
            "a shut-down pool refuses work"
        );
    }
}
