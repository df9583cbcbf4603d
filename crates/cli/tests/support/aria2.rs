//! aria2c as the tests run it.

use std::path::Path;
use std::process::Command;

use super::libtorrent::path_str;
use super::netns::Place;
use super::tracker::free_port;

/// aria2c kept on loopback and quiet on every discovery channel, exiting once the download is
/// verified. `home` replaces `$HOME`, which aria2 would otherwise read `~/.aria2` (DHT state) from.
pub fn command(aria2: &Path, torrent: &Path, out: &Path, home: &Path) -> Command {
    let mut cmd = Place::Host.command(aria2);
    cmd.arg("--no-conf")
        .arg(format!("--dir={}", path_str(out)))
        .arg("--interface=127.0.0.1")
        .arg(format!("--listen-port={}", free_port()))
        .args([
            "--enable-dht=false",
            "--enable-dht6=false",
            "--enable-peer-exchange=false",
            "--bt-enable-lpd=false",
            "--seed-time=0",
            "--bt-save-metadata=false",
            "--file-allocation=none",
            "--allow-overwrite=true",
            "--auto-file-renaming=false",
            "--summary-interval=1",
            "--console-log-level=notice",
            "--bt-stop-timeout=100",
        ])
        .arg(torrent)
        .env("HOME", home);
    cmd
}
