//! SVG charts for the reports: lines whose spread is drawn as error bars or
//! as a band, and labelled points with error bars, on linear axes with a
//! legend on the right. The multi-task benchmark (test MSE against the task
//! correlation) and the RL mixer report (clicks against a content type's
//! share) both draw through [`Chart::to_svg`].
//!
//! Hand-written rather than the `plotters` crate, after trying it. With
//! `default-features = false` and `svg_backend`, `line_series`, `errorbar`
//! it builds here (plotters, plotters-backend, plotters-svg, num-traits; no
//! system fonts or libraries) and writes escaped `<text>` elements. But
//! without a font backend (`ttf` needs fontconfig and system fonts, which
//! the machines that write reports lack) it sizes text by a per-character
//! estimate, exactly what this module does for the legend, so the layout
//! is no better; and these charts need only lines, error bars, a band,
//! circles and text, about as many lines here as the builder calls they
//! would take there. Hand-written output is small, stable from run to run
//! (the SVGs are committed under `reports/`, so a diff shows a change of
//! data rather than of a dependency's rendering), and uses `<polyline>`
//! only for data lines, which lets the tests check that every series and
//! point is drawn.

use std::fmt::Write;

/// A line through `(x, y, spread)` points, drawn in x order.
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64, f64)>,
    pub spread: Spread,
}

/// How a line's spread (the half-height of its interval) is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// A vertical bar and a dot at every point.
    ErrorBars,
    /// A shaded band between `y − spread` and `y + spread`.
    Band,
}

/// A single labelled point with a vertical error bar.
pub struct Marker {
    pub label: String,
    pub x: f64,
    pub y: f64,
    pub err: f64,
}

/// Where the x axis has its ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XTicks {
    /// At every x value a line has (few values, e.g. the correlations a sweep ran).
    AtData,
    /// At round steps over the data's range.
    Round,
}

/// A chart: titles, what it draws, and how its x axis is ticked.
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_ticks: XTicks,
    pub lines: Vec<Line>,
    pub markers: Vec<Marker>,
}

const COLOURS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];
/// The plotting area's size and margins around it; the legend's width
/// follows its longest label.
const PLOT_W: f64 = 540.0;
const PLOT_H: f64 = 330.0;
const LEFT: f64 = 75.0;
const TOP: f64 = 45.0;
const BOTTOM: f64 = 55.0;
/// A sans-serif character's width at 12 px, roughly; sizes the legend.
const CHAR_W: f64 = 7.0;

/// A linear map from data to pixels.
struct Axis {
    lo: f64,
    hi: f64,
    /// Pixel positions of `lo` and `hi`.
    from: f64,
    to: f64,
}

impl Axis {
    fn px(&self, v: f64) -> f64 {
        self.from + (v - self.lo) / (self.hi - self.lo) * (self.to - self.from)
    }
}

impl Chart {
    pub fn to_svg(&self) -> String {
        let legend: Vec<String> = self
            .lines
            .iter()
            .map(|l| l.label.clone())
            .chain(self.markers.iter().map(|m| m.label.clone()))
            .collect();
        let longest = legend.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let right = 50.0 + CHAR_W * longest as f64;
        let (w, h) = (LEFT + PLOT_W + right, TOP + PLOT_H + BOTTOM);

        let xs: Vec<f64> = self.points().map(|(x, _, _)| x).collect();
        let ys: Vec<f64> = self.points().flat_map(|(_, y, e)| [y - e, y + e]).collect();
        let (x_lo, x_hi) = bounds(&xs);
        let (x_ticks, x_axis) = match self.x_ticks {
            XTicks::AtData => {
                let mut ticks = xs.clone();
                ticks.sort_by(f64::total_cmp);
                ticks.dedup();
                // A margin so that the first and last error bars clear the y axis.
                let pad = 0.04 * (x_hi - x_lo);
                (ticks, (x_lo - pad, x_hi + pad))
            }
            XTicks::Round => round_ticks(x_lo, x_hi),
        };
        let (y_ticks, (y_lo, y_hi)) = {
            let (lo, hi) = bounds(&ys);
            round_ticks(lo, hi)
        };
        let x = Axis {
            lo: x_axis.0,
            hi: x_axis.1,
            from: LEFT,
            to: LEFT + PLOT_W,
        };
        let y = Axis {
            lo: y_lo,
            hi: y_hi,
            from: TOP + PLOT_H,
            to: TOP,
        };

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let centre = LEFT + PLOT_W / 2.0;
        let _ = writeln!(
            svg,
            r#"<text x="{centre}" y="24" text-anchor="middle" font-size="14">{}</text>"#,
            escape(&self.title)
        );
        let x_decimals = decimals(&x_ticks);
        for &t in &x_ticks {
            let _ = writeln!(
                svg,
                r##"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}" stroke="#eee"/><text x="{0:.1}" y="{2}" text-anchor="middle">{3:.4$}</text>"##,
                x.px(t),
                TOP + PLOT_H + 5.0,
                TOP + PLOT_H + 18.0,
                t,
                x_decimals
            );
        }
        let y_decimals = decimals(&y_ticks);
        for &t in &y_ticks {
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#ddd"/><text x="{2}" y="{3:.1}" text-anchor="end">{4:.5$}</text>"##,
                y.px(t),
                LEFT + PLOT_W,
                LEFT - 6.0,
                y.px(t) + 4.0,
                t,
                y_decimals
            );
        }
        let _ = writeln!(
            svg,
            r#"<rect x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}" fill="none" stroke="black"/>"#
        );
        let _ = writeln!(
            svg,
            r#"<text x="{centre}" y="{}" text-anchor="middle">{}</text>"#,
            h - 15.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            svg,
            r#"<text transform="translate(18,{}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + PLOT_H / 2.0,
            escape(&self.y_label)
        );

