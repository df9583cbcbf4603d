//! SVG charts rendered on the server: a line chart ([`Line`]) and a stacked bar chart ([`Bars`]).
//!
//! Each returns `<svg class="chart" viewBox=… role="img">` with a `<title>`, sized by its viewBox so
//! CSS scales it to the column. Colours are presentation attributes, not a stylesheet, so a chart
//! reads the same pasted anywhere and the page needs no inline `<style>` (a strict
//! Content-Security-Policy stays possible). Points and bars carry `<title>` tooltips: hovering shows
//! the exact figure without any script.
//!
//! Values are f64: callers convert amounts (`units / 1e18`) and bytes before charting, and pass
//! label formatters for the axes, so the chart knows nothing about tokens.

use maud::{Markup, html};

/// Series colours, in order; chosen to stay apart for the common forms of colour blindness.
pub const PALETTE: [&str; 6] = [
    "#2563eb", "#16a34a", "#f59e0b", "#9333ea", "#db2777", "#0891b2",
];

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 220.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 28.0;
const RIGHT: f64 = 14.0;
const GRID: &str = "#e5e7eb";
const AXIS: &str = "#9ca3af";
const INK: &str = "#6b7280";
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
/// Above this many points the dots (and their tooltips) would only clutter the line.
const MAX_DOTS: usize = 60;

/// Formats an axis value (or a tooltip's).
pub type Label<'a> = Box<dyn Fn(f64) -> String + 'a>;

/// A line chart with one or more series over a shared x axis.
pub struct Line<'a> {
    title: String,
    series: Vec<(String, Vec<(f64, f64)>)>,
    reference: Option<(String, f64)>,
    marker: Option<(String, f64)>,
    x_label: Label<'a>,
    y_label: Label<'a>,
    x_integers: bool,
    area: bool,
    empty: String,
}

