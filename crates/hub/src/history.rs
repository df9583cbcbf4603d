//! What each epoch close leaves for the charts: one small row per torrent, per account paid and per
//! epoch, cut from the close's summary when it is stored (`auditor::store`). A page then reads the
//! rows of one torrent or one account by index instead of parsing every close of the month.

use hubapi::views::{EarningEpoch, EconomyEpoch, SupplyView, TorrentEpoch};
use ledger::CloseSummary;
use token::{Address, Amount};

/// The whole economy at this close.
pub(crate) fn economy_epoch(c: &CloseSummary, supply: Option<SupplyView>) -> EconomyEpoch {
    EconomyEpoch {
        epoch: c.epoch,
        time: c.time,
        minted: c.minted,
        hosting_paid: c.hosting_paid,
        sponsored_paid: c.sponsored_paid,
        fees_paid: c.fees_paid,
        released: c.released,
        verified_bytes: c
            .hosts
            .iter()
            .fold(0u64, |sum, h| sum.saturating_add(h.verified_bytes)),
        hosts_paid: c
            .hosts
            .iter()
            .filter(|h| h.reward != Amount::ZERO || h.sponsored != Amount::ZERO)
            .count() as u32,
        supply,
    }
}

/// Each torrent's market as this close set it.
pub(crate) fn torrent_epochs(c: &CloseSummary) -> Vec<([u8; 32], TorrentEpoch)> {
    c.torrents
        .iter()
        .map(|t| {
            (
                t.torrent,
                TorrentEpoch {
                    epoch: c.epoch,
                    time: c.time,
                    price_per_byte: t.price_after,
                    weight_wad: Amount(t.weight_after),
                    saturation_wad: Amount(t.saturation_wad),
                    replicas_milli: t.replicas_milli,
                    pool_paid: t.pool_paid,
                },
            )
        })
        .collect()
}

/// What this close paid each account (hosting, sponsored pools, stakers' fees); accounts paid
/// nothing are left out.
pub(crate) fn account_epochs(c: &CloseSummary) -> Vec<(Address, EarningEpoch)> {
    let mut paid: std::collections::BTreeMap<Address, EarningEpoch> = Default::default();
    let blank = || EarningEpoch {
        epoch: c.epoch,
        time: c.time,
        hosting: Amount::ZERO,
        sponsored: Amount::ZERO,
        fees: Amount::ZERO,
        verified_bytes: 0,
    };
    for h in &c.hosts {
        let e = paid.entry(h.node).or_insert_with(blank);
        e.hosting = h.reward;
        e.sponsored = h.sponsored;
        e.verified_bytes = h.verified_bytes;
    }
    for s in &c.stakers {
        paid.entry(s.account).or_insert_with(blank).fees = s.paid;
    }
    paid.into_iter()
        .filter(|(_, e)| {
            e.hosting != Amount::ZERO || e.sponsored != Amount::ZERO || e.fees != Amount::ZERO
        })
        .collect()
}