        let legend_x = LEFT + PLOT_W + 15.0;
        let legend_y = |k: usize| TOP + 10.0 + 22.0 * k as f64;
        for (k, line) in self.lines.iter().enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            draw_line(&mut svg, line, colour, &x, &y);
            let ly = legend_y(k);
            let _ = writeln!(
                svg,
                r#"<line x1="{legend_x}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
                legend_x + 22.0,
                legend_x + 28.0,
                ly + 4.0,
                escape(&line.label)
            );
        }
        for (i, m) in self.markers.iter().enumerate() {
            let k = self.lines.len() + i;
            let colour = COLOURS[k % COLOURS.len()];
            let _ = writeln!(
                svg,
                r#"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="{colour}" stroke-width="2"/><circle cx="{0:.1}" cy="{3:.1}" r="5" fill="{colour}"/>"#,
                x.px(m.x),
                y.px(m.y - m.err),
                y.px(m.y + m.err),
                y.px(m.y)
            );
            let ly = legend_y(k);
            let _ = writeln!(
                svg,
                r#"<circle cx="{}" cy="{ly}" r="5" fill="{colour}"/><text x="{}" y="{}">{}</text>"#,
                legend_x + 11.0,
                legend_x + 28.0,
                ly + 4.0,
                escape(&m.label)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }

    /// Every drawn point with a finite position, lines' and markers'.
    fn points(&self) -> impl Iterator<Item = (f64, f64, f64)> + '_ {
        self.lines
            .iter()
            .flat_map(|l| l.points.iter().copied())
            .chain(self.markers.iter().map(|m| (m.x, m.y, m.err)))
            .filter(|(x, y, e)| x.is_finite() && y.is_finite() && e.is_finite())
    }
}

/// One data line: its band (if any), its polyline, its error bars and dots.
fn draw_line(svg: &mut String, line: &Line, colour: &str, x: &Axis, y: &Axis) {
    let mut points = line.points.clone();
    points.retain(|(a, b, e)| a.is_finite() && b.is_finite() && e.is_finite());
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let at = |(a, b): (f64, f64)| format!("{:.1},{:.1}", x.px(a), y.px(b));
    if line.spread == Spread::Band {
        let upper = points.iter().map(|&(a, b, e)| at((a, b + e)));
        let lower = points.iter().rev().map(|&(a, b, e)| at((a, b - e)));
        let _ = writeln!(
            svg,
            r#"<polygon points="{}" fill="{colour}" fill-opacity="0.2" stroke="none"/>"#,
            upper.chain(lower).collect::<Vec<_>>().join(" ")
        );
    }
    let path: Vec<String> = points.iter().map(|&(a, b, _)| at((a, b))).collect();
    let _ = writeln!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
        path.join(" ")
    );
    if line.spread == Spread::ErrorBars {
        for &(a, b, e) in &points {
            let _ = writeln!(
                svg,
                r#"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="{colour}"/><circle cx="{0:.1}" cy="{3:.1}" r="3" fill="{colour}"/>"#,
                x.px(a),
                y.px(b - e),
                y.px(b + e),
                y.px(b)
            );
        }
    }
}

/// The range of `v`, widened to a unit interval around a single value (or
/// to [0, 1] when there is none) so that every axis has a length.
fn bounds(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    }
}