impl<'a> Line<'a> {
    /// `title` is the accessible name (the page shows its own heading above the chart).
    pub fn new(
        title: &str,
        x_label: impl Fn(f64) -> String + 'a,
        y_label: impl Fn(f64) -> String + 'a,
    ) -> Line<'a> {
        Line {
            title: title.to_string(),
            series: Vec::new(),
            reference: None,
            marker: None,
            x_label: Box::new(x_label),
            y_label: Box::new(y_label),
            x_integers: false,
            area: false,
            empty: "No closed epochs yet".to_string(),
        }
    }

    /// A series of `(x, y)` points; non-finite points are dropped, the rest drawn in x order.
    pub fn series(mut self, name: &str, points: Vec<(f64, f64)>) -> Self {
        self.series.push((name.to_string(), points));
        self
    }

    /// A dashed horizontal line at `y`, like a replica target.
    pub fn reference(mut self, label: &str, y: f64) -> Self {
        self.reference = y.is_finite().then(|| (label.to_string(), y));
        self
    }

    /// A vertical marker at `x`, like "today"; the x axis widens to include it.
    pub fn marker(mut self, label: &str, x: f64) -> Self {
        self.marker = x.is_finite().then(|| (label.to_string(), x));
        self
    }

    /// The x values are whole numbers (epochs): ticks land on integers only.
    pub fn integers(mut self) -> Self {
        self.x_integers = true;
        self
    }

    /// Shade the area under each series.
    pub fn area(mut self) -> Self {
        self.area = true;
        self
    }

    /// What to say when there is nothing to draw.
    pub fn empty(mut self, message: &str) -> Self {
        self.empty = message.to_string();
        self
    }

    pub fn render(&self) -> String {
        let series: Vec<Vec<(f64, f64)>> = self
            .series
            .iter()
            .map(|(_, points)| {
                let mut p: Vec<(f64, f64)> = points
                    .iter()
                    .copied()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect();
                p.sort_by(|a, b| a.0.total_cmp(&b.0));
                p
            })
            .collect();
        let all = || series.iter().flatten();
        if all().next().is_none() {
            return empty_chart(&self.title, &self.empty);
        }

        let mut x_lo = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let mut x_hi = all().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        if let Some((_, x)) = &self.marker {
            x_lo = x_lo.min(*x);
            x_hi = x_hi.max(*x);
        }
        let mut y_lo = all().map(|p| p.1).fold(0.0, f64::min);
        let mut y_hi = all().map(|p| p.1).fold(0.0, f64::max);
        if let Some((_, y)) = &self.reference {
            y_lo = y_lo.min(*y);
            y_hi = y_hi.max(*y);
        }
        let y_ticks = nice_ticks(y_lo, y_hi);
        let frame = Frame::new(&y_ticks, &self.y_label, x_lo, x_hi);
        let x_ticks = if self.x_integers {
            integer_ticks(x_lo, x_hi)
        } else {
            even_ticks(x_lo, x_hi)
        };

        let mut legend: Vec<(String, &str, Swatch)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), colour(i), Swatch::Line))
            .collect();
        // The reference's value goes in the legend: on the plot it would sit on the data.
        if let Some((label, y)) = &self.reference {
            legend.push((
                format!("{label} {}", (self.y_label)(*y)),
                INK,
                Swatch::Dashed,
            ));
        }

        let body = html! {
            @for (i, points) in series.iter().enumerate() {
                @let c = colour(i);
                @let coords: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (frame.x(x), frame.y(y))).collect();
                @if self.area && coords.len() > 1 {
                    path d=(area_path(&coords, frame.y(frame.y_lo.max(0.0).min(frame.y_hi)))) fill=(c) fill-opacity="0.1" stroke="none" {}
                }
                @if coords.len() > 1 {
                    path d=(line_path(&coords)) fill="none" stroke=(c) stroke-width="2" stroke-linejoin="round" stroke-linecap="round" {}
                }
                @if points.len() <= MAX_DOTS {
                    @for (&(x, y), &(cx, cy)) in points.iter().zip(&coords) {
                        circle cx=(num(cx)) cy=(num(cy)) r="3" fill="#fff" stroke=(c) stroke-width="2" {
                            title { ((self.x_label)(x)) " · " (self.series[i].0) ": " ((self.y_label)(y)) }
                        }
                    }
                }
            }
            @if let Some((label, y)) = &self.reference {
                @let py = frame.y(*y);
                line x1=(num(frame.left)) x2=(num(WIDTH - RIGHT)) y1=(num(py)) y2=(num(py)) stroke=(INK) stroke-width="1.5" stroke-dasharray="6 4" {
                    title { (label) " " ((self.y_label)(*y)) }
                }
            }
            @if let Some((label, x)) = &self.marker {
                @let px = frame.x(*x);
                line x1=(num(px)) x2=(num(px)) y1=(num(TOP - 6.0)) y2=(num(HEIGHT - BOTTOM)) stroke="#ef4444" stroke-width="1.5" stroke-dasharray="3 3" {}
                text x=(num(px + 4.0)) y=(num(TOP + 4.0)) font-size="11" fill="#ef4444" { (label) }
            }
        };
        frame.svg(
            &self.title,
            &y_ticks,
            &self.y_label,
            x_ticks
                .iter()
                .map(|&x| (frame.x(x), (self.x_label)(x)))
                .collect(),
            &legend,
            body,
        )
    }
}

/// A named layer of a stacked bar chart: one value per category.
type Layer = (String, Vec<f64>);

/// A stacked bar chart: one bar per category (an epoch), one segment per layer.
pub struct Bars<'a> {
    title: String,
    categories: Vec<String>,
    layers: Vec<Layer>,
    y_label: Label<'a>,
    empty: String,
}

