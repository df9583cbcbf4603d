//! Creates a torrent and reports hashing throughput:
//! `cargo run -p metainfo --example create -- <path> [v1|v2|hybrid] [piece_length] [out.torrent]`

use std::time::Instant;

use metainfo::{CreateOptions, Version, create_torrent};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: create <path> [v1|v2|hybrid] [piece_length] [out.torrent]");
        std::process::exit(2);
    };
    let version = match args.get(1).map(String::as_str) {
        None | Some("hybrid") => Version::Hybrid,
        Some("v1") => Version::V1,
        Some("v2") => Version::V2,
        Some(other) => return Err(format!("unknown version {other}").into()),
    };
    let piece_length = args.get(2).map(|s| s.parse()).transpose()?;
    let opts = CreateOptions {
        version,
        piece_length,
        ..CreateOptions::default()
    };
    let start = Instant::now();
    let t = create_torrent(path.as_ref(), &opts, &mut |_, _| {})?;
    let secs = start.elapsed().as_secs_f64();
    let bytes = t.info.data_length();
    println!(
        "{:?} {} bytes, {} pieces of {}: {:.2} s, {:.0} MB/s",
        version,
        bytes,
        t.piece_count(),
        t.info.piece_length,
        secs,
        bytes as f64 / secs / 1e6
    );
    println!("v1 {:?}", t.hashes.v1.map(hex::encode));
    println!("v2 {:?}", t.hashes.v2.map(hex::encode));
    if let Some(out) = args.get(3) {
        std::fs::write(out, t.to_bytes())?;
    }
    Ok(())
}