/// A round tick step for a range: 1, 2 or 5 × 10ⁿ, giving about six ticks.
fn tick_step(range: f64) -> f64 {
    let raw = range / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Ticks at round steps covering `[lo, hi]`, and the axis range they span.
fn round_ticks(lo: f64, hi: f64) -> (Vec<f64>, (f64, f64)) {
    let step = tick_step(hi - lo);
    let (first, last) = ((lo / step).floor() as i64, (hi / step).ceil() as i64);
    let ticks = (first..=last).map(|i| i as f64 * step).collect();
    (ticks, (first as f64 * step, last as f64 * step))
}

/// Decimals that tell neighbouring ticks apart.
fn decimals(ticks: &[f64]) -> usize {
    let step = ticks
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    if step.is_finite() && step > 0.0 {
        // The nudge keeps a step of 0.09999… (1.0 − 0.9) at one decimal.
        (-(step.log10() + 1e-9).floor()).clamp(0.0, 9.0) as usize
    } else {
        1
    }
}

/// Text as SVG character data.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(lines: Vec<Line>, markers: Vec<Marker>) -> Chart {
        Chart {
            title: "MSE <vs> p & more".into(),
            x_label: "p".into(),
            y_label: "MSE".into(),
            x_ticks: XTicks::AtData,
            lines,
            markers,
        }
    }

    fn bars(label: &str, points: Vec<(f64, f64, f64)>) -> Line {
        Line {
            label: label.into(),
            points,
            spread: Spread::ErrorBars,
        }
    }

    /// The `(x, y)` pairs of every `<circle>` (data dots and legend dots).
    fn circles(svg: &str) -> Vec<(f64, f64)> {
        let attr = |s: &str, name: &str| -> f64 {
            let start = s.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            s[start..][..s[start..].find('"').unwrap()].parse().unwrap()
        };
        svg.split("<circle")
            .skip(1)
            .map(|c| (attr(c, "cx"), attr(c, "cy")))
            .collect()
    }

    #[test]
    fn one_polyline_per_line_and_a_bar_and_dot_per_point() {
        let svg = chart(
            vec![
                bars("a", vec![(1.0, 1.0, 0.1), (0.0, 2.0, 0.2), (0.5, 1.5, 0.0)]),
                bars("b", vec![(0.0, 1.5, 0.0), (1.0, 1.0, 0.3), (0.5, 0.9, 0.1)]),
            ],
            vec![],
        )
        .to_svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        // Each polyline has its line's three points, drawn in x order.
        for polyline in svg.split("<polyline points=\"").skip(1) {
            let points = &polyline[..polyline.find('"').unwrap()];
            let xs: Vec<f64> = points
                .split(' ')
                .map(|p| p.split(',').next().unwrap().parse().unwrap())
                .collect();
            assert_eq!(xs.len(), 3);
            assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
        }
        // Six data dots, every one inside the plotting area.
        let dots: Vec<_> = circles(&svg)
            .into_iter()
            .filter(|&(cx, _)| cx <= LEFT + PLOT_W)
            .collect();
        assert_eq!(dots.len(), 6);
        for (cx, cy) in dots {
            assert!((LEFT..=LEFT + PLOT_W).contains(&cx), "{cx}");
            assert!((TOP..=TOP + PLOT_H).contains(&cy), "{cy}");
        }
        // Ticks at the three x values.
        for tick in [">0.0<", ">0.5<", ">1.0<"] {
            assert!(svg.contains(tick), "{tick}");
        }
    }

    #[test]
    fn a_band_is_one_polygon_and_markers_are_drawn_and_listed() {
        let band = Line {
            label: "curve".into(),
            points: vec![(0.0, 1.0, 0.1), (0.5, 2.0, 0.1), (1.0, 0.5, 0.1)],
            spread: Spread::Band,
        };
        let markers = vec![
            Marker {
                label: "greedy <pCTR> & co".into(),
                x: 0.3,
                y: 1.5,
                err: 0.05,
            },
            Marker {
                label: "random".into(),
                x: 0.7,
                y: 1.2,
                err: 0.05,
            },
        ];
        let svg = Chart {
            x_ticks: XTicks::Round,
            ..chart(vec![band], markers)
        }
        .to_svg();
        assert_eq!(svg.matches("<polygon").count(), 1);
        assert_eq!(svg.matches("<polyline").count(), 1);
        // No dots on a band; each marker is a dot on the chart and one in the legend.
        assert_eq!(circles(&svg).len(), 4);
        assert!(svg.contains("greedy &lt;pCTR&gt; &amp; co"));
        assert!(svg.contains("MSE &lt;vs&gt; p &amp; more"));
        assert!(!svg.contains("<pCTR>"));
    }

    #[test]
    fn non_finite_points_are_left_out_instead_of_breaking_the_axes() {
        let svg = chart(
            vec![bars("a", vec![(0.0, 1.0, 0.1), (1.0, f64::NAN, 0.1)])],
            vec![],
        )
        .to_svg();
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert_eq!(circles(&svg).len(), 1);
    }

    #[test]
    fn ticks_are_round_and_labelled_with_enough_decimals() {
        assert_eq!(tick_step(1.0), 0.2);
        assert_eq!(tick_step(0.003), 0.0005);
        let (ticks, (lo, hi)) = round_ticks(0.33, 1.27);
        assert!(
            (lo - 0.2).abs() < 1e-12 && (hi - 1.4).abs() < 1e-12,
            "{lo} {hi}"
        );
        assert_eq!(ticks.len(), 7);
        assert_eq!(decimals(&ticks), 1);
        assert_eq!(decimals(&[0.0, 0.0005, 0.001]), 4);
        assert_eq!(decimals(&[0.0, 0.1, 0.5, 0.9, 1.0]), 1);
        assert_eq!(decimals(&[0.0, 10.0]), 0);
    }
}