impl<'a> Bars<'a> {
    /// `categories` label the bars, left to right (`"12"` for epoch 12).
    pub fn new(
        title: &str,
        categories: Vec<String>,
        y_label: impl Fn(f64) -> String + 'a,
    ) -> Bars<'a> {
        Bars {
            title: title.to_string(),
            categories,
            layers: Vec::new(),
            y_label: Box::new(y_label),
            empty: "No closed epochs yet".to_string(),
        }
    }

    /// A layer, stacked on the ones before; one value per category (missing ones count as 0,
    /// negative and non-finite ones are not drawn).
    pub fn layer(mut self, name: &str, values: Vec<f64>) -> Self {
        self.layers.push((name.to_string(), values));
        self
    }

    pub fn empty(mut self, message: &str) -> Self {
        self.empty = message.to_string();
        self
    }

    pub fn render(&self) -> String {
        let value = |layer: &Layer, i: usize| {
            layer
                .1
                .get(i)
                .copied()
                .filter(|v| v.is_finite() && *v > 0.0)
                .unwrap_or(0.0)
        };
        let n = self.categories.len();
        if n == 0 || self.layers.is_empty() {
            return empty_chart(&self.title, &self.empty);
        }
        let totals: Vec<f64> = (0..n)
            .map(|i| self.layers.iter().map(|l| value(l, i)).sum())
            .collect();
        let y_ticks = nice_ticks(0.0, totals.iter().copied().fold(0.0, f64::max));
        let frame = Frame::new(&y_ticks, &self.y_label, 0.0, n as f64);
        let band = frame.width() / n as f64;
        let bar = (band * 0.72).clamp(1.0, 44.0);

        // Label every k-th bar so the labels never overlap.
        let widest = self
            .categories
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(1) as f64;
        let every = ((widest * 7.0 + 12.0) / band).ceil().max(1.0) as usize;
        let x_ticks = self
            .categories
            .iter()
            .enumerate()
            .filter(|(i, _)| (n - 1 - i).is_multiple_of(every))
            .map(|(i, c)| (frame.left + band * (i as f64 + 0.5), c.clone()))
            .collect();
        let legend: Vec<(String, &str, Swatch)> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), colour(i), Swatch::Block))
            .collect();

        let body = html! {
            @for (i, category) in self.categories.iter().enumerate() {
                @let x = frame.left + band * i as f64 + (band - bar) / 2.0;
                g {
                    title {
                        (category) " · total " ((self.y_label)(totals[i]))
                        @for layer in &self.layers {
                            "\n" (layer.0) ": " ((self.y_label)(value(layer, i)))
                        }
                    }
                    @for (seg, bottom, top) in stack(&self.layers, i, &value) {
                        @let y0 = frame.y(bottom);
                        @let y1 = frame.y(top);
                        rect x=(num(x)) y=(num(y1)) width=(num(bar)) height=(num((y0 - y1).max(0.5))) fill=(colour(seg)) {}
                    }
                }
            }
        };
        frame.svg(&self.title, &y_ticks, &self.y_label, x_ticks, &legend, body)
    }
}

/// The segments of bar `i`: (layer index, bottom, top), skipping empty ones.
fn stack(
    layers: &[Layer],
    i: usize,
    value: &dyn Fn(&Layer, usize) -> f64,
) -> Vec<(usize, f64, f64)> {
    let mut base = 0.0;
    let mut out = Vec::new();
    for (k, layer) in layers.iter().enumerate() {
        let v = value(layer, i);
        if v > 0.0 {
            out.push((k, base, base + v));
            base += v;
        }
    }
    out
}

/// Shares of a whole as one horizontal bar, like where the supply sits: segments in [`PALETTE`]
/// order with tooltips, no legend (the page writes one in HTML, where text stays crisp at any
/// width). Not a `chart`: it has no axes; class `share`, stretched to the width by CSS.
pub fn share_bar(title: &str, parts: &[(String, f64)], label: impl Fn(f64) -> String) -> String {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let total: f64 = parts.iter().map(|p| p.1).filter(|v| positive(*v)).sum();
    let mut x = 0.0;
    let mut segments = Vec::new();
    if total > 0.0 {
        for (i, (name, v)) in parts.iter().enumerate() {
            if positive(*v) {
                let width = v / total * 1000.0;
                segments.push((x, width, i, name, *v));
                x += width;
            }
        }
    }
    let markup = html! {
        svg class="share" viewBox="0 0 1000 20" preserveAspectRatio="none" role="img" aria-label=(title) {
            title { (title) }
            rect x="0" y="0" width="1000" height="20" fill=(GRID) {}
            @for (x, width, i, name, v) in segments {
                rect x=(num(x)) y="0" width=(num(width)) height="20" fill=(colour(i)) {
                    title { (name) ": " (label(v)) }
                }
            }
        }
    };
    markup.into_string()
}

/// Tick values for an axis from `lo` to `hi`: 3 to 5 (up to 7 when `lo` is not 0) multiples of
/// 1, 2, 2.5 or 5 × 10^k covering the range. A flat or empty range gets `0..1`-like ticks around it.
pub fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if !lo.is_finite() || !hi.is_finite() {
        return vec![0.0, 0.5, 1.0];
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        // A flat line: stretch the range to 0 so the line sits at a readable height.
        if hi > 0.0 {
            lo = 0.0;
        } else if hi < 0.0 {
            hi = 0.0;
        } else {
            (lo, hi) = (0.0, 1.0);
        }
    }
    let step = nice_step((hi - lo) / 4.0);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let count = (last - first) as i64;
    (0..=count.clamp(1, 12))
        .map(|i| clean((first + i as f64) * step, step))
        .collect()
}

