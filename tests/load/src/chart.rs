//! The latency chart: one panel per route, latency (ms, log scale)
//! against percentile on a "nines" axis (50%, 90%, 99%, 99.9%), so the
//! tail the targets are about gets most of the width.

use crate::client::RouteStats;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// x of a percentile: the number of nines, -log10(1 - p).
fn nines(p: f64) -> f64 {
    -(1.0 - p.min(0.9999)).log10()
}

pub fn write(
    path: &Path,
    title: &str,
    routes: &BTreeMap<&'static str, RouteStats>,
) -> Result<(), String> {
    let routes: Vec<_> = routes
        .iter()
        .filter(|(_, s)| !s.latency_us.is_empty())
        .collect();
    if routes.is_empty() {
        return Ok(());
    }
    let cols = 3;
    let rows = routes.len().div_ceil(cols);
    let (w, h) = (1200u32, 60 + 260 * rows as u32);
    let root = SVGBackend::new(path, (w, h)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("chart {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root
        .titled(title, ("sans-serif", 20))
        .map_err(|e| err(&e))?;
    let panels = root.split_evenly((rows, cols));
    let max_ms = routes
        .iter()
        .map(|(_, s)| s.latency_us.max() as f64 / 1000.0)
        .fold(1.0, f64::max);
    for (panel, (route, stats)) in panels.iter().zip(&routes) {
        let h = &stats.latency_us;
        let points: Vec<(f64, f64)> = h
            .iter_quantiles(4)
            .map(|v| {
                (
                    nines(v.quantile_iterated_to()),
                    (v.value_iterated_to() as f64 / 1000.0).max(0.01),
                )
            })
            .filter(|(x, _)| *x <= 4.0)
            .collect();
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "{route}  (n={}, p99 {:.1} ms)",
                    h.len(),
                    h.value_at_quantile(0.99) as f64 / 1000.0
                ),
                ("sans-serif", 13),
            )
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..4f64, (0.05f64..max_ms * 1.5).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_labels(5)
            .x_label_formatter(&|x| match x.round() as i64 {
                0 => "0%".into(),
                1 => "90%".into(),
                2 => "99%".into(),
                3 => "99.9%".into(),
                _ => "99.99%".into(),
            })
            .y_desc("ms")
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(
                AreaSeries::new(points.iter().copied(), 0.05, BLUE.mix(0.15))
                    .border_style(BLUE.stroke_width(2)),
            )
            .map_err(|e| err(&e))?;
        // The target: 25 ms for every route that does not hash a password.
        chart
            .draw_series(LineSeries::new(
                [(0.0, 25.0), (4.0, 25.0)],
                RED.mix(0.6).stroke_width(1),
            ))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}
