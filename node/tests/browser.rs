//! The compare report in a real browser: headless chromium, driven by chromedriver, opens
//! the page a daemon's HTTP gateway serves at `/v1/reports/{job}` and checks what a reader would see — the
//! title, one leaderboard row per model, every plot drawn at a visible size, no console
//! error — and keeps a screenshot.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use support::browser::Browser;
use support::gateway_daemon;
use support::http::Http;

#[test]
fn the_report_renders_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("a temp dir for the test");
    // A browser sends no bearer token on its own: this gateway, on loopback, has none.
    let daemon = gateway_daemon(dir.path(), "");
    let http = Http::new(&daemon.address("http"), None);
    let imported = http.post_json("/v1/datasets", &json!({"source": {"builtin": "iris"}}));
    assert_eq!(imported.status, 201, "{}", imported.body);
    let started = http.post_json("/v1/compare", &json!({"dataset": "iris"}));
    assert_eq!(started.status, 202, "{}", started.body);
    let job = started.json()["job"].as_u64().expect("a job id");
    let report = http.get(&format!("/v1/jobs/{job}/report?wait_ms=25000"));
    assert_eq!(report.status, 200, "{}", report.body);
    let expected_rows = report.json()["leaderboard"]["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("the report has leaderboard entries: {}", report.body))
        .len();
    assert!(expected_rows > 1, "iris is compared over several models");

    let browser = Browser::start();
    let url = http.url(&format!("/v1/reports/{job}"));
    let png = check_report_page(&browser, &url, expected_rows);

    let screenshot = dir.path().join("report.png");
    std::fs::write(&screenshot, &png).expect("the screenshot is written to the temp dir");
    let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    std::fs::copy(&screenshot, &kept).expect("the screenshot is copied to CARGO_TARGET_TMPDIR");
    println!("screenshot of the report: {}", kept.display());
}

/// What the page's DOM says about the report, gathered in one script.
const SURVEY: &str = r#"
const title = section => section?.querySelector('h2')?.textContent ?? '(outside any section)';
const rows = [...document.querySelectorAll('table tr')].filter(row => row.querySelector('td'));
const sections = [...document.querySelectorAll('section')];
const shapes = 'path, line, polyline, polygon, rect, circle, ellipse, text';
return {
  title: document.title,
  page_width: document.documentElement.scrollWidth,
  window_width: document.documentElement.clientWidth,
  board: (board => ({ width: board?.scrollWidth, shown: board?.clientWidth }))(document.querySelector('div.board')),
  ranks: rows.map(row => row.cells[0].textContent),
  sections: sections.map(section => ({
    title: title(section),
    svgs: section.querySelectorAll(':scope > svg').length,
  })),
  svgs: [...document.querySelectorAll('svg')].map(svg => {
    const box = svg.getBoundingClientRect();
    // Drawn: a shape the layout gave a size, other than a background covering the plot.
    const drawn = [...svg.querySelectorAll(shapes)].filter(shape => {
      const r = shape.getBoundingClientRect();
      const background = shape.tagName === 'rect' && r.width >= box.width - 1 && r.height >= box.height - 1;
      return (r.width > 0 || r.height > 0) && !background;
    });
    return { title: title(svg.closest('section')), width: box.width, height: box.height, drawn: drawn.length };
  }),
};
"#;

/// Opens the report page at `url` (a file, or a server's `/v1/reports/{job}`) and checks
/// what a reader would: `iris` in the title, `expected_rows` leaderboard rows, a page as
/// wide as the window at most, each plot
/// section holding one SVG that has a visible size and draws something, and a console free
/// of errors. Returns a PNG screenshot of the page.
fn check_report_page(browser: &Browser, url: &str, expected_rows: usize) -> Vec<u8> {
    browser.navigate(url);
    let survey = browser.execute(SURVEY, &[]);

    let title = survey["title"].as_str().unwrap_or_default();
    assert!(
        title.contains("iris"),
        "the page's title names iris: `{title}`"
    );

    let ranks = list(&survey, "ranks");
    assert_eq!(
        ranks.len(),
        expected_rows,
        "one leaderboard row per model; the ranks shown: {ranks:?}"
    );

    let (page, window) = (
        survey["page_width"].as_u64(),
        survey["window_width"].as_u64(),
    );
    assert!(
        page.is_some() && page <= window,
        "the page fits the window's width, with no sideways scrolling: {page:?} > {window:?}"
    );

    let board = (
        survey["board"]["width"].as_u64(),
        survey["board"]["shown"].as_u64(),
    );
    assert!(
        board.0.is_some() && board.0 <= board.1,
        "the leaderboard table, every metric a column, fits its box with no sideways \
         scrolling: {board:?}"
    );

    let sections = list(&survey, "sections");
    assert!(!sections.is_empty(), "the report has plot sections");
    for section in sections {
        assert_eq!(
            section["svgs"].as_u64(),
            Some(1),
            "the section `{}` holds one plot, drawn as SVG",
            text(&section["title"])
        );
    }
    let svgs = list(&survey, "svgs");
    assert_eq!(svgs.len(), sections.len(), "as many SVGs as plot sections");
    for svg in svgs {
        let (width, height) = (svg["width"].as_f64(), svg["height"].as_f64());
        assert!(
            width > Some(0.0) && height > Some(0.0),
            "the plot `{}` has a visible size: {width:?} × {height:?}",
            text(&svg["title"])
        );
        assert!(
            svg["drawn"].as_u64() > Some(0),
            "the plot `{}` draws something",
            text(&svg["title"])
        );
    }

    let errors = browser.console_errors();
    assert!(errors.is_empty(), "the console shows no error: {errors:#?}");

    let png = browser.screenshot_png();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is a PNG: it starts {:?}",
        &png[..png.len().min(8)]
    );
    assert!(
        png.len() > 8 * 1024,
        "the screenshot shows more than a blank page: {} bytes",
        png.len()
    );
    png
}

/// The list under `key` in the survey.
fn list<'a>(survey: &'a Value, key: &str) -> &'a Vec<Value> {
    survey[key]
        .as_array()
        .unwrap_or_else(|| panic!("the survey has a list `{key}`: {survey}"))
}

/// A string of the survey, for messages.
fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("(not a string)")
}
