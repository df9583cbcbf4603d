//! Hand-built sample values of every view, shaped like a small collective a month into its life.
//! Shared by the page tests (`cfg(test)`) and `examples/preview.rs` (`#[path]`), so the preview
//! shows exactly what the tests check.

#![allow(dead_code)]

use hubapi::views::*;
use hubapi::{
    ListQuery, MarketEntry, MemberStats, TorrentDetail, TorrentFile, TorrentList, TorrentSummary,
};
use token::{Address, Amount};

/// 2026-02-02 00:00 UTC plus a bit: a fixed "now" so ages and countdowns are stable.
pub const NOW: u64 = 1_770_000_000;
pub const DAY: u64 = 86_400;
pub const EPOCH_SECS: u64 = DAY;
/// Epochs closed so far; epoch `CLOSED + 1` is under way.
pub const CLOSED: u64 = 30;
pub const GIB: u64 = 1 << 30;
pub const MIB: u64 = 1 << 20;
pub const PASSKEY: &str = "9f2c4e1ab07d5c3388e6f0a1d2b4c6e8";

pub fn token_info() -> TokenInfo {
    TokenInfo {
        symbol: "VID".into(),
        decimals: 18,
    }
}

/// Whole tokens as an amount, through the decimal text so `1842.375` stays exact.
pub fn tok(v: f64) -> Amount {
    Amount::parse_tokens(&format!("{v}")).unwrap_or(Amount((v * 1e18) as u128))
}

/// `len` hex digits that look random (an LCG), stable for a seed.
pub fn fake_hex(seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from_digit(((x >> 60) & 0xf) as u32, 16).unwrap_or('0')
        })
        .collect()
}

pub fn address(seed: u8) -> Address {
    let mut a = [0u8; 20];
    for (i, b) in a.iter_mut().enumerate() {
        *b = seed
            .wrapping_mul(37)
            .wrapping_add((i as u8).wrapping_mul(59))
            ^ 0x5a;
    }
    Address(a)
}

const MEMBERS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

struct Game {
    name: &'static str,
    category: &'static str,
    description: &'static str,
    size: u64,
    files: u32,
}

const GAMES: [Game; 14] = [
    Game {
        name: "Doom (1993) — shareware and registered",
        category: "dos",
        description: "id Software's original release, v1.9, with the shareware episode and the registered WAD, setup and readme files.",
        size: 2 * MIB + 400_000,
        files: 9,
    },
    Game {
        name: "Quake III Arena — complete",
        category: "windows",
        description: "Retail CD image plus the 1.32 point release and Team Arena.",
        size: 1_100 * MIB,
        files: 41,
    },
    Game {
        name: "Myst (1993) CD-ROM",
        category: "mac",
        description: "Hybrid Mac/PC CD-ROM, bit-perfect image with cue sheet.",
        size: 512 * MIB,
        files: 2,
    },
    Game {
        name: "SimCity 2000 Special Edition",
        category: "dos",
        description: "Includes Urban Renewal Kit and SCURK scenarios.",
        size: 46 * MIB,
        files: 120,
    },
    Game {
        name: "The Secret of Monkey Island (VGA)",
        category: "dos",
        description: "Floppy VGA version, 8 disks, with the code wheel scans.",
        size: 6 * MIB,
        files: 14,
    },
    Game {
        name: "Descent II",
        category: "dos",
        description: "",
        size: 380 * MIB,
        files: 57,
    },
    Game {
        name: "Commander Keen 1–6",
        category: "dos",
        description: "All six episodes, shareware and registered, with hint books.",
        size: 9 * MIB,
        files: 88,
    },
    Game {
        name: "Warcraft II: Tides of Darkness",
        category: "dos",
        description: "Battle.net Edition ISO with the Beyond the Dark Portal expansion.",
        size: 620 * MIB,
        files: 3,
    },
    Game {
        name: "Grim Fandango",
        category: "windows",
        description: "Two CD images, original 1998 release.",
        size: 1_240 * MIB,
        files: 4,
    },
    Game {
        name: "Deus Ex GOTY",
        category: "windows",
        description: "Game of the Year edition, with the SDK.",
        size: 790 * MIB,
        files: 6,
    },
    Game {
        name: "Thief: The Dark Project",
        category: "windows",
        description: "Original 1998 CD.",
        size: 610 * MIB,
        files: 2,
    },
    Game {
        name: "Star Control II OST (FLAC)",
        category: "soundtracks",
        description: "The 3DO remastered soundtrack in FLAC, 16-bit/44.1 kHz, with scans of the booklet.",
        size: 410 * MIB,
        files: 36,
    },
    Game {
        name: "PC Gamer (US) 1994 — full year",
        category: "magazines",
        description: "Twelve issues scanned at 400 dpi, with the cover discs.",
        size: 7 * GIB + 300 * MIB,
        files: 24,
    },
    Game {
        name: "Ultima VII: The Black Gate manuals",
        category: "manuals",
        description: "Cloth map, Book of Fellowship and the reference card, 600 dpi.",
        size: 180 * MIB,
        files: 5,
    },
];

