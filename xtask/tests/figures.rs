//! Checks on the SVG figures of the fast problems (issue 19): every colour that appears in a
//! legend swatch also draws data (a legend entry without drawn data shows its colour once),
//! no text says NaN or inf, and REPORT.md keeps every image in its own paragraph.
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

/// Colours of the drawn elements (polylines of ≥ 2 points, circles, rectangles, paths) and
/// how many elements use each; white, black and the legend border are left out.
fn colour_counts(svg: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for tag in svg.split('<').skip(1) {
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '>')
            .next()
            .unwrap_or("");
        let drawn = match name {
            "polyline" => attr(tag, "points").is_some_and(|p| p.split_whitespace().count() >= 2),
            "circle" | "rect" | "path" => true,
            _ => false,
        };
        if !drawn {
            continue;
        }
        let mut colours: Vec<String> = ["stroke", "fill"]
            .iter()
            .filter_map(|a| attr(tag, a))
            .filter(|c| c.starts_with('#'))
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| !matches!(c.as_str(), "#FFFFFF" | "#000000" | "#A0A0A0"))
            .collect();
        colours.dedup();
        for c in colours {
            *counts.entry(c).or_insert(0) += 1;
        }
    }
    counts
}

fn check_figures(dir: &Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("svg") {
            continue;
        }
        let svg = std::fs::read_to_string(&path).unwrap();
        if !svg.contains("stroke=\"#A0A0A0\"") {
            continue; // not a chart with a legend (e.g. a DOT drawing)
        }
        n += 1;
        for (colour, count) in colour_counts(&svg) {
            assert!(
                count >= 2,
                "{}: colour {colour} is drawn once: a legend entry without data",
                path.display()
            );
        }
        for text in svg.split("<text").skip(1) {
            let body = text
                .split('>')
                .nth(1)
                .unwrap_or("")
                .split('<')
                .next()
                .unwrap_or("");
            let t = body.trim();
            assert!(
                !(t == "NaN" || t.contains("NaN ") || t == "inf" || t == "-inf"),
                "{}: text {t:?}",
                path.display()
            );
        }
    }
    n
}

#[test]
fn figures_of_the_fast_problems() {
    let dir = tempfile::tempdir().unwrap();
    for task in ["p1", "p2", "p4", "p5", "p6", "p7"] {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args([task, "--quick", "--out"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{task}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let charts = check_figures(&dir.path().join("figures"));
    assert!(charts >= 15, "only {charts} charts checked");
    let report = std::fs::read_to_string(dir.path().join("REPORT.md")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    for (i, l) in lines.iter().enumerate().skip(1) {
        if l.starts_with("![") {
            assert_eq!(lines[i - 1].trim(), "", "image after a text line: {l}");
        }
    }
}

#[test]
fn the_check_sees_a_legend_entry_without_data() {
    // A swatch (one element of its colour) and no data of that colour.
    let svg = r##"<svg><rect x="0" fill="#FFFFFF"/><polyline points="1,1 2,2" stroke="#1F77B4"/>
        <polyline points="3,3 4,4" stroke="#1F77B4"/><polyline points="5,5 6,6" stroke="#D62728"/>
        <rect stroke="#A0A0A0"/></svg>"##;
    let counts = colour_counts(svg);
    assert_eq!(counts["#1F77B4"], 2);
    assert_eq!(counts["#D62728"], 1);
}
