//! Human byte sizes for the disk budget: `5GB`, `512MiB`, `1.5TB`, plain bytes.

/// Parses a size. Decimal units (KB, MB, GB, TB) are powers of 1000, binary units (KiB, MiB, GiB, TiB)
/// powers of 1024 — the way disks are sold and the way `ls -h` counts, respectively.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "{text:?} is not a size (expected e.g. 5GB, 512MiB or 1000000)"
        ));
    }
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        other => return Err(format!("unknown size unit {other:?} in {text:?}")),
    };
    if let Some((whole, frac)) = number.split_once('.') {
        let whole: u64 = whole
            .parse()
            .map_err(|_| format!("bad number in {text:?}"))?;
        if frac.is_empty() || frac.len() > 9 || frac.contains('.') {
            return Err(format!("bad number in {text:?}"));
        }
        let frac_value: u64 = frac
            .parse()
            .map_err(|_| format!("bad number in {text:?}"))?;
        let scale = 10u64.pow(frac.len() as u32);
        let whole_bytes = whole
            .checked_mul(multiplier)
            .ok_or_else(|| format!("{text:?} is too large"))?;
        let frac_bytes =
            (u128::from(frac_value) * u128::from(multiplier) / u128::from(scale)) as u64;
        whole_bytes
            .checked_add(frac_bytes)
            .ok_or_else(|| format!("{text:?} is too large"))
    } else {
        let n: u64 = number
            .parse()
            .map_err(|_| format!("bad number in {text:?}"))?;
        n.checked_mul(multiplier)
            .ok_or_else(|| format!("{text:?} is too large"))
    }
}

/// Formats bytes for people: `1.50 GB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_size("5GB"), Ok(5_000_000_000));
        assert_eq!(parse_size("5 GiB"), Ok(5 << 30));
        assert_eq!(parse_size("1.5tb"), Ok(1_500_000_000_000));
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("0.5KiB"), Ok(512));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "GB",
            "5XB",
            "-5GB",
            "1.2.3GB",
            "99999999999999999999",
            "20000000000TB",
            "1.",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_size(999), "999 B");
        assert_eq!(format_size(1_500_000_000), "1.50 GB");
    }
}
