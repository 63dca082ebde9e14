//! The HTML report (`wiretap run --html FILE`, `report.html` in `--out`): deterministic,
//! escaped, script-free, and loaded in a real browser.
//!
//! The browser tests run headless Chromium (`chromium --headless --dump-dom` and
//! `--screenshot`): the page's key elements must be in the DOM after load, the browser log must
//! hold no console message or uncaught error, and a PNG screenshot must be written. Without a
//! `chromium` binary they are skipped with a message, unless `CI` is set: there they fail
//! (`.ci/run` installs Debian's `chromium`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{tempdir, wiretap};

/// Runs a shipped scenario with `--html` and returns the page.
fn render(scenario: &str, dir: &Path) -> (PathBuf, String) {
    let file = dir.join(format!("{scenario}.html"));
    let out = wiretap([
        "run".as_ref(),
        scenario.as_ref(),
        "--seed".as_ref(),
        "1".as_ref(),
        "--html".as_ref(),
        file.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "wiretap run {scenario} --html failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = fs::read_to_string(&file).expect("read the html page");
    (file, page)
}

/// The Chromium binary, or `None` (with the skip message printed) when it is missing outside CI.
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        });
        if found.is_some() {
            return found;
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but no chromium binary is on PATH: .ci/run must install Debian's chromium"
    );
    eprintln!(
        "SKIPPED: no chromium on PATH; install it (apt-get install chromium) to run the browser \
         tests of the HTML report"
    );
    None
}

/// What one headless Chromium load of `page` produced.
struct Load {
    dom: String,
    log: String,
}

