//! The accounting rules through the tracker's public surface, with explicit time.

use std::net::IpAddr;

use super::*;
use crate::accounting::Delta;

const PASSKEY: &str = "00112233445566778899aabbccddeeff";
const OTHER: &str = "ffeeddccbbaa99887766554433221100";
const V1: [u8; 20] = [0xA1; 20];
const V2: [u8; 20] = [0xB2; 20];
const V4: &str = "192.0.2.7";
const V6: &str = "2001:db8::7";

fn tracker() -> Tracker {
    let t = Tracker::new(Config {
        interval: 60,
        min_interval: 30,
        peer_timeout: 150,
        ..Config::default()
    });
    t.set_member(request::parse_passkey(PASSKEY).unwrap(), 1, false, 0);
    t.set_member(request::parse_passkey(OTHER).unwrap(), 2, false, 0);
    t.add_torrent(7, &[V1, V2], 0);
    t
}

fn enc(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02x}")).collect()
}

struct A {
    hash: [u8; 20],
    peer: u8,
    up: u64,
    down: u64,
    left: u64,
    event: &'static str,
    extra: &'static str,
}

fn a(peer: u8, up: u64, down: u64, left: u64) -> A {
    A {
        hash: V1,
        peer,
        up,
        down,
        left,
        event: "",
        extra: "",
    }
}

impl A {
    fn event(mut self, e: &'static str) -> A {
        self.event = e;
        self
    }
    fn query(&self) -> String {
        format!(
            "info_hash={}&peer_id={}&port=6881&uploaded={}&downloaded={}&left={}&key=ab12&event={}{}",
            enc(&self.hash),
            enc(&[self.peer; 20]),
            self.up,
            self.down,
            self.left,
            self.event,
            self.extra
        )
    }
}

fn announce(t: &Tracker, passkey: &str, a: &A, ip: &str, now: u64) -> Result<Vec<u8>, Refusal> {
    let ip: IpAddr = ip.parse().unwrap();
    t.announce(passkey, a.query().as_bytes(), ip, now)
}

/// Sum of everything pending, per member.
fn credited(t: &Tracker) -> HashMap<MemberId, Delta> {
    let mut out: HashMap<MemberId, Delta> = HashMap::new();
    for ((m, _), d) in t.take_batch().deltas {
        out.entry(m).or_default().merge(&d);
    }
    out
}

#[test]
fn first_announce_sets_baseline_then_deltas_are_credited() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 1000, 500, 100).event("started"), V4, 0).unwrap();
    assert!(
        credited(&t).is_empty(),
        "the first announce credits nothing"
    );
    announce(&t, PASSKEY, &a(1, 1600, 550, 50), V4, 60).unwrap();
    let c = credited(&t);
    assert_eq!((c[&1].uploaded, c[&1].downloaded), (600, 50));
}

#[test]
fn client_restart_resets_the_baseline() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 0, 0, 100).event("started"), V4, 0).unwrap();
    announce(&t, PASSKEY, &a(1, 5000, 40, 60), V4, 60).unwrap();
    // Restarted: same peer_id and key, counters from zero.
    announce(&t, PASSKEY, &a(1, 0, 0, 60).event("started"), V4, 70).unwrap();
    announce(&t, PASSKEY, &a(1, 300, 10, 50), V4, 130).unwrap();
    let c = credited(&t);
    assert_eq!((c[&1].uploaded, c[&1].downloaded), (5300, 50));
}

#[test]
fn dual_stack_double_announce_counts_once_and_gives_both_addresses() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 0, 0, 0).event("started"), V4, 0).unwrap();
    announce(&t, PASSKEY, &a(1, 0, 0, 0).event("started"), V6, 0).unwrap();
    announce(&t, PASSKEY, &a(1, 700, 0, 0), V4, 60).unwrap();
    announce(&t, PASSKEY, &a(1, 700, 0, 0), V6, 61).unwrap();
    assert_eq!(t.peer_count(), 1);
    assert_eq!(credited(&t)[&1].uploaded, 700);
    // A leecher sees the dual-stack seeder once per family.
    let reply = announce(&t, OTHER, &a(2, 0, 0, 10), V4, 62).unwrap();
    let text = String::from_utf8_lossy(&reply);
    assert!(text.contains("5:peers6:"), "{text}");
    assert!(text.contains("6:peers618:"), "{text}");
    assert!(
        text.starts_with("d8:completei1e10:downloadedi0e10:incompletei1e"),
        "{text}"
    );
}

#[test]
fn stopped_credits_the_final_delta_and_leaves() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 0, 0, 0).event("started"), V4, 0).unwrap();
    let reply = announce(&t, PASSKEY, &a(1, 900, 0, 0).event("stopped"), V4, 30).unwrap();
    assert!(String::from_utf8_lossy(&reply).contains("5:peers0:"));
    assert_eq!(t.peer_count(), 0);
    let batch = t.take_batch();
    assert_eq!(batch.deltas[0].1.uploaded, 900);
    assert_eq!(batch.deltas[0].1.seed_secs, 30);
    assert_eq!(batch.peers.len(), 1);
    assert_eq!(batch.peers[0].1, None, "the store forgets the peer");
    // A `stopped` from a peer we never saw changes nothing.
    announce(&t, PASSKEY, &a(9, 5, 5, 0).event("stopped"), V4, 40).unwrap();
    assert!(t.take_batch().is_empty());
}

