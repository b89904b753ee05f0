//! A small SVG chart: one line with a confidence band, plus labelled
//! points with error bars. Hand-written to keep the dependency tree small.

use std::fmt::Write;

/// A line `(x, y, ±err)` drawn with its error band.
pub struct Band {
    pub label: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// A labelled point with a vertical error bar.
pub struct Marker {
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub err: f64,
}

const W: f64 = 960.0;
const H: f64 = 520.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 350.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const COLOURS: [&str; 8] = [
    "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A "nice" tick step for a range (1, 2 or 5 × 10ⁿ).
fn tick_step(range: f64) -> f64 {
    let raw = range / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

pub fn svg_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    band: &Band,
    markers: &[Marker],
) -> String {
    let ys = band
        .points
        .iter()
        .flat_map(|&(_, y, e)| [y - e, y + e])
        .chain(markers.iter().flat_map(|m| [m.y - m.err, m.y + m.err]));
    let (mut y0, mut y1) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if !(y0.is_finite() && y1.is_finite()) || y1 <= y0 {
        (y0, y1) = (0.0, 1.0);
    }
    let step = tick_step(y1 - y0);
    y0 = (y0 / step).floor() * step;
    y1 = (y1 / step).ceil() * step;
    let (x0, x1) = (0.0, 1.0);
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let py = |y: f64| H - BOTTOM - (y - y0) / (y1 - y0) * (H - TOP - BOTTOM);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        escape(title)
    );
    // Grid and ticks.
    let mut y = y0;
    while y <= y1 + step * 1e-6 {
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{y:.2}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            py(y) + 4.0,
            py = py(y)
        );
        y += step;
    }
    for i in 0..=10 {
        let x = i as f64 / 10.0;
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{}" stroke="#eee"/><text x="{px:.1}" y="{}" text-anchor="middle">{x:.1}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 18.0,
            px = px(x)
        );
    }
    let _ = writeln!(
        s,
        r#"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="black"/>"#,
        W - LEFT - RIGHT,
        H - TOP - BOTTOM
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 18.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18,{}) rotate(-90)" text-anchor="middle">{}</text>"#,
        (TOP + H - BOTTOM) / 2.0,
        escape(y_label)
    );
    // The band, then its line.
    let upper: Vec<String> = band
        .points
        .iter()
        .map(|&(x, y, e)| format!("{:.1},{:.1}", px(x), py(y + e)))
        .collect();
    let lower: Vec<String> = band
        .points
        .iter()
        .rev()
        .map(|&(x, y, e)| format!("{:.1},{:.1}", px(x), py(y - e)))
        .collect();
    let _ = writeln!(
        s,
        r##"<polygon points="{} {}" fill="#1f77b4" fill-opacity="0.2" stroke="none"/>"##,
        upper.join(" "),
        lower.join(" ")
    );
    let line: Vec<String> = band
        .points
        .iter()
        .map(|&(x, y, _)| format!("{:.1},{:.1}", px(x), py(y)))
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="2"/>"##,
        line.join(" ")
    );
    // Legend on the right; markers with error bars.
    let lx = W - RIGHT + 15.0;
    let _ = writeln!(
        s,
        r##"<line x1="{lx}" x2="{}" y1="{TOP}" y2="{TOP}" stroke="#1f77b4" stroke-width="2"/><text x="{}" y="{}">{}</text>"##,
        lx + 18.0,
        lx + 24.0,
        TOP + 4.0,
        escape(&band.label)
    );
    for (i, m) in markers.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let (cx, cy) = (px(m.x), py(m.y));
        let _ = writeln!(
            s,
            r#"<line x1="{cx:.1}" x2="{cx:.1}" y1="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="2"/><circle cx="{cx:.1}" cy="{cy:.1}" r="5" fill="{c}"/>"#,
            py(m.y - m.err),
            py(m.y + m.err)
        );
        let ly = TOP + 24.0 * (i + 1) as f64;
        let _ = writeln!(
            s,
            r#"<circle cx="{}" cy="{ly}" r="5" fill="{c}"/><text x="{}" y="{}">{} ({:.2})</text>"#,
            lx + 9.0,
            lx + 24.0,
            ly + 4.0,
            escape(&m.label),
            m.y
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_point_and_escapes_labels() {
        let band = Band {
            label: "curve".into(),
            points: vec![(0.0, 1.0, 0.1), (0.5, 2.0, 0.1), (1.0, 0.5, 0.1)],
        };
        let markers = [Marker {
            label: "a <b>".into(),
            x: 0.3,
            y: 1.5,
            err: 0.05,
        }];
        let svg = svg_plot("t", "x", "y", &band, &markers);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt;"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(tick_step(1.0), 0.2);
    }
}
