//! The order flow's HTML report in a real browser: Debian's `chromium`, headless, loads it
//! with no console message and takes a screenshot that is not blank. The same checks see a
//! console error and a blank page in control pages, so they can fail. Feature `browser`;
//! `scripts/services.sh` installs chromium. The browser is kept off the network: every
//! host name resolves to nothing, and its background services are off.
#![cfg(feature = "browser")]

use std::path::Path;
use std::process::Command;

use multi_dispatch_events::order_flow::simulate::Scenario;
use multi_dispatch_events::order_flow::{self, report};

/// What chromium printed while loading `page` and screenshotting it into `screenshot`.
fn load(page: &Path, screenshot: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1300,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "chromium did not start ({e}): `apt-get install chromium`, or run \
                 `scripts/services.sh start`"
            )
        });
    assert!(output.status.success(), "chromium failed: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The console messages among chromium's log lines (`...:CONSOLE:1] "text", source: ...`).
fn console_messages(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// How much of the screenshot is not white, and how many colours it has.
fn ink(screenshot: &Path) -> (f64, usize) {
    let file = std::io::BufReader::new(std::fs::File::open(screenshot).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buffer).unwrap();
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    let channels = frame.color_type.samples();
    let pixels: Vec<&[u8]> = buffer[..frame.buffer_size()].chunks(channels).collect();
    let inked = pixels.iter().filter(|p| p[..3] != [255, 255, 255]).count();
    let colours: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    (inked as f64 / pixels.len() as f64, colours.len())
}

#[test]
fn the_report_loads_with_no_console_message_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = order_flow::run_in_process(
        Scenario {
            orders: 5_000,
            seed: 7,
            run_id: 0,
        },
        |_, _| {},
    );
    let page = dir.path().join("report.html");
    std::fs::write(&page, report::html(&outcome, report::DEFAULT_THRESHOLD)).unwrap();
    let screenshot = dir.path().join("report.png");
    let log = load(&page, &screenshot);
    assert_eq!(console_messages(&log), Vec::<&str>::new());
    let (inked, colours) = ink(&screenshot);
    assert!(
        inked > 0.05,
        "only {:.1}% of the page is drawn",
        100.0 * inked
    );
    assert!(
        colours > 50,
        "only {colours} colours: the charts are missing"
    );
}

#[test]
fn the_checks_see_a_console_error_and_a_blank_page() {
    let dir = tempfile::tempdir().unwrap();
    let screenshot = dir.path().join("control.png");

    let noisy = dir.path().join("noisy.html");
    std::fs::write(
        &noisy,
        "<!DOCTYPE html><html><body><p>x</p><script>console.error('broken')</script></body></html>",
    )
    .unwrap();
    let messages = load(&noisy, &screenshot);
    let messages = console_messages(&messages);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("broken"), "{messages:?}");

    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    assert_eq!(
        console_messages(&load(&blank, &screenshot)),
        Vec::<&str>::new()
    );
    assert_eq!(ink(&screenshot), (0.0, 1));
}
