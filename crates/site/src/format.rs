//! Numbers, amounts and times as people read them. Every function is total: any input gives a
//! string, never a panic, because the values come straight from the hub's data.

use token::{Address, Amount};

/// 10^18: token base units per token, and the scale of `_wad` fractions.
const WAD: u128 = 1_000_000_000_000_000_000;

/// Bytes in binary units with about three significant digits: `512 B`, `1.5 GiB`, `192 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    // Rounding may carry to 1024 (1023.96 KiB): show the next unit instead of "1024 KiB".
    if value >= 1023.5 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", three_digits(value), UNITS[unit])
}

/// Bytes per second, for transfer rates: `2.5 MiB/s`.
pub fn rate(bytes_per_sec: f64) -> String {
    if !bytes_per_sec.is_finite() || bytes_per_sec <= 0.0 {
        return "0 B/s".into();
    }
    format!("{}/s", bytes(bytes_per_sec as u64))
}

/// About three significant digits, trailing zeros trimmed: `1.5`, `12.3`, `192`.
fn three_digits(v: f64) -> String {
    let s = if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    };
    trim_fraction(&s).to_string()
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A whole number with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    group(&n.to_string())
}

fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount in whole tokens, rounded for reading: two decimals from 1,000 up, three from 1 up,
/// four significant digits below 1 (prices per GiB are often tiny), thousands grouped, trailing
/// zeros trimmed. `1,234.5`, `12.5`, `0.0003125`. Exact integer arithmetic: no float rounding.
pub fn amount(a: Amount) -> String {
    let units = a.0;
    if units == 0 {
        return "0".into();
    }
    let whole = units / WAD;
    let decimals: u32 = if whole >= 1000 {
        2
    } else if whole >= 1 {
        3
    } else {
        // Digits of the fraction before the first significant one, then four more.
        let leading = 18 - (units.ilog10() + 1);
        (leading + 4).min(18)
    };
    let scale = 10u128.pow(18 - decimals);
    let rounded = units.saturating_add(scale / 2) / scale;
    let one = 10u128.pow(decimals);
    let (whole, frac) = (rounded / one, rounded % one);
    let mut out = group(&whole.to_string());
    if frac != 0 {
        let frac = format!("{frac:0width$}", width = decimals as usize);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out
}

/// [`amount`] with the token's symbol: `12.5 VID`.
pub fn tokens(a: Amount, symbol: &str) -> String {
    format!("{} {symbol}", amount(a))
}

/// A short amount for cards and chart labels: `12.5k`, `3.2M`, `1.05B`, or [`amount`] below 10,000.
pub fn amount_compact(a: Amount) -> String {
    let whole = a.0 / WAD;
    if whole < 10_000 {
        return amount(a);
    }
    compact(to_tokens(a))
}

/// [`amount_compact`] with the symbol: `3.2M VID`.
pub fn tokens_compact(a: Amount, symbol: &str) -> String {
    format!("{} {symbol}", amount_compact(a))
}

/// A float with a metric suffix and about three significant digits, for chart axes: `950`, `12.5k`,
/// `3.2M`. Small numbers keep enough decimals to tell ticks apart.
pub fn compact(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    const SUFFIXES: [(f64, &str); 5] =
        [(1e15, "P"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")];
    for (scale, suffix) in SUFFIXES {
        if a >= scale * 0.9995 {
            return format!("{sign}{}{suffix}", three_digits(a / scale));
        }
    }
    if a == 0.0 {
        return "0".into();
    }
    if a >= 1.0 {
        return format!("{sign}{}", three_digits(a));
    }
    // Below one: four significant digits, so 0.00012 and 0.00015 stay apart.
    let leading = (-a.log10()).floor() as usize;
    let s = format!("{a:.prec$}", prec = (leading + 3).min(18));
    format!("{sign}{}", trim_fraction(&s))
}

/// Whole tokens as a float, for charts (precision loss beyond ~15 digits is invisible there).
pub fn to_tokens(a: Amount) -> f64 {
    let whole = (a.0 / WAD) as f64;
    let frac = (a.0 % WAD) as f64 / WAD as f64;
    whole + frac
}

/// A ×10^18 fraction as a float (`1000000000000000000` is 1.0).
pub fn wad_f64(a: Amount) -> f64 {
    to_tokens(a)
}

/// A ×10^18 fraction with two decimals, trailing zeros trimmed: `1.25`, `0.8`.
pub fn wad(a: Amount) -> String {
    let hundredths = a.0.saturating_add(WAD / 200) / (WAD / 100);
    let s = format!("{}.{:02}", hundredths / 100, hundredths % 100);
    trim_fraction(&s).to_string()
}

/// A ×10^18 fraction as a percentage: `85 %`, `120 %`, `0.5 %`.
pub fn wad_pct(a: Amount) -> String {
    // Basis points: 10^18 / 10^4 base units each.
    let bps_value = a.0.saturating_add(WAD / 20_000) / (WAD / 10_000);
    bps(u64::try_from(bps_value).unwrap_or(u64::MAX))
}

/// Basis points as a percentage with at most two decimals: `2.5 %`, `100 %`, `0.01 %`.
pub fn bps(b: u64) -> String {
    let s = format!("{}.{:02}", b / 100, b % 100);
    format!("{} %", trim_fraction(&s))
}

/// Parts per billion as a percentage with one decimal, for reputations: `99.2 %`.
pub fn ppb_pct(p: u32) -> String {
    let tenths = (u64::from(p) + 500_000) / 1_000_000;
    let s = format!("{}.{}", tenths / 10, tenths % 10);
    format!("{} %", trim_fraction(&s))
}

/// `part / whole` in basis points, 0 when `whole` is 0; exact for any u128.
pub fn ratio_bps(part: u128, whole: u128) -> u64 {
    if whole == 0 {
        return 0;
    }
    // part × 10,000 could overflow for huge amounts; fall back to scaling the whole down.
    let v = match part.checked_mul(10_000) {
        Some(p) => p / whole,
        None => part / (whole / 10_000).max(1),
    };
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Verified replicas from thousandths: `1.5`, `3`, `0.25`.
pub fn replicas(milli: u64) -> String {
    let s = format!("{}.{:03}", milli / 1000, milli % 1000);
    let t = trim_fraction(&s).to_string();
    // Two decimals are enough to read; keep three only if that is all there is (0.005).
    match t.split_once('.') {
        Some((w, f)) if f.len() == 3 && w != "0" => {
            let hundredths = milli.saturating_add(5) / 10;
            let s = format!("{}.{:02}", hundredths / 100, hundredths % 100);
            trim_fraction(&s).to_string()
        }
        _ => t,
    }
}

/// A share ratio: `1.23`, `∞` when nothing was downloaded but something was uploaded, `–` if
/// nothing moved.
pub fn ratio(r: Option<f64>, uploaded: u64) -> String {
    match r {
        Some(r) if r.is_finite() => format!("{r:.2}"),
        _ if uploaded > 0 => "∞".into(),
        _ => "–".into(),
    }
}

/// A length of time in its two largest units: `45 s`, `3 min`, `2 h 5 min`, `3 d 4 h`.
pub fn duration(secs: u64) -> String {
    const MIN: u64 = 60;
    const HOUR: u64 = 3600;
    const DAY: u64 = 86_400;
    if secs < MIN {
        format!("{secs} s")
    } else if secs < HOUR {
        format!("{} min", secs / MIN)
    } else if secs < DAY {
        let (h, m) = (secs / HOUR, secs % HOUR / MIN);
        if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        }
    } else if secs < 365 * DAY {
        let (d, h) = (secs / DAY, secs % DAY / HOUR);
        if h == 0 {
            format!("{d} d")
        } else {
            format!("{d} d {h} h")
        }
    } else {
        let days = secs / DAY;
        format!("{} y {} d", days / 365, days % 365)
    }
}

/// How long ago `t` was, seen at `now`, in its largest unit: `just now`, `3 min ago`, `2 h ago`,
/// `5 days ago`, then a date after a month; `in 3 min` for the future.
pub fn ago(now: u64, t: u64) -> String {
    if t > now {
        let d = t - now;
        return if d < 60 {
            "in a moment".into()
        } else {
            format!("in {}", coarse(d))
        };
    }
    let d = now - t;
    if d < 60 {
        "just now".into()
    } else if d < 30 * 86_400 {
        format!("{} ago", coarse(d))
    } else {
        date(t)
    }
}

/// One unit, rounded down: `3 min`, `2 h`, `1 day`, `5 days`.
fn coarse(d: u64) -> String {
    if d < 60 {
        format!("{d} s")
    } else if d < 3600 {
        format!("{} min", d / 60)
    } else if d < 86_400 {
        format!("{} h", d / 3600)
    } else {
        let days = d / 86_400;
        if days == 1 {
            "1 day".into()
        } else {
            format!("{days} days")
        }
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`, which is exact over the whole range a u64 of seconds can reach.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn ymd(t: u64) -> (i64, u32, u32) {
    // u64 seconds / 86,400 always fits an i64.
    civil_from_days((t / 86_400) as i64)
}

/// A UTC date: `2025-03-14`.
pub fn date(t: u64) -> String {
    let (y, m, d) = ymd(t);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A UTC date and time to the minute: `2025-03-14 09:26 UTC`.
pub fn datetime(t: u64) -> String {
    let secs = t % 86_400;
    format!("{} {:02}:{:02} UTC", date(t), secs / 3600, secs % 3600 / 60)
}

/// A short date for chart axes: `14 Mar 2025`.
pub fn short_date(t: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = ymd(t);
    let month = MONTHS.get(m as usize - 1).copied().unwrap_or("?");
    format!("{d} {month} {y}")
}

/// An address shortened for tables: `0x1a2B…9fE0` (checksummed).
pub fn short_address(a: &Address) -> String {
    let full = a.to_checksum();
    format!("{}…{}", &full[..6], &full[full.len() - 4..])
}

/// A hex string shortened for tables: `3f1a9c…b20e`, or the whole string if short.
pub fn short_hex(h: &str) -> String {
    if h.len() <= 16 || !h.is_ascii() {
        return h.to_string();
    }
    format!("{}…{}", &h[..8], &h[h.len() - 6..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str) -> Amount {
        Amount::parse_tokens(s).expect("test amount")
    }

    #[test]
    fn bytes_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1 KiB");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
        assert_eq!(bytes(192 << 20), "192 MiB");
        assert_eq!(bytes((12.34 * (1u64 << 30) as f64) as u64), "12.3 GiB");
        assert_eq!(bytes(1024 * 1024 - 1), "1 MiB");
        assert_eq!(bytes(u64::MAX), "16 EiB");
        assert_eq!(rate(2.5 * 1048576.0), "2.5 MiB/s");
        assert_eq!(rate(f64::NAN), "0 B/s");
    }

    #[test]
    fn counts_are_grouped() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn amounts_round_for_reading() {
        assert_eq!(amount(Amount::ZERO), "0");
        assert_eq!(amount(tok("12.5")), "12.5");
        assert_eq!(amount(tok("3")), "3");
        assert_eq!(amount(tok("1234.5678")), "1,234.57");
        assert_eq!(amount(tok("1.23456")), "1.235");
        assert_eq!(amount(tok("0.0003125")), "0.0003125");
        assert_eq!(amount(tok("0.000312549")), "0.0003125");
        assert_eq!(amount(Amount(1)), "0.000000000000000001");
        assert_eq!(amount(tok("999.99999")), "1,000");
        assert_eq!(amount(Amount(u128::MAX)), "340,282,366,920,938,463,463.37");
        assert_eq!(tokens(tok("12.5"), "VID"), "12.5 VID");
    }

    #[test]
    fn compact_amounts() {
        assert_eq!(amount_compact(tok("9999.5")), "9,999.5");
        assert_eq!(amount_compact(tok("12500")), "12.5k");
        assert_eq!(amount_compact(tok("3200000")), "3.2M");
        assert_eq!(tokens_compact(tok("1050000000"), "VID"), "1.05B VID");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(999.9), "1k");
        assert_eq!(compact(0.00012), "0.00012");
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(compact(-2500.0), "-2.5k");
        assert_eq!(compact(f64::INFINITY), "–");
    }

    #[test]
    fn fractions_and_percentages() {
        assert_eq!(bps(250), "2.5 %");
        assert_eq!(bps(10_000), "100 %");
        assert_eq!(bps(1), "0.01 %");
        assert_eq!(bps(0), "0 %");
        assert_eq!(wad(tok("1.25")), "1.25");
        assert_eq!(wad(tok("0.8")), "0.8");
        assert_eq!(wad(tok("1")), "1");
        assert_eq!(wad_pct(tok("0.85")), "85 %");
        assert_eq!(wad_pct(tok("1.2")), "120 %");
        assert!(wad_pct(Amount(u128::MAX)).ends_with('%'));
        assert_eq!(ppb_pct(1_000_000_000), "100 %");
        assert_eq!(ppb_pct(992_000_000), "99.2 %");
        assert_eq!(ppb_pct(0), "0 %");
        assert_eq!(ratio_bps(1, 4), 2500);
        assert_eq!(ratio_bps(5, 0), 0);
        assert!((4999..=5000).contains(&ratio_bps(u128::MAX / 2, u128::MAX)));
        assert_eq!(replicas(1500), "1.5");
        assert_eq!(replicas(3000), "3");
        assert_eq!(replicas(1234), "1.23");
        assert_eq!(replicas(5), "0.005");
        assert_eq!(ratio(Some(1.234), 5), "1.23");
        assert_eq!(ratio(None, 5), "∞");
        assert_eq!(ratio(None, 0), "–");
    }

    #[test]
    fn durations_and_ages() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(180), "3 min");
        assert_eq!(duration(7500), "2 h 5 min");
        assert_eq!(duration(7200), "2 h");
        assert_eq!(duration(3 * 86_400 + 4 * 3600 + 7), "3 d 4 h");
        assert_eq!(duration(400 * 86_400), "1 y 35 d");
        let now = 1_700_000_000;
        assert_eq!(ago(now, now), "just now");
        assert_eq!(ago(now, now - 185), "3 min ago");
        assert_eq!(ago(now, now - 7300), "2 h ago");
        assert_eq!(ago(now, now - 86_400), "1 day ago");
        assert_eq!(ago(now, now - 5 * 86_400), "5 days ago");
        assert_eq!(ago(now, now - 90 * 86_400), date(now - 90 * 86_400));
        assert_eq!(ago(now, now + 180), "in 3 min");
        assert_eq!(ago(now, now + 10), "in a moment");
    }

    #[test]
    fn dates_in_utc() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(datetime(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(short_date(1_700_000_000), "14 Nov 2023");
        // The largest u64 is far in the future, and still a date.
        assert!(date(u64::MAX).len() > 10);
        // Every day of a leap cycle round-trips through a naive day counter.
        let mut days = 0i64;
        for y in 1970..2370 {
            for m in 1..=12u32 {
                let len = match m {
                    2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                for d in 1..=len {
                    assert_eq!(civil_from_days(days), (y, m, d));
                    days += 1;
                }
            }
        }
    }

    #[test]
    fn addresses_and_hashes_shorten() {
        let a = Address([0xab; 20]);
        let s = short_address(&a);
        assert!(s.starts_with("0x") && s.contains('…'));
        assert_eq!(s.chars().count(), 11);
        assert_eq!(short_hex("abcd"), "abcd");
        assert_eq!(short_hex(&"a".repeat(40)), "aaaaaaaa…aaaaaa");
    }
}