pub fn summary(i: usize) -> TorrentSummary {
    let g = &GAMES[i % GAMES.len()];
    let id = (i + 1) as u32;
    TorrentSummary {
        id,
        name: g.name.into(),
        category: g.category.into(),
        description: g.description.into(),
        size: g.size,
        file_count: g.files,
        piece_length: if g.size > GIB { 4 * MIB } else { 256 * 1024 },
        info_hash_v1: Some(fake_hex(i as u64 + 7, 40)),
        info_hash_v2: (i % 3 != 2).then(|| fake_hex(i as u64 + 11, 64)),
        uploader: MEMBERS[i % MEMBERS.len()].into(),
        created_at: NOW - (GAMES.len() - i) as u64 * 2 * DAY - 3600 * i as u64,
        seeders: [12, 7, 4, 9, 3, 0, 15, 6, 2, 5, 1, 8, 2, 11][i % 14],
        leechers: [3, 5, 0, 1, 2, 0, 4, 2, 6, 0, 1, 0, 3, 1][i % 14],
        snatches: [84, 41, 17, 55, 23, 2, 96, 31, 12, 28, 6, 40, 9, 61][i % 14] as u64,
    }
}

pub fn market_entry(i: usize) -> MarketEntry {
    let s = summary(i);
    let sat = [1.34, 0.97, 0.81, 0.66, 0.52, 0.4][i % 6];
    MarketEntry {
        id: s.id,
        name: s.name,
        category: s.category,
        size: s.size,
        torrent: fake_hex(i as u64 + 11, 64),
        weight_wad: tok(1.0 + sat / 2.0),
        price_per_byte: Amount(((0.35 + sat) * 1e9) as u128),
        replicas_milli: [1500, 2000, 3000, 3200, 2750, 1000][i % 6],
        target_replicas: 3,
        saturation_wad: tok(sat),
        pool: if i == 1 { tok(1250.0) } else { Amount::ZERO },
        pool_per_epoch: if i == 1 { tok(50.0) } else { Amount::ZERO },
    }
}

pub fn supply(at_epoch: u64) -> SupplyView {
    let minted = 1_000_000.0 + at_epoch as f64 * 1_640.0;
    let burned = at_epoch as f64 * 18.5;
    let staked = 380_000.0 + at_epoch as f64 * 900.0;
    let vesting = 12_000.0 + at_epoch as f64 * 600.0;
    let pools = 2_400.0;
    let stakers_pool = 180.0;
    let total = minted - burned;
    SupplyView {
        minted: tok(minted),
        burned: tok(burned),
        total: tok(total),
        balances: tok(total - staked - vesting - pools - stakers_pool),
        staked: tok(staked),
        vesting: tok(vesting),
        stakers_pool: tok(stakers_pool),
        pools: tok(pools),
    }
}

pub fn overview() -> Overview {
    Overview {
        name: "VIDYA".into(),
        token: Some(token_info()),
        members: 1_284,
        torrents: GAMES.len() as u64,
        indexed_bytes: GAMES.iter().map(|g| g.size).sum(),
        peers: 97,
        seeders: 81,
        leechers: 16,
        epoch: Some(EpochClock {
            epoch: CLOSED + 1,
            start: NOW - 14 * 3600,
            end: NOW + 10 * 3600 - 420,
        }),
        closed_epoch: Some(CLOSED),
        supply: Some(supply(CLOSED)),
        torrents_at_target: 9,
        payable_torrents: 14,
        recent: (0..6).rev().map(|i| summary(i + 8)).collect(),
        hot: (0..6).map(market_entry).collect(),
    }
}

