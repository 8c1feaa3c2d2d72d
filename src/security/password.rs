//! Sign-in password hashing: argon2id at OWASP's recommended minimum (m=19456 KiB, t=2, p=1),
//! stored as PHC strings, always computed off the request threads.
//!
//! Hashing runs on its own threads, half the cores (at least one): argon2 is built to use all
//! the CPU and memory it is given, and twenty people signing in together must not take the
//! cores the pages run on, nor 19 MiB of memory each. Further sign-ins wait their turn.
//!
//! On Linux those threads also run at a lower scheduling priority ([`HASHING_NICE`]): while
//! pages are being served the kernel lets the pages' threads go first, so a wave of sign-ins
//! cannot double every page's response time; when nothing else runs they hash at full speed.

use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use std::cell::RefCell;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

use super::tokens::fill_random;

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params =
        Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes synchronously: call it through `hash_password` from async code.
pub fn hash_password_blocking(password: &str) -> anyhow::Result<String> {
    let mut salt_bytes = [0u8; 16];
    fill_random(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash.to_string())
}

thread_local! {
    /// argon2's working memory (19 MiB at Keyholder's parameters), kept by each hashing thread
    /// for the next sign-in: allocating it afresh each time left the allocator's arenas holding
    /// several copies.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Verifies against a stored PHC string; a malformed stored hash counts as a mismatch. The
/// parameters come from the PHC string, so hashes made with stronger settings verify.
pub fn verify_password_blocking(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buffer = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buffer) else {
        return false;
    };
    let mut computed = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    let hashed = BLOCKS.with_borrow_mut(|blocks| {
        let needed = params.block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut computed,
            &mut blocks[..needed],
        )
    });
    hashed.is_ok() && bool::from(computed.as_slice().ct_eq(expected.as_bytes()))
}

/// A hash of a random password, verified against when the email is unknown so that an unknown
/// address costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password_blocking(&super::tokens::random_token(24)).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$O8iB8X3s1o3iC9bTe1VtWnm2cO4Dqz4U1k0hDq7dN6g".into()
        })
    })
}

type HashJob = Box<dyn FnOnce() + Send>;

/// The nice value of the hashing threads (Linux). At 10 the kernel weighs such a thread at about
/// a tenth of a thread at the default 0 when both want the same core. In the load benchmark,
/// 20 people signing in during a dashboard run took the dashboard's p99 to 1.5 times its quiet
/// value instead of 1.7–2.1, and sign-ins went from 44 to 29–33 a second.
pub const HASHING_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`HASHING_NICE`] (a server already
/// started at a lower priority keeps it). Raising a nice value needs no privilege; if it fails
/// anyway, hashing goes on at the server's priority.
fn lower_own_priority() {
    #[cfg(target_os = "linux")]
    {
        let thread = Some(rustix::thread::gettid());
        let lowered = match rustix::process::getpriority_process(thread) {
            Ok(nice) if nice >= HASHING_NICE => Ok(()),
            _ => rustix::process::setpriority_process(thread, HASHING_NICE),
        };
        if let Err(error) = lowered {
            tracing::warn!(%error, "cannot lower the password hashing thread's priority");
        }
    }
}

/// The hashing threads: half the cores, at least one, started on first use. Jobs queue in
/// order; each thread keeps its 19 MiB of argon2 memory for the next sign-in instead of every
/// blocking thread of the runtime growing its own.
fn hashing_queue() -> &'static Mutex<std::sync::mpsc::Sender<HashJob>> {
    static QUEUE: OnceLock<Mutex<std::sync::mpsc::Sender<HashJob>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel::<HashJob>();
        let receiver = Arc::new(Mutex::new(receiver));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) / 2;
        for n in 0..threads.max(1) {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("keyholder-argon2-{n}"))
                .spawn(move || {
                    lower_own_priority();
                    loop {
                        let job = match receiver.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password hashing thread");
            }
        }
        Mutex::new(sender)
    })
}

/// Runs `work` on a hashing thread and waits for its answer without holding a runtime thread.
async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    let (tell, answer) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = tell.send(work());
    });
    hashing_queue()
        .lock()
        .map_err(|_| anyhow::anyhow!("the password hashing queue is broken"))?
        .send(job)
        .map_err(|_| anyhow::anyhow!("no password hashing thread is running"))?;
    answer.await.context("the password hashing thread stopped")
}

pub async fn hash_password(password: String) -> anyhow::Result<String> {
    let password = zeroize::Zeroizing::new(password);
    on_hashing_thread(move || hash_password_blocking(&password)).await?
}

pub async fn verify_password(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    let password = zeroize::Zeroizing::new(password);
    on_hashing_thread(move || match stored {
        Some(stored) => verify_password_blocking(&password, &stored),
        None => {
            let _ = verify_password_blocking(&password, dummy_hash());
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_at_owasp_minimum() {
        let hash = hash_password_blocking("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password_blocking(
            "correct horse battery staple",
            &hash
        ));
        assert!(!verify_password_blocking(
            "correct horse battery stapler",
            &hash
        ));
        assert!(!verify_password_blocking("x", "not a hash"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_a_lower_priority() {
        let (nice, tid) = on_hashing_thread(|| {
            let tid = rustix::thread::gettid();
            (rustix::process::getpriority_process(Some(tid)), tid)
        })
        .await
        .unwrap();
        assert_ne!(
            tid,
            rustix::thread::gettid(),
            "hashed on the caller's thread"
        );
        assert!(nice.unwrap() >= HASHING_NICE);
    }
}