#[test]
fn missing_stopped_expires_the_peer_keeping_what_was_credited() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 0, 0, 10).event("started"), V4, 0).unwrap();
    announce(&t, PASSKEY, &a(1, 100, 10, 0), V4, 60).unwrap();
    assert_eq!(t.expire(200), 0, "not silent long enough");
    assert_eq!(t.expire(211), 1);
    assert_eq!(t.peer_count(), 0);
    let batch = t.take_batch();
    let d = batch.deltas[0].1;
    assert_eq!(
        (d.uploaded, d.downloaded, d.completed_at),
        (100, 10, Some(60))
    );
    assert!(batch.peers.iter().all(|(_, p)| p.is_none()));
}

#[test]
fn snatch_is_left_reaching_zero_once() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 0, 0, 100).event("started"), V4, 0).unwrap();
    announce(&t, PASSKEY, &a(1, 0, 100, 0).event("completed"), V4, 10).unwrap();
    announce(&t, PASSKEY, &a(1, 0, 100, 0).event("completed"), V6, 10).unwrap();
    announce(&t, PASSKEY, &a(1, 0, 100, 0), V4, 70).unwrap();
    let c = credited(&t);
    assert_eq!(c[&1].completed_at, Some(10));
    assert_eq!(c[&1].seed_secs, 60);
    // The uploader, a seeder from its first announce, never snatches.
    announce(&t, OTHER, &a(2, 0, 0, 0).event("started"), V4, 80).unwrap();
    announce(&t, OTHER, &a(2, 50, 0, 0).event("completed"), V4, 90).unwrap();
    assert_eq!(credited(&t)[&2].completed_at, None);
}

#[test]
fn hybrid_hashes_share_one_swarm() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 0, 0, 0), V4, 0).unwrap();
    let mut via_v2 = a(2, 0, 0, 5);
    via_v2.hash = V2;
    let reply = announce(&t, OTHER, &via_v2, V4, 1).unwrap();
    assert!(String::from_utf8_lossy(&reply).contains("5:peers6:"));
    assert_eq!(
        t.counts(7),
        Some(SwarmCounts {
            seeders: 1,
            leechers: 1,
            snatches: 0
        })
    );
    let scrape = t
        .scrape(
            PASSKEY,
            format!("info_hash={}&info_hash={}", enc(&V1), enc(&[9; 20])).as_bytes(),
        )
        .unwrap();
    let mut want = b"d5:filesd20:".to_vec();
    want.extend_from_slice(&V1);
    want.extend_from_slice(b"d8:completei1e10:downloadedi0e10:incompletei1eeee");
    assert_eq!(scrape, want);
}

#[test]
fn refusals_change_nothing() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 0, 0, 10), V4, 0).unwrap();
    let _ = t.take_batch();
    let bad = |passkey: &str, query: &str| {
        t.announce(passkey, query.as_bytes(), V4.parse().unwrap(), 10)
            .unwrap_err()
    };
    let ok = a(1, 500, 0, 10).query();
    assert_eq!(bad("0011", &ok), Refusal::UnknownPasskey);
    assert_eq!(bad(&"a".repeat(32), &ok), Refusal::UnknownPasskey);
    let mut other_hash = a(1, 500, 0, 10);
    other_hash.hash = [3; 20];
    assert_eq!(bad(PASSKEY, &other_hash.query()), Refusal::Unregistered);
    let mut greedy = a(1, 500, 0, 10);
    greedy.extra = "&numwant=4294967295";
    assert_eq!(
        bad(PASSKEY, &greedy.query()),
        Refusal::NumwantTooLarge(10_000)
    );
    assert!(matches!(
        bad(PASSKEY, &ok.replace("uploaded=500", "uploaded=5x0")),
        Refusal::Request(_)
    ));
    assert!(matches!(bad(PASSKEY, &ok[..40]), Refusal::Request(_)));
    assert!(matches!(
        bad(PASSKEY, &format!("{ok}&x={}", "y".repeat(4000))),
        Refusal::Request(_)
    ));
    t.set_member(request::parse_passkey(PASSKEY).unwrap(), 1, true, 10);
    assert_eq!(bad(PASSKEY, &ok), Refusal::Suspended);
    // Suspension dropped the member's peer; nothing was credited by any refused request.
    assert_eq!(t.peer_count(), 0);
    let batch = t.take_batch();
    assert!(batch.deltas.is_empty());
    assert_eq!(batch.peers.len(), 1);
}