pub fn categories() -> Vec<CategoryCount> {
    let mut counts: Vec<CategoryCount> = Vec::new();
    for g in &GAMES {
        match counts.iter_mut().find(|c| c.name == g.category) {
            Some(c) => c.torrents += 1,
            None => counts.push(CategoryCount {
                name: g.category.into(),
                torrents: 1,
            }),
        }
    }
    counts.sort_by(|a, b| b.torrents.cmp(&a.torrents).then(a.name.cmp(&b.name)));
    counts
}

pub fn list() -> TorrentList {
    TorrentList {
        total: 64,
        torrents: (0..GAMES.len()).rev().map(summary).collect(),
    }
}

pub fn query() -> ListQuery {
    ListQuery {
        limit: Some(14),
        offset: Some(14),
        ..ListQuery::default()
    }
}

pub fn detail() -> TorrentDetail {
    let summary = summary(1);
    let mut files = vec![
        TorrentFile {
            path: "Quake III Arena/setup.exe".into(),
            length: 3 * MIB,
        },
        TorrentFile {
            path: "Quake III Arena/baseq3/pak0.pk3".into(),
            length: 457 * MIB,
        },
        TorrentFile {
            path: "Quake III Arena/missionpack/pak0.pk3".into(),
            length: 321 * MIB,
        },
    ];
    for i in 1..=8 {
        files.push(TorrentFile {
            path: format!("Quake III Arena/baseq3/pak{i}.pk3"),
            length: (i as u64 * 7 + 3) * MIB,
        });
    }
    files.push(TorrentFile {
        path: "Quake III Arena/Docs/readme.html".into(),
        length: 48_213,
    });
    let summary = TorrentSummary {
        file_count: files.len() as u32,
        size: files.iter().map(|f| f.length).sum(),
        ..summary
    };
    TorrentDetail {
        summary,
        files,
        uploaded: 38 * GIB,
        downloaded: 37 * GIB + 700 * MIB,
        balance: 300 * MIB as i64,
    }
}

pub fn torrent_market() -> TorrentMarket {
    let m = market_entry(1);
    let history = (1..=CLOSED)
        .map(|e| {
            let x = e as f64;
            let sat = 0.55 + 0.35 * (x / 4.0).sin() + x / 80.0;
            TorrentEpoch {
                epoch: e,
                time: NOW - (CLOSED - e) * EPOCH_SECS - 14 * 3600,
                price_per_byte: Amount(((0.35 + sat) * 1e9) as u128),
                weight_wad: tok(1.0 + sat / 2.0),
                saturation_wad: tok(sat),
                replicas_milli: (500 + e * 90).min(3000 + (e % 3) * 100),
                pool_paid: if e > 20 { tok(50.0) } else { Amount::ZERO },
            }
        })
        .collect();
    TorrentMarket {
        id: m.id,
        price_per_gib: Some(Amount(m.price_per_byte.0 * u128::from(GIB as u32))),
        market: Some(m),
        holders: (0..4)
            .map(|i| ReplicaHolder {
                node: address(i as u8 + 1),
                member: (i != 2).then(|| MEMBERS[i].to_string()),
                verified_bytes: if i == 3 { 400 * MIB } else { 1_100 * MIB },
                claimed_bytes: 1_100 * MIB,
            })
            .collect(),
        history,
    }
}

pub fn profile() -> Profile {
    Profile {
        name: "alice".into(),
        stats: MemberStats {
            name: "alice".into(),
            created_at: NOW - 41 * DAY,
            suspended: false,
            uploaded: 412 * GIB + 300 * MIB,
            downloaded: 97 * GIB,
            ratio: Some(4.25),
            snatches: 58,
            seed_secs: 312 * 3600 + 1_500,
            clamped: 0,
        },
        address: Some(address(1)),
        balance: tok(1_842.375),
        stake: tok(25_000.0),
        lock_until: NOW + 74 * DAY,
        vesting: tok(3_120.5),
        grants: vec![
            GrantView {
                start: NOW - 20 * DAY,
                end: NOW + 70 * DAY,
                amount: tok(1_800.0),
                released: tok(320.0),
            },
            GrantView {
                start: NOW - 6 * DAY,
                end: NOW + 84 * DAY,
                amount: tok(1_500.0),
                released: tok(100.0),
            },
            GrantView {
                start: NOW + 2 * DAY,
                end: NOW + 120 * DAY,
                amount: tok(900.0),
                released: Amount::ZERO,
            },
        ],
        earned: tok(6_410.25),
        earnings: (1..=CLOSED)
            .filter(|e| e % 7 != 3)
            .map(|e| {
                let x = e as f64;
                EarningEpoch {
                    epoch: e,
                    time: NOW - (CLOSED - e) * EPOCH_SECS,
                    hosting: tok(120.0 + 40.0 * (x / 3.0).sin() + x * 2.0),
                    sponsored: if e > 20 { tok(25.0) } else { Amount::ZERO },
                    fees: tok(8.0 + x * 0.6),
                    verified_bytes: (60 + e) * GIB,
                }
            })
            .collect(),
        node: Some(Standing {
            reputation_ppb: 987_400_000,
            standing: "good".into(),
            last_audited_epoch: Some(CLOSED),
            location: Some("Amsterdam, NL".into()),
        }),
    }
}