/// The smallest of 1, 2, 2.5, 5, 10 × 10^k that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let base = 10f64.powf(raw.log10().floor());
    let m = raw / base;
    let nice = if m <= 1.0 + 1e-9 {
        1.0
    } else if m <= 2.0 + 1e-9 {
        2.0
    } else if m <= 2.5 + 1e-9 {
        2.5
    } else if m <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    nice * base
}

/// `v` rounded to the step's precision, so 3 × 0.1 prints as 0.3.
fn clean(v: f64, step: f64) -> f64 {
    let digits = (-step.log10().floor() + 2.0).clamp(0.0, 15.0) as i32;
    let scale = 10f64.powi(digits);
    let r = (v * scale).round() / scale;
    if r == 0.0 { 0.0 } else { r }
}

/// Whole-number ticks inside `lo..=hi` (epochs): a nice integer step, at most about 8 ticks.
fn integer_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi - lo < 1.0 {
        return vec![lo.round()];
    }
    let mut step = nice_step((hi - lo) / 6.0).max(1.0);
    if step.fract() != 0.0 {
        step = step.ceil();
    }
    let first = (lo / step).ceil() * step;
    (0..)
        .map(|i| first + i as f64 * step)
        .take_while(|x| *x <= hi + 1e-9)
        .take(16)
        .collect()
}

/// Five evenly spaced ticks from `lo` to `hi` (dates: a calendar-nice step matters less than
/// showing where the range starts and ends).
fn even_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi - lo <= 0.0 {
        return vec![lo];
    }
    (0..5).map(|i| lo + (hi - lo) * i as f64 / 4.0).collect()
}

fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Coordinates with one decimal: enough for a 640-wide viewBox, and short.
fn num(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

fn line_path(coords: &[(f64, f64)]) -> String {
    let mut d = String::new();
    for (i, (x, y)) in coords.iter().enumerate() {
        d.push(if i == 0 { 'M' } else { 'L' });
        d.push_str(&format!("{} {} ", num(*x), num(*y)));
    }
    d.trim_end().to_string()
}

fn area_path(coords: &[(f64, f64)], base: f64) -> String {
    match (coords.first(), coords.last()) {
        (Some(first), Some(last)) => format!(
            "{} L{} {} L{} {} Z",
            line_path(coords),
            num(last.0),
            num(base),
            num(first.0),
            num(base)
        ),
        _ => String::new(),
    }
}

enum Swatch {
    Line,
    Dashed,
    Block,
}

/// The plot area and its mapping from data to viewBox coordinates.
struct Frame {
    left: f64,
    x_lo: f64,
    x_hi: f64,
    y_lo: f64,
    y_hi: f64,
}

impl Frame {
    fn new(y_ticks: &[f64], y_label: &Label, x_lo: f64, x_hi: f64) -> Frame {
        // The left margin fits the widest y label.
        let widest = y_ticks
            .iter()
            .map(|&t| y_label(t).chars().count())
            .max()
            .unwrap_or(1) as f64;
        let left = (widest * 7.0 + 14.0).clamp(36.0, 140.0);
        let y_lo = y_ticks.first().copied().unwrap_or(0.0);
        let mut y_hi = y_ticks.last().copied().unwrap_or(1.0);
        if y_hi <= y_lo {
            y_hi = y_lo + 1.0;
        }
        // A single x value sits in the middle of the plot.
        let (x_lo, x_hi) = if x_hi > x_lo {
            (x_lo, x_hi)
        } else {
            (x_lo - 1.0, x_lo + 1.0)
        };
        Frame {
            left,
            x_lo,
            x_hi,
            y_lo,
            y_hi,
        }
    }

    fn width(&self) -> f64 {
        WIDTH - RIGHT - self.left
    }

    fn x(&self, v: f64) -> f64 {
        // Inset so the first and last dots are not cut by the plot's edge.
        let inset = 8.0;
        self.left + inset + (v - self.x_lo) / (self.x_hi - self.x_lo) * (self.width() - 2.0 * inset)
    }

    fn y(&self, v: f64) -> f64 {
        let h = HEIGHT - TOP - BOTTOM;
        HEIGHT - BOTTOM - (v - self.y_lo) / (self.y_hi - self.y_lo) * h
    }

    fn svg(
        &self,
        title: &str,
        y_ticks: &[f64],
        y_label: &Label,
        x_ticks: Vec<(f64, String)>,
        legend: &[(String, &str, Swatch)],
        body: Markup,
    ) -> String {
        // Legend entries side by side, each as wide as its text.
        let mut lx = self.left;
        let legend: Vec<(f64, &(String, &str, Swatch))> = legend
            .iter()
            .map(|entry| {
                let at = lx;
                lx += entry.0.chars().count() as f64 * 6.8 + 36.0;
                (at, entry)
            })
            .collect();
        let markup = html! {
            svg class="chart" viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(title) font-family=(FONT) {
                title { (title) }
                g {
                    @for &t in y_ticks {
                        @let y = self.y(t);
                        line x1=(num(self.left)) x2=(num(WIDTH - RIGHT)) y1=(num(y)) y2=(num(y)) stroke=(if t == 0.0 { AXIS } else { GRID }) stroke-width="1" {}
                        text x=(num(self.left - 6.0)) y=(num(y + 4.0)) text-anchor="end" font-size="12" fill=(INK) { (y_label(t)) }
                    }
                }
                g {
                    @for (x, label) in &x_ticks {
                        // Labels at the edges hang inwards rather than off the viewBox.
                        @let half = label.chars().count() as f64 * 3.5;
                        @let anchor = if *x + half > WIDTH { "end" } else if *x - half < 0.0 { "start" } else { "middle" };
                        line x1=(num(*x)) x2=(num(*x)) y1=(num(HEIGHT - BOTTOM)) y2=(num(HEIGHT - BOTTOM + 4.0)) stroke=(AXIS) {}
                        text x=(num(*x)) y=(num(HEIGHT - 9.0)) text-anchor=(anchor) font-size="12" fill=(INK) { (label) }
                    }
                }
                g {
                    @for (lx, (name, c, swatch)) in legend {
                        @match swatch {
                            Swatch::Line => {
                                line x1=(num(lx)) x2=(num(lx + 14.0)) y1="13" y2="13" stroke=(c) stroke-width="2.5" stroke-linecap="round" {}
                            }
                            Swatch::Dashed => {
                                line x1=(num(lx)) x2=(num(lx + 14.0)) y1="13" y2="13" stroke=(c) stroke-width="1.5" stroke-dasharray="4 3" {}
                            }
                            Swatch::Block => {
                                rect x=(num(lx)) y="8" width="10" height="10" rx="2" fill=(c) {}
                            }
                        }
                        text x=(num(lx + 19.0)) y="17" font-size="12" fill="#374151" { (name) }
                    }
                }
                (body)
            }
        };
        markup.into_string()
    }
}

fn empty_chart(title: &str, message: &str) -> String {
    html! {
        svg class="chart empty" viewBox=(format!("0 0 {WIDTH} 120")) role="img" aria-label=(title) font-family=(FONT) {
            title { (title) }
            rect x="0.5" y="0.5" width=(WIDTH - 1.0) height="119" rx="8" fill="#f9fafb" stroke=(GRID) stroke-dasharray="4 4" {}
            text x=(WIDTH / 2.0) y="64" text-anchor="middle" font-size="13" fill=(INK) { (message) }
        }
    }
    .into_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Tags open and close in order (`<x>…</x>`), by a stack; enough to catch a missing close.
    pub(crate) fn balanced(svg: &str) -> bool {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            rest = &rest[i + 1..];
            let Some(end) = rest.find('>') else {
                return false;
            };
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name.trim()) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or("");
                stack.push(name);
            }
        }
        stack.is_empty()
    }

    fn nice_mantissa(step: f64) -> bool {
        let m = step / 10f64.powf(step.log10().floor());
        [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .any(|n| (m - n).abs() < 1e-6)
    }

    #[test]
    fn ticks_are_nice_and_few() {
        for hi in [
            0.3, 1.0, 3.0, 7.0, 9.5, 10.0, 12.0, 99.0, 101.0, 1234.0, 5e6, 3.3e9, 1e18, 0.0007,
        ] {
            let t = nice_ticks(0.0, hi);
            assert!((3..=5).contains(&t.len()), "{hi}: {t:?}");
            assert_eq!(t[0], 0.0);
            assert!(*t.last().unwrap() >= hi, "{hi}: {t:?}");
            let step = t[1] - t[0];
            assert!(nice_mantissa(step), "{hi}: step {step}");
            for w in t.windows(2) {
                assert!(((w[1] - w[0]) - step).abs() < step * 1e-6);
            }
        }
        assert_eq!(nice_ticks(0.0, 10.0), vec![0.0, 2.5, 5.0, 7.5, 10.0]);
        assert_eq!(nice_ticks(0.0, 3.0), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(nice_ticks(0.0, 0.3), vec![0.0, 0.1, 0.2, 0.3]);
        let t = nice_ticks(-5.0, 17.0);
        assert!(t[0] <= -5.0 && *t.last().unwrap() >= 17.0 && t.len() <= 7);
    }

    #[test]
    fn ticks_survive_odd_input() {
        assert_eq!(nice_ticks(0.0, 0.0), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert!(nice_ticks(5.0, 5.0).len() >= 3);
        assert!(nice_ticks(-5.0, -5.0).len() >= 3);
        assert!(!nice_ticks(f64::NAN, 1.0).is_empty());
        assert!(!nice_ticks(0.0, f64::INFINITY).is_empty());
        assert!(nice_ticks(1e300, 1e300 * 1.0000001).len() <= 13);
        assert_eq!(integer_ticks(3.0, 3.0), vec![3.0]);
        assert_eq!(integer_ticks(1.0, 5.0), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        let t = integer_ticks(0.0, 1000.0);
        assert!(t.len() <= 8 && t.iter().all(|x| x.fract() == 0.0), "{t:?}");
    }

    #[test]
    fn empty_charts_say_so() {
        let svg = Line::new("Price", |x| format!("{x}"), |y| format!("{y}")).render();
        assert!(svg.contains("No closed epochs yet") && balanced(&svg));
        let svg = Line::new("Price", |x| format!("{x}"), |y| format!("{y}"))
            .series("a", vec![(f64::NAN, 1.0)])
            .empty("Nothing")
            .render();
        assert!(svg.contains("Nothing") && balanced(&svg));
        let svg = Bars::new("Paid", vec![], |y| format!("{y}")).render();
        assert!(svg.contains("No closed epochs yet") && balanced(&svg));
        let svg = Bars::new("Paid", vec!["1".into()], |y| format!("{y}")).render();
        assert!(balanced(&svg));
    }

    #[test]
    fn line_chart_draws_series_reference_and_marker() {
        let svg = Line::new("Replicas", |x| format!("{x}"), |y| format!("{y:.1}"))
            .series("replicas", vec![(1.0, 0.5), (2.0, 2.5), (3.0, 3.0)])
            .series("other <b>", vec![(1.0, 1.0)])
            .reference("target", 3.0)
            .marker("today", 2.5)
            .integers()
            .area()
            .render();
        assert!(svg.starts_with("<svg class=\"chart\""), "{svg}");
        assert!(svg.contains("role=\"img\"") && svg.contains("<title>Replicas</title>"));
        assert!(svg.contains("stroke-dasharray=\"6 4\""));
        assert!(svg.contains(">today<"));
        assert!(svg.contains("other &lt;b&gt;"), "names are escaped");
        assert!(!svg.contains("<b>"));
        assert!(balanced(&svg), "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn single_points_and_flat_lines_render() {
        for points in [vec![(7.0, 3.0)], vec![(1.0, 0.0), (2.0, 0.0)]] {
            let svg = Line::new("x", |x| format!("{x}"), |y| format!("{y}"))
                .series("s", points)
                .integers()
                .render();
            assert!(balanced(&svg) && svg.contains("<circle"), "{svg}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
    }

    #[test]
    fn stacked_bars_stack() {
        let svg = Bars::new("Paid", vec!["1".into(), "2".into()], |y| format!("{y}"))
            .layer("hosting", vec![1.0, 2.0])
            .layer("fees", vec![0.5, f64::NAN])
            .layer("sponsored", vec![0.0])
            .render();
        assert!(balanced(&svg), "{svg}");
        // Three non-empty segments, plus the legend's three swatches.
        assert_eq!(svg.matches("<rect").count(), 3 + 3);
        assert!(!svg.contains("NaN"));
        // Many bars: labels thin out rather than overlap.
        let many: Vec<String> = (0..300).map(|i| i.to_string()).collect();
        let svg = Bars::new("Paid", many, |y| format!("{y}"))
            .layer("a", (0..300).map(f64::from).collect())
            .render();
        assert!(balanced(&svg));
        assert!(svg.matches("text-anchor=\"middle\"").count() < 40);
    }

    #[test]
    fn share_bar_renders() {
        let svg = share_bar(
            "Supply",
            &[("a".into(), 1.0), ("b".into(), 3.0), ("c".into(), 0.0)],
            |v| format!("{v}"),
        );
        assert!(svg.contains("class=\"share\"") && balanced(&svg));
        let svg = share_bar("Supply", &[], |v| format!("{v}"));
        assert!(balanced(&svg));
    }
}