fn headless(chrome: &Path, profile: &Path, extra: &[&str], page: &Path) -> Load {
    let out = Command::new(chrome)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("start chromium");
    assert!(
        out.status.success(),
        "chromium failed on {}: {}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Load {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        log: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Console messages and uncaught errors in a Chromium log (`INFO:CONSOLE(...)` lines carry
/// every console message the page printed, errors included).
fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

/// Loads `page` in Chromium: its DOM after load, no console output, and a screenshot.
fn load_in_browser(chrome: &Path, dir: &Path, page: &Path) -> String {
    let name = page.file_stem().unwrap().to_string_lossy().into_owned();
    let load = headless(
        chrome,
        &dir.join(format!("profile-{name}")),
        &["--dump-dom"],
        page,
    );
    assert!(
        console_errors(&load.log).is_empty(),
        "console errors loading {}: {:?}",
        page.display(),
        console_errors(&load.log)
    );
    let png = dir.join(format!("{name}.png"));
    let shot = headless(
        chrome,
        &dir.join(format!("profile-{name}-shot")),
        &[
            "--window-size=1280,2400",
            &format!("--screenshot={}", png.display()),
        ],
        page,
    );
    assert!(
        console_errors(&shot.log).is_empty(),
        "{:?}",
        console_errors(&shot.log)
    );
    let bytes = fs::read(&png).expect("chromium wrote the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 20_000,
        "screenshot {} is not a PNG of a rendered page ({} bytes)",
        png.display(),
        bytes.len()
    );
    load.dom
}

/// The elements every page has, in the DOM Chromium built.
fn assert_key_elements(dom: &str, scenario: &str) {
    for needle in [
        &format!("<code>{scenario}</code>") as &str,
        "<h1>",
        "id=\"topology\"",
        "id=\"topology-svg\"",
        "id=\"messages\"",
        "id=\"messages-svg\"",
        "id=\"contacts\"",
        "id=\"true-graph-svg\"",
        "id=\"reconstructed-graph-svg\"",
        "id=\"metadata\"",
        "<th scope=\"col\">protocol</th>",
        "<figcaption>",
        "role=\"img\"",
    ] {
        assert!(
            dom.contains(needle),
            "{scenario}: `{needle}` missing from the DOM"
        );
    }
    // Every SVG has an accessible name and a title.
    let svgs = dom.matches("<svg").count();
    assert!(svgs >= 4, "{scenario}: {svgs} svgs");
    assert!(dom.matches("aria-label=").count() >= svgs);
    assert_eq!(
        dom.matches("<title id=").count(),
        svgs,
        "{scenario}: an svg without a title"
    );
}

#[test]
fn html_pages_load_in_headless_chromium_with_their_key_elements() {
    let dir = tempdir("html-browser");
    let (small, small_page) = render("small-lab", &dir);
    let (theft, theft_page) = render("harvest-now-decrypt-later", &dir);
    assert!(theft_page.contains("id=\"theft-svg\""));
    assert!(
        !small_page.contains("id=\"theft-svg\""),
        "no thefts, no timeline"
    );
    let Some(chrome) = chromium() else {
        return;
    };
    let dom = load_in_browser(&chrome, &dir, &small);
    assert_key_elements(&dom, "small-lab");
    // small-lab: one carrier whose core and mediation node the adversary holds.
    assert!(dom.contains("lab core router (tapped)") && dom.contains("lab mediation node"));
    let dom = load_in_browser(&chrome, &dir, &theft);
    assert_key_elements(&dom, "harvest-now-decrypt-later");
    assert!(dom.contains("id=\"key-theft\"") && dom.contains("id=\"theft-svg\""));
}

#[test]
fn the_console_check_catches_a_page_that_throws() {
    // The check above is only worth something if it sees errors: a page with a failing script
    // must trip it.
    let Some(chrome) = chromium() else {
        return;
    };
    let dir = tempdir("html-console");
    let page = dir.join("throws.html");
    fs::write(
        &page,
        "<!DOCTYPE html><html><body><script>throw new Error('boom')</script></body></html>",
    )
    .unwrap();
    let load = headless(&chrome, &dir.join("profile"), &["--dump-dom"], &page);
    assert!(
        !console_errors(&load.log).is_empty(),
        "an uncaught error went unnoticed; log:\n{}",
        load.log
    );
}

#[test]
fn the_page_is_deterministic_script_free_and_escapes_scenario_text() {
    let dir = tempdir("html-escape");
    let scenario = dir.join("hostile.toml");
    let text = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/small-lab.toml"))
        .unwrap()
        .replace(
            "description = \"One carrier",
            "description = \"<script>alert('x')</script> & <b>bold</b> One carrier",
        );
    fs::write(&scenario, text).unwrap();
    let file = |n: &str| dir.join(n);
    for name in ["a.html", "b.html"] {
        let out = wiretap([
            "run".as_ref(),
            scenario.as_os_str(),
            "--html".as_ref(),
            file(name).as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let a = fs::read_to_string(file("a.html")).unwrap();
    assert_eq!(
        a,
        fs::read_to_string(file("b.html")).unwrap(),
        "same seed, same bytes"
    );
    assert!(
        !a.to_lowercase().contains("<script"),
        "the page has no script"
    );
    assert!(
        a.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;")
    );
    // Nothing is fetched: no external URL in any src or href.
    for attr in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!a.contains(attr), "the page fetches something: {attr}");
    }
    // --out writes the same page as report.html.
    let out_dir = dir.join("out");
    let out = wiretap([
        "run".as_ref(),
        scenario.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert!(out.status.success());
    assert_eq!(fs::read_to_string(out_dir.join("report.html")).unwrap(), a);
}

/// Issue 10: `wiretap sweep` writes sweep.html with its charts inline; it loads in headless
/// Chromium with no console output, with its sections, one accessible SVG per chart, and the
/// trade-off plots of a sweep with a cost metric.
#[test]
fn sweep_page_loads_in_headless_chromium_with_its_charts() {
    let dir = tempdir("html-sweep");
    let file = dir.join("pad.toml");
    // small-lab with padding off and on, 2 seeds, a leakage and a cost metric.
    fs::write(
        &file,
        r#"[sweep]
name = "pad"
scenario = "small-lab"
seeds = [1, 2]
metrics = ["metadata.sizes.bucket_accuracy", "adversary.contacts.recall", "costs.apps.chat-xx.bytes_overhead"]
[grid]
"app.chat-xx.padding" = ["none", "padme", "block"]
"#,
    )
    .unwrap();
    let out_dir = dir.join("out");
    let out = wiretap([
        "sweep".as_ref(),
        file.as_os_str(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page_path = out_dir.join("sweep.html");
    let page = fs::read_to_string(&page_path).unwrap();
    // 3 metrics x 1 key, then 2 trade-offs against the cost.
    let charts = fs::read_dir(out_dir.join("charts")).unwrap().count();
    assert_eq!(charts, 5);
    assert!(!page.to_lowercase().contains("<script"));
    for attr in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!page.contains(attr), "the page fetches something: {attr}");
    }
    let Some(chrome) = chromium() else {
        return;
    };
    let dom = load_in_browser(&chrome, &dir, &page_path);
    for needle in [
        "<h1>",
        "<code>pad</code>",
        "id=\"grid\"",
        "id=\"trade-offs\"",
        "id=\"metric-0\"",
        "id=\"metric-2\"",
        "<figcaption>",
        "role=\"img\"",
        "<th scope=\"col\">point</th>",
        "class=\"point\"",
    ] {
        assert!(
            dom.contains(needle),
            "`{needle}` missing from the sweep page's DOM"
        );
    }
    let svgs = dom.matches("<svg").count();
    assert_eq!(svgs, charts, "one inline svg per chart");
    assert_eq!(
        dom.matches("<title id=").count(),
        svgs,
        "an svg without a title"
    );
    assert!(dom.matches("aria-label=").count() >= svgs);
}