pub fn session() -> SessionView {
    SessionView {
        name: "alice".into(),
        address: address(1),
        passkey: PASSKEY.into(),
        announce_url: format!("https://vidya.example/announce/{PASSKEY}"),
        expires: NOW + 7 * DAY,
    }
}

pub fn board() -> NodeBoard {
    let rows = [
        (
            "alice",
            96 * GIB,
            96 * GIB,
            987_400_000,
            "good",
            "Amsterdam, NL",
            182.4,
            6_410.25,
        ),
        (
            "bob",
            81 * GIB,
            82 * GIB,
            962_000_000,
            "good",
            "Frankfurt, DE",
            151.0,
            5_120.0,
        ),
        (
            "",
            64 * GIB,
            64 * GIB,
            999_000_000,
            "good",
            "",
            120.75,
            2_980.5,
        ),
        (
            "carol",
            40 * GIB,
            41 * GIB,
            935_500_000,
            "good",
            "Montréal, CA",
            74.2,
            2_211.0,
        ),
        (
            "dave",
            22 * GIB,
            60 * GIB,
            412_000_000,
            "frozen",
            "Singapore, SG",
            0.0,
            880.0,
        ),
        (
            "erin",
            9 * GIB + 300 * MIB,
            9 * GIB + 300 * MIB,
            990_000_000,
            "good",
            "Helsinki, FI",
            18.1,
            96.3,
        ),
        (
            "frank",
            0,
            30 * GIB,
            95_000_000,
            "disqualified",
            "",
            0.0,
            310.0,
        ),
    ];
    NodeBoard {
        closed_epoch: Some(CLOSED),
        nodes: rows
            .iter()
            .enumerate()
            .map(|(i, r)| NodeRow {
                address: address(i as u8 + 1),
                member: (!r.0.is_empty()).then(|| r.0.to_string()),
                verified_bytes: r.1,
                claimed_bytes: r.2,
                standing: Standing {
                    reputation_ppb: r.3,
                    standing: r.4.into(),
                    last_audited_epoch: Some(CLOSED),
                    location: (!r.5.is_empty()).then(|| r.5.to_string()),
                },
                last_reward: tok(r.6),
                earned: tok(r.7),
            })
            .collect(),
    }
}

pub fn economy() -> EconomyView {
    EconomyView {
        token: token_info(),
        supply: supply(CLOSED),
        staked_bps: 3_958,
        staker_yield_bps: Some(412),
        inflation_bps: 500,
        epoch_secs: EPOCH_SECS,
        min_stake: tok(1_000.0),
        price_per_gib: tok(1.42),
        epochs: (1..=CLOSED)
            .map(|e| {
                let x = e as f64;
                EconomyEpoch {
                    epoch: e,
                    time: NOW - (CLOSED - e) * EPOCH_SECS - 14 * 3600,
                    minted: tok(1_630.0 + x * 0.9),
                    hosting_paid: tok(1_500.0 + 100.0 * (x / 5.0).sin()),
                    sponsored_paid: if e > 20 { tok(50.0) } else { Amount::ZERO },
                    fees_paid: tok(40.0 + x * 3.5),
                    released: tok(200.0 + x * 10.0),
                    verified_bytes: (180 + e * 5) * GIB + (e % 4) * 9 * GIB,
                    hosts_paid: 4 + (e / 8) as u32,
                    // The first closes predate the hub keeping the supply.
                    supply: (e > 4).then(|| supply(e)),
                }
            })
            .collect(),
    }
}

pub fn challenge() -> SignInChallenge {
    SignInChallenge {
        domain: "vidya.example".into(),
        uri: "https://vidya.example".into(),
        chain_id: 1,
        nonce: "k3Jd8sQ2mZ7xWp4a".into(),
        expires: NOW + 600,
        statement: "Sign in to the VIDYA collective with your member key.".into(),
    }
}
