"""Seed a fresh hybrid torrent from libtorrent on loopback, for peerwire's wire interop test.

Usage: lt_seed.py WORKDIR

Writes WORKDIR/data/content.bin (random bytes), makes a private hybrid (v1 + v2) torrent of it,
seeds it from 127.0.0.1 on an ephemeral port and prints one line of key=value pairs once
seeding, then serves until standard input closes (or 120 s pass, so it never outlives a
crashed test).
"""

import hashlib
import os
import select
import sys
import time

import libtorrent as lt

FILE_SIZE = 150_000  # 5 pieces of 32 KiB, the last one partial; 10 leaf blocks
PIECE_LENGTH = 32 * 1024
BLOCK = 16 * 1024
LIFETIME = 120.0


def merkle_layers(data: bytes) -> list:
    """Every layer of the file's BEP 52 tree, leaves first, computed independently of
    libtorrent so the test can check the hashes (and uncles) it serves."""
    leaves = [hashlib.sha256(data[i : i + BLOCK]).digest() for i in range(0, len(data), BLOCK)]
    width = 1
    while width < len(leaves):
        width *= 2
    layers = [leaves + [bytes(32)] * (width - len(leaves))]
    while len(layers[-1]) > 1:
        below = layers[-1]
        layers.append(
            [hashlib.sha256(below[i] + below[i + 1]).digest() for i in range(0, len(below), 2)]
        )
    return layers


def main() -> None:
    workdir = sys.argv[1]
    data_dir = os.path.join(workdir, "data")
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, "content.bin")
    content = os.urandom(FILE_SIZE)
    with open(path, "wb") as out:
        out.write(content)

    fs = lt.file_storage()
    lt.add_files(fs, path)
    creator = lt.create_torrent(fs, PIECE_LENGTH)
    lt.set_piece_hashes(creator, data_dir)
    creator.set_priv(True)
    entry = creator.generate()
    info = lt.torrent_info(lt.bencode(entry))
    root = info.files().root(0).to_bytes()
    piece_layer = entry[b"piece layers"][root]
    layers = merkle_layers(content)
    if layers[-1][0] != root:
        sys.exit("independent Merkle tree disagrees with libtorrent's pieces root")

    session = lt.session(
        {
            "listen_interfaces": "127.0.0.1:0",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_incoming_utp": False,
            "enable_outgoing_utp": False,
        }
    )
    handle = session.add_torrent({"ti": info, "save_path": data_dir})
    deadline = time.monotonic() + 60
    while handle.status().state != lt.torrent_status.seeding:
        if time.monotonic() > deadline:
            sys.exit(f"libtorrent never reached seeding: {handle.status().state}")
        time.sleep(0.05)

    hashes = info.info_hashes()
    fields = {
        "port": session.listen_port(),
        "v1": str(hashes.v1),
        "v2": str(hashes.v2),
        "root": root.hex(),
        "piece_layer": piece_layer.hex(),
        "piece_count": info.num_pieces(),
        "piece_length": info.piece_length(),
        "file": path,
        "tree": ",".join(b"".join(layer).hex() for layer in layers),
        "version": lt.__version__,
    }
    print(" ".join(f"{k}={v}" for k, v in fields.items()), flush=True)

    end = time.monotonic() + LIFETIME
    while time.monotonic() < end:
        readable, _, _ = select.select([sys.stdin], [], [], 0.5)
        if readable and not sys.stdin.buffer.read1(4096):
            break


if __name__ == "__main__":
    main()
