//! Passwords and keystores for the wallet and the hub's operator key: from an environment variable
//! when one is set (scripts, CI, the demo), else from a prompt on the terminal.

use std::path::Path;

use anyhow::{Context, Result, bail};
use token::SecretKey;
use token::keystore::{self, Strength};
use zeroize::Zeroizing;

/// The password in `$env`, or one typed at the terminal (twice when `confirm`).
pub fn password(env: &str, prompt: &str, confirm: bool) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(env) {
        return Ok(Zeroizing::new(p));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("{prompt}: ")).with_context(|| {
            format!("cannot read a password (set {env} when not on a terminal)")
        })?,
    );
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("again: ")?);
        if *again != *first {
            bail!("the passwords differ");
        }
    }
    Ok(first)
}

/// Writes `key` as an Ethereum v3 keystore, readable by the owner only. Never overwrites.
pub fn save_key(path: &Path, key: &SecretKey, password: &str, strength: Strength) -> Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a key",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let json = keystore::encrypt(key, password.as_bytes(), strength);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, json.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

pub fn load_key(path: &Path, env: &str) -> Result<SecretKey> {
    let json = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    let password = password(env, &format!("password for {}", path.display()), false)?;
    keystore::decrypt(&json, password.as_bytes())
        .with_context(|| format!("cannot unlock {}", path.display()))
}