#[test]
fn numwant_is_clamped_and_seeders_get_only_leechers() {
    let t = tracker();
    for i in 0..150u8 {
        let left = if i % 2 == 0 { 0 } else { 10 };
        announce(&t, PASSKEY, &a(i, 0, 0, left), V4, 0).unwrap();
    }
    let count_peers = |reply: &[u8]| {
        let text = String::from_utf8_lossy(reply);
        let at = text.find("5:peers").unwrap() + 7;
        let len: usize = text[at..].split(':').next().unwrap().parse().unwrap();
        len / 6
    };
    let mut leecher = a(200, 0, 0, 10);
    leecher.extra = "&numwant=1000";
    assert_eq!(
        count_peers(&announce(&t, OTHER, &leecher, V4, 1).unwrap()),
        100
    );
    let mut seeder = a(201, 0, 0, 0);
    seeder.extra = "&numwant=1000";
    // 75 leechers from the loop plus the leecher above.
    assert_eq!(
        count_peers(&announce(&t, OTHER, &seeder, V4, 1).unwrap()),
        76
    );
}

#[test]
fn failed_flush_is_merged_back_without_loss() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 0, 0, 10), V4, 0).unwrap();
    announce(&t, PASSKEY, &a(1, 100, 0, 10), V4, 10).unwrap();
    let failed = t.take_batch();
    announce(&t, PASSKEY, &a(1, 250, 0, 10), V4, 20).unwrap();
    t.restore_batch(failed);
    let batch = t.take_batch();
    assert_eq!(batch.deltas.len(), 1);
    assert_eq!(batch.deltas[0].1.uploaded, 250);
    let peer = batch.peers[0].1.expect("peer still present");
    assert_eq!(
        peer.uploaded, 250,
        "the newer baseline wins over the restored one"
    );
}

/// A hub that crashed after a flush restarts from the stored baselines: the bytes announced after
/// the flush are credited on the next announce, none twice.
#[test]
fn restart_from_stored_baselines_loses_and_doubles_nothing() {
    let t = tracker();
    announce(&t, PASSKEY, &a(1, 0, 0, 10), V4, 0).unwrap();
    announce(&t, PASSKEY, &a(1, 100, 0, 10), V4, 10).unwrap();
    let flushed = t.take_batch();
    announce(&t, PASSKEY, &a(1, 400, 0, 10), V4, 20).unwrap();
    drop(t); // crash: the unflushed announce is gone with the process

    let restarted = tracker();
    let stored = flushed.peers.into_iter().filter_map(|(k, p)| Some((k, p?)));
    assert_eq!(restarted.restore_peers(stored), 1);
    announce(&restarted, PASSKEY, &a(1, 600, 0, 10), V4, 30).unwrap();
    let after: u64 = flushed.deltas.iter().map(|(_, d)| d.uploaded).sum::<u64>()
        + credited(&restarted)[&1].uploaded;
    assert_eq!(after, 600, "exactly what the client reported in total");
}

/// Counters that go down reset the baseline, so a forger could oscillate (big, 0, big, 0, ...) and
/// be credited the big step again and again; the lifetime ceiling caps all of it at what a real
/// link could have carried since the peer appeared.
#[test]
fn oscillating_counters_cannot_beat_the_lifetime_ceiling() {
    let t = Tracker::new(Config {
        max_rate: 1_000,
        ..Config::default()
    });
    t.set_member(request::parse_passkey(PASSKEY).unwrap(), 1, false, 0);
    t.add_torrent(7, &[V1], 0);
    announce(&t, PASSKEY, &a(1, 0, 0, 0).event("started"), V4, 100).unwrap();
    for i in 0..50 {
        let up = if i % 2 == 0 { 1_000_000 } else { 0 };
        announce(&t, PASSKEY, &a(1, up, 0, 0), V4, 101 + i / 10).unwrap();
    }
    let c = credited(&t);
    // Alive from t=100 to t=105: at most 6 s × 1,000 B/s.
    assert_eq!(c[&1].uploaded, 6_000);
    assert!(c[&1].clamped > 20_000_000);
}

/// The per-peer ceiling alone could be multiplied by inventing peers; the member's allowance caps
/// the sum at one `max_rate` link over wall-clock time plus one full bucket.
#[test]
fn inventing_peers_cannot_beat_the_member_allowance() {
    let t = Tracker::new(Config {
        max_rate: 1_000,
        peer_timeout: 100,
        interval: 60,
        min_interval: 30,
        ..Config::default()
    });
    t.set_member(request::parse_passkey(PASSKEY).unwrap(), 1, false, 1_000);
    t.add_torrent(7, &[V1], 0);
    for peer in 0..200u8 {
        announce(&t, PASSKEY, &a(peer, 0, 0, 0).event("started"), V4, 1_000).unwrap();
        announce(
            &t,
            PASSKEY,
            &a(peer, 1_000_000, 0, 0).event("stopped"),
            V4,
            1_000,
        )
        .unwrap();
    }
    let c = credited(&t);
    // Bucket: 1,000 B/s × 100 s, nothing refilled within the same second.
    assert_eq!(c[&1].uploaded, 100_000);
    // Ten seconds later, ten seconds' worth more (the peer itself has lived 11 s).
    announce(&t, PASSKEY, &a(250, 0, 0, 0).event("started"), V4, 1_000).unwrap();
    announce(&t, PASSKEY, &a(250, 1_000_000, 0, 0), V4, 1_010).unwrap();
    assert_eq!(credited(&t)[&1].uploaded, 10_000);
}
