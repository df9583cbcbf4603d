#!/usr/bin/python3
"""Drive libtorrent 2.0 (Debian's python3-libtorrent) for seedbank's interop tests and benchmark.

The Rust tests and bench/transfer.sh talk to this script through its command line, its exit status and
line-oriented stdout, so that neither side needs a Python binding of the other. Lines the callers parse:

  created <json>            after `create`: info-hashes of the new torrent
  info <json>               after `info`
  ready port=<N>            `seed`: the data re-check finished and every piece is present
  done seconds=<S> bytes=<B>  `fetch`: every piece was verified; <S> is measured inside this process
  stopped uploaded=<U> downloaded=<D> redundant=<R> failed=<F> tracker_replies=<N>
                            `fetch --keep-seeding` after SIGTERM/SIGINT: the session's payload counters
                            when it announced `stopped` (libtorrent announces downloaded as D - F - R
                            unless report_true_downloaded is set), and how many announces were answered
  alert <what>: <message>   libtorrent alerts (errors, peer connects/disconnects), for diagnosis
  status ...                periodic progress

Every session is TCP-only (uTP off: on loopback it caps libtorrent at a few tens of MB/s), with DHT, local
peer discovery, UPnP and NAT-PMP off, so nothing leaves the addresses the caller hands in.

Exit status: 0 success, 2 usage, 3 timeout, 4 torrent error, 5 seed data incomplete.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time

import libtorrent as lt

FORMAT_FLAGS = {
    "v1": lt.create_torrent.v1_only,
    "v2": lt.create_torrent.v2_only,
    "hybrid": 0,
}


def out(*parts):
    print(*parts, flush=True)


def hashes_of(ti):
    ih = ti.info_hashes()
    return {
        "info_hash_v1": str(ih.v1) if ih.has_v1() else None,
        "info_hash_v2": str(ih.v2) if ih.has_v2() else None,
    }


def describe(ti):
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        files.append({"path": fs.file_path(i), "length": fs.file_size(i)})
    d = hashes_of(ti)
    d.update(
        {
            "name": ti.name(),
            "piece_length": ti.piece_length(),
            "num_pieces": ti.num_pieces(),
            "files": files,
            "total_length": sum(f["length"] for f in files),
            "private": ti.priv(),
        }
    )
    return d


def cmd_create(args):
    path = os.path.abspath(args.path)
    fs = lt.file_storage()
    lt.add_files(fs, path)
    if fs.num_files() == 0:
        out("error: no files under", path)
        return 2
    ct = lt.create_torrent(fs, args.piece_size, flags=FORMAT_FLAGS[args.format])
    for url in args.tracker:
        ct.add_tracker(url)
    if args.private:
        ct.set_priv(True)
    ct.set_creator("libtorrent " + lt.__version__)
    lt.set_piece_hashes(ct, os.path.dirname(path))
    with open(args.out, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    out("created", json.dumps(describe(lt.torrent_info(args.out))))
    return 0


def cmd_info(args):
    out("info", json.dumps(describe(lt.torrent_info(args.torrent))))
    return 0


def make_session(args):
    settings = {
        "listen_interfaces": args.listen,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # Every peer of a loopback test shares 127.0.0.1.
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert_category.error
        | lt.alert_category.connect
        | lt.alert_category.peer
        | lt.alert_category.status
        | lt.alert_category.storage
        | lt.alert_category.tracker,
    }
    if args.high_performance:
        base = lt.high_performance_seed()
        base.update(settings)
        settings = base
    if args.tick_interval_ms:
        settings["tick_interval"] = args.tick_interval_ms
    if args.outgoing_interface:
        settings["outgoing_interfaces"] = args.outgoing_interface
    if args.min_reconnect_time is not None:
        settings["min_reconnect_time"] = args.min_reconnect_time
    return lt.session(settings)


def add(ses, args, peers=()):
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = os.path.abspath(args.save_path)
    # Peers handed over with the torrent are connected as soon as it starts, without waiting for a tick.
    atp.peers = list(peers)
    # Not auto-managed: the session's queue would start the torrent only on its next tick, ~0.5 s later,
    # which the benchmark would count as transfer time.
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    return ses.add_torrent(atp)


def drain_alerts(ses):
    """Print pending alerts and return them, so callers can react to the ones they wait for."""
    alerts = ses.pop_alerts()
    for a in alerts:
        out("alert %s: %s" % (a.what(), a.message()))
    return alerts


def parse_peer(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected IP:PORT, got %r" % text)
    return (host.strip("[]"), int(port))


def watch_stdin():
    """Exit when the parent closes our stdin, so a crashed test never leaves a seeder behind."""

    def run():
        while sys.stdin.buffer.read(65536):
            pass
        os._exit(0)

    threading.Thread(target=run, daemon=True).start()


def status_line(st):
    return "status state=%s progress=%.4f peers=%d down=%d up=%d rate_down=%d rate_up=%d" % (
        st.state,
        st.progress,
        st.num_peers,
        st.total_payload_download,
        st.total_payload_upload,
        st.download_payload_rate,
        st.upload_payload_rate,
    )


def checking(st):
    return st.state in (
        lt.torrent_status.checking_files,
        lt.torrent_status.checking_resume_data,
    )


def cmd_seed(args):
    if args.exit_on_stdin_eof:
        watch_stdin()
    ses = make_session(args)
    h = add(ses, args)
    if args.upload_limit:
        h.set_upload_limit(args.upload_limit)
    deadline = time.monotonic() + args.timeout
    checked = False
    while not checked:
        for a in drain_alerts(ses):
            if isinstance(a, lt.torrent_checked_alert):
                checked = True
        st = h.status()
        if st.errc.value() != 0:
            out("error: torrent error:", st.errc.message(), st.error_file)
            return 4
        if time.monotonic() > deadline:
            out("error: timeout while checking:", status_line(st))
            return 3
        if not checked:
            time.sleep(0.05)
    st = h.status()
    if not st.is_seeding:
        out("error: seed data incomplete: %d of %d pieces present" % (st.num_pieces, h.torrent_file().num_pieces()))
        return 5
    out("ready port=%d" % ses.listen_port())
    last = 0.0
    while time.monotonic() < deadline:
        drain_alerts(ses)
        now = time.monotonic()
        if now - last >= args.status_interval:
            out(status_line(h.status()))
            last = now
        time.sleep(0.1)
    out("error: seed timeout reached")
    return 3


def stop_and_report(ses, h, timeout=5.0):
    """Pause the torrent, which disconnects its peers and announces `stopped` to its trackers, then
    print the counters that announce carried and wait (bounded) for the trackers to answer it."""
    h.pause()
    # Handled after the pause on libtorrent's network thread: the counters no longer move.
    st = h.status()
    ih = h.torrent_file().info_hashes()
    expected = int(ih.has_v1()) + int(ih.has_v2())  # a hybrid announces once per info-hash
    replies = 0
    deadline = time.monotonic() + timeout
    while replies < expected and time.monotonic() < deadline:
        for a in drain_alerts(ses):
            if isinstance(a, (lt.tracker_reply_alert, lt.tracker_error_alert)):
                replies += 1
        time.sleep(0.02)
    out(
        "stopped uploaded=%d downloaded=%d redundant=%d failed=%d tracker_replies=%d"
        % (
            st.total_payload_upload,
            st.total_payload_download,
            st.total_redundant_bytes,
            st.total_failed_bytes,
            replies,
        )
    )
    # Not a normal return: interpreter shutdown can abort while the stdin watcher thread reads.
    os._exit(0)


def cmd_fetch(args):
    if args.exit_on_stdin_eof:
        watch_stdin()
    stop = threading.Event()
    if args.keep_seeding:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    ses = make_session(args)
    started = time.monotonic()
    h = add(ses, args, args.peer)
    deadline = started + args.timeout
    last_status = 0.0
    last_connect = None
    done = False
    while True:
        drain_alerts(ses)
        if stop.is_set():
            return stop_and_report(ses, h)
        st = h.status()
        if st.errc.value() != 0:
            out("error: torrent error:", st.errc.message(), st.error_file)
            return 4
        if st.is_seeding and not done:
            elapsed = time.monotonic() - started
            out("done seconds=%.6f bytes=%d" % (elapsed, st.total_wanted))
            done = True
            if not args.keep_seeding:
                # Skip session teardown: the data is in the page cache (mmap storage) and the caller
                # times this process until it exits.
                os._exit(0)
        now = time.monotonic()
        if not checking(st):
            # Connect once the torrent is ready, and again whenever every connection is gone for a while.
            if last_connect is None or (st.num_peers == 0 and now - last_connect >= args.reconnect):
                for peer in args.peer:
                    out("connect %s:%d" % peer)
                    h.connect_peer(peer)
                last_connect = now
        if now - last_status >= args.status_interval:
            out(status_line(st))
            last_status = now
        if now > deadline:
            out("error: timeout:", status_line(st))
            return 3
        time.sleep(0.02)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("create", help="create a .torrent from a file or directory")
    c.add_argument("path")
    c.add_argument("out")
    c.add_argument("--format", choices=sorted(FORMAT_FLAGS), default="hybrid")
    c.add_argument("--piece-size", type=int, default=256 * 1024)
    c.add_argument("--tracker", action="append", default=[])
    c.add_argument("--private", action="store_true")
    c.set_defaults(func=cmd_create)

    i = sub.add_parser("info", help="print what libtorrent reads from a .torrent")
    i.add_argument("torrent")
    i.set_defaults(func=cmd_info)

    for name, func in (("seed", cmd_seed), ("fetch", cmd_fetch)):
        s = sub.add_parser(name)
        s.add_argument("torrent")
        s.add_argument("--save-path", required=True)
        s.add_argument("--listen", default="127.0.0.1:0", help="libtorrent listen_interfaces")
        s.add_argument("--outgoing-interface", default="")
        s.add_argument("--timeout", type=float, default=120.0, help="seconds before giving up")
        s.add_argument("--status-interval", type=float, default=1.0)
        s.add_argument("--high-performance", action="store_true", help="start from high_performance_seed()")
        s.add_argument("--exit-on-stdin-eof", action="store_true")
        s.add_argument(
            "--tick-interval-ms",
            type=int,
            default=0,
            help="libtorrent's tick (default 500 ms); new peers are connected on a tick",
        )
        s.add_argument(
            "--min-reconnect-time",
            type=int,
            default=None,
            help="seconds before a failed peer is dialled again (libtorrent's default: 60)",
        )
        s.set_defaults(func=func)
        if name == "seed":
            s.add_argument("--upload-limit", type=int, default=0, help="bytes/s for this torrent; 0: none")
        if name == "fetch":
            s.add_argument("--peer", type=parse_peer, action="append", default=[])
            s.add_argument("--reconnect", type=float, default=5.0)
            s.add_argument(
                "--keep-seeding",
                action="store_true",
                help="after `done`, seed until SIGTERM/SIGINT, then announce `stopped` and print `stopped ...`",
            )

    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
