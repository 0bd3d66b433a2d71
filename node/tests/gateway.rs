//! The HTTP gateway of a real daemon (`mltools node` with a `[gateway]` table), over real
//! sockets on 127.0.0.1: a CSV uploaded as a streamed body, a comparison started, followed
//! as server-sent events and collected, its plots and page served, predictions on JSON
//! rows and on CSV; and every kind of bad request answered as problem+json with the right
//! status while the gateway keeps serving.

mod support;

use serde_json::json;
use support::http::Http;
use support::{Daemon, gateway_daemon, shop_csv};

const TOKEN: &str = "gateway-test-token-0123456789";

/// Stops the daemon as a service manager would (its clients' keep-alive connections still
/// open) and checks it stopped cleanly, having never panicked.
#[track_caller]
fn stop_cleanly(mut daemon: Daemon) {
    daemon.terminate();
    let status = daemon.exit_within(support::WAIT).expect("the daemon exits");
    let log = daemon.remaining_log().join("\n");
    assert!(
        status.success(),
        "the daemon exits cleanly: {status}\n{log}"
    );
    assert!(!log.contains("panicked"), "the daemon panicked:\n{log}");
    assert!(
        !log.contains("still running after the grace period"),
        "the gateway's connections closed within the grace period:\n{log}"
    );
}

#[test]
fn upload_compare_follow_report_and_predict_over_http() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let daemon = gateway_daemon(dir.path(), &format!("token = \"{TOKEN}\""));
    let http = Http::new(&daemon.address("http"), Some(TOKEN));

    let health = http.with_token(None).get("/v1/health");
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(
        health.json()["services"],
        json!(["datasets", "models", "lab"])
    );

    // The CSV goes up as the request's body, streamed into an upload.
    let imported = http.post(
        "/v1/datasets?name=shop&target=label&categorical=colour",
        "text/csv",
        shop_csv(200),
    );
    assert_eq!(imported.status, 201, "{}", imported.body);
    let info = imported.json();
    assert_eq!(info["name"], "shop");
    assert_eq!(info["rows"], 200);
    let id = info["id"].as_u64().expect("an id");
    assert_eq!(
        imported.header("location"),
        Some(format!("/v1/datasets/{id}").as_str())
    );
    let listed = http.get("/v1/datasets").json();
    assert!(
        listed
            .as_array()
            .expect("a list")
            .iter()
            .any(|d| d["name"] == "shop")
    );

    // A page of rows, by column, as plain JSON values.
    let page = http.get("/v1/datasets/shop/rows?offset=3&limit=4&columns=colour,x1");
    assert_eq!(page.status, 200, "{}", page.body);
    let page = page.json();
    assert_eq!(page["rows"], 4);
    assert_eq!(page["offset"], 3);
    assert_eq!(page["columns"][0]["name"], "colour");
    assert_eq!(page["columns"][0]["kind"], "categorical");
    assert_eq!(
        page["columns"][0]["values"],
        json!(["red", "green", "blue", "red"])
    );
    // Row 3: x1 = (3 × 37 mod 100) / 10.
    assert_eq!(page["columns"][1]["values"][0], json!(1.1));
    let described = http.get(&format!("/v1/datasets/{id}/description"));
    assert_eq!(described.status, 200, "{}", described.body);
    assert_eq!(
        described.json()["columns"].as_array().map(Vec::len),
        Some(4)
    );

    // A new version from a second CSV body, appended.
    let appended = http.post(
        "/v1/datasets/shop/versions?mode=append",
        "text/csv",
        shop_csv(20),
    );
    assert_eq!(appended.status, 201, "{}", appended.body);
    assert_eq!(appended.json()["version"], 2);
    assert_eq!(appended.json()["rows"], 220);
    let versions = http.get("/v1/datasets/shop/versions").json();
    assert_eq!(versions.as_array().map(Vec::len), Some(2));

    // A comparison: 202 with the job at once.
    let started = http.post_json(
        "/v1/compare",
        &json!({
            "dataset": "shop",
            "models": ["logistic_regression", "knn_classifier"],
            "overrides": {"knn_classifier": {"k": 3}},
            "folds": 3,
        }),
    );
    assert_eq!(started.status, 202, "{}", started.body);
    let job = started.json()["job"].as_u64().expect("a job id");
    assert_eq!(
        started.header("location"),
        Some(format!("/v1/jobs/{job}").as_str())
    );

    // Its progress as server-sent events, ending with `done`.
    let events = http.events(&format!("/v1/jobs/{job}/events"));
    let (last, done) = events.last().expect("at least the done event");
    assert_eq!(last, "done", "{events:?}");
    assert_eq!(done["state"], "finished", "{done}");
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|(name, view)| name == "status" && view["done"] == false),
        "{events:?}"
    );

    let report = http.get(&format!("/v1/jobs/{job}/report"));
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    let entries = report["leaderboard"]["entries"]
        .as_array()
        .expect("entries");
    assert_eq!(entries.len(), 2, "{report}");
    assert_eq!(report["dataset"]["rows"], 220);
    let best = report["leaderboard"]["best"]
        .as_u64()
        .expect("a best model");
    let plots = report["plots"].as_array().expect("plots");
    assert!(!plots.is_empty(), "{report}");
    for plot in plots {
        let url = plot["url"].as_str().expect("a plot url");
        let image = http.get(url);
        assert_eq!(image.status, 200, "{url}: {}", image.body);
        assert_eq!(image.content_type, "image/svg+xml");
        assert!(image.body.contains("<svg"), "{url}");
    }
    let missing_plot = http.get(&format!("/v1/jobs/{job}/plots/{}", plots.len()));
    missing_plot.problem(404, "not_found");

    let page = http.get(&format!("/v1/reports/{job}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.content_type, "text/html");
    assert!(page.body.contains("<table") && page.body.contains("logistic_regression"));
    assert!(
        page.header("content-security-policy")
            .is_some_and(|policy| policy.contains("default-src 'none'"))
    );

    // Predictions on JSON rows and on CSV agree, as labels; a row far on each side of the
    // boundary gets its side.
    let rows = json!({"rows": [
        {"x1": 9.5, "x2": 9.0, "colour": "red"},
        {"x1": 0.5, "x2": 0.2, "colour": null},
    ]});
    let predicted = http.post_json(&format!("/v1/models/{best}/predict"), &rows);
    assert_eq!(predicted.status, 200, "{}", predicted.body);
    assert_eq!(predicted.json()["predictions"], json!(["yes", "no"]));
    assert_eq!(predicted.json()["target"], "label");
    let from_csv = http.post(
        &format!("/v1/models/{best}/predict"),
        "text/csv",
        "colour,x2,x1\nred,9.0,9.5\n,0.2,0.5\n",
    );
    assert_eq!(from_csv.status, 200, "{}", from_csv.body);
    assert_eq!(
        from_csv.json()["predictions"],
        predicted.json()["predictions"]
    );

    let model = http.get(&format!("/v1/models/{best}")).json();
    assert_eq!(model["id"], best);
    assert_eq!(model["target"], "label");
    assert!(
        http.get("/v1/models")
            .json()
            .as_array()
            .expect("models")
            .iter()
            .any(|m| m["id"] == best)
    );
    let jobs = http.get("/v1/jobs").json();
    assert_eq!(jobs[0]["job"], job, "{jobs}");
    assert_eq!(jobs[0]["dataset"], "shop", "{jobs}");

    let deleted = http.delete("/v1/datasets/shop");
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.json()["versions"], 2);
    http.get("/v1/datasets/shop").problem(404, "not_found");
    stop_cleanly(daemon);
}

#[test]
fn bad_requests_get_problem_json_with_the_right_status_and_the_gateway_keeps_serving() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let daemon = gateway_daemon(
        dir.path(),
        &format!(
            "token = \"{TOKEN}\"\nmax_body_bytes = 2048\nmax_upload_bytes = 8192\n\
             max_auth_failures = 3"
        ),
    );
    let http = Http::new(&daemon.address("http"), Some(TOKEN));
    let serving = || {
        let answer = http.get("/v1/health");
        assert_eq!(answer.status, 200, "the gateway still serves");
    };

    // Bodies: malformed, wrong types, a missing or unknown field, too large, wrong media.
    let detail = http
        .post("/v1/compare", "application/json", "{\"dataset\": ")
        .problem(400, "malformed_json");
    assert!(detail.contains("line 1"), "{detail}");
    let detail = http
        .post_json("/v1/compare", &json!({"dataset": 5}))
        .problem(422, "invalid_json");
    assert!(detail.contains("dataset"), "{detail}");
    let detail = http
        .post_json("/v1/compare", &json!({"folds": 3}))
        .problem(422, "invalid_json");
    assert!(detail.contains("missing field `dataset`"), "{detail}");
    let detail = http
        .post_json("/v1/compare", &json!({"dataset": "x", "foldz": 3}))
        .problem(422, "invalid_json");
    assert!(detail.contains("foldz"), "{detail}");
    let detail = http
        .post_json("/v1/compare", &json!({"dataset": " "}))
        .problem(400, "invalid_input");
    assert!(detail.contains("`dataset` is empty"), "{detail}");
    let huge = json!({"dataset": "x".repeat(10_000)});
    http.post_json("/v1/compare", &huge)
        .problem(413, "payload_too_large");
    http.post("/v1/compare", "text/plain", "dataset=x")
        .problem(415, "unsupported_media_type");
    serving();

    // Routes and ids that do not exist, a wrong method.
    http.get("/v1/nothing-here").problem(404, "no_route");
    http.get("/v1/jobs/987654").problem(404, "not_found");
    let detail = http.get("/v1/jobs/abc").problem(400, "invalid_input");
    assert!(detail.contains("`abc` is not a job id"), "{detail}");
    http.get("/v1/models/987654").problem(404, "not_found");
    http.get("/v1/datasets/no-such-set")
        .problem(404, "not_found");
    let wrong = http.delete("/v1/health");
    wrong.problem(405, "method_not_allowed");
    assert!(
        wrong
            .header("allow")
            .is_some_and(|allow| allow.contains("GET"))
    );
    serving();

    // Imports: never a server path; a bad built-in, a CSV too large or malformed, a name
    // taken.
    let detail = http
        .post_json("/v1/datasets", &json!({"source": {"file": "/etc/passwd"}}))
        .problem(422, "invalid_json");
    assert!(detail.contains("unknown variant `file`"), "{detail}");
    let detail = http
        .post_json("/v1/datasets", &json!({"source": {"builtin": "nope"}}))
        .problem(400, "invalid_input");
    assert!(detail.contains("iris"), "{detail}");
    http.post("/v1/datasets?name=big", "text/csv", shop_csv(1000))
        .problem(413, "payload_too_large");
    let detail = http
        .post("/v1/datasets?name=ragged", "text/csv", "a,b\n1,2\n3\n")
        .problem(400, "invalid_input");
    assert!(detail.contains("line 3"), "{detail}");
    let made = http.post(
        "/v1/datasets?name=small&target=label",
        "text/csv",
        shop_csv(30),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    http.post("/v1/datasets?name=small", "text/csv", shop_csv(30))
        .problem(409, "already_exists");
    assert_eq!(
        http.get("/v1/datasets").json().as_array().map(Vec::len),
        Some(1)
    );
    serving();

    // Predictions: a cell of the wrong type names its row and column.
    let started = http.post_json(
        "/v1/compare",
        &json!({"dataset": "small", "models": ["gaussian_nb"], "folds": 2}),
    );
    assert_eq!(started.status, 202, "{}", started.body);
    let job = started.json()["job"].as_u64().expect("a job");
    let report = http.get(&format!("/v1/jobs/{job}/report?wait_ms=20000"));
    assert_eq!(report.status, 200, "{}", report.body);
    let best = report.json()["leaderboard"]["best"]
        .as_u64()
        .expect("a best model");
    let detail = http
        .post_json(
            &format!("/v1/models/{best}/predict"),
            &json!({"rows": [{"x1": 1.0, "x2": "wide", "colour": "red"}]}),
        )
        .problem(422, "invalid_input");
    assert_eq!(
        detail,
        "rows[0].x2: `wide` is not a number (the column is numeric)"
    );

    // The OpenAPI document needs no token.
    let document = http.with_token(None).get("/v1/openapi.json");
    assert_eq!(document.status, 200);
    let document = document.json();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3."))
    );
    assert!(document["paths"]["/v1/compare"]["post"].is_object());

    // Tokens: missing, wrong, then the address is refused for a while.
    let anonymous = http.with_token(None).get("/v1/datasets");
    anonymous.problem(401, "unauthorized");
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Bearer realm=\"mltools\"")
    );
    let wrong = http.with_token(Some("not-the-token-at-all"));
    let detail = wrong.get("/v1/datasets").problem(401, "unauthorized");
    assert!(!detail.contains(TOKEN), "{detail}");
    wrong.get("/v1/jobs").problem(401, "unauthorized");
    let refused = http.get("/v1/datasets");
    refused.problem(429, "too_many_requests");
    assert!(refused.header("retry-after").is_some());
    serving();
    stop_cleanly(daemon);
}

#[test]
fn a_stalled_upload_is_cut_at_its_timeout_and_the_gateway_keeps_serving() {
    use std::io::{Read as _, Write as _};
    let dir = tempfile::tempdir().expect("a temp dir");
    let daemon = gateway_daemon(dir.path(), "upload_timeout_ms = 300");
    let address = daemon.address("http");
    // Headers announce 1,000 bytes; 20 arrive, then nothing.
    let mut stream = std::net::TcpStream::connect(&address).expect("connected");
    stream
        .set_read_timeout(Some(support::WAIT))
        .expect("a read timeout");
    stream
        .write_all(
            b"POST /v1/datasets?name=slow HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n\
              Content-Length: 1000\r\n\r\nx1,x2,colour,label\n1",
        )
        .expect("the head and a few bytes are sent");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"code\":\"timeout\""), "{answer}");
    let http = Http::new(&address, None);
    assert_eq!(http.get("/v1/health").status, 200);
    assert_eq!(http.get("/v1/datasets").json(), json!([]));
    stop_cleanly(daemon);
}

/// The gateway calls the services through their clients wherever the config places them:
/// here a node in this process that hosts nothing and reaches every service on a daemon
/// over TCP; an upload, a comparison and its report go through it.
#[test]
fn a_gateway_reaches_services_placed_on_another_node() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("services.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"services\"\nlisten = {{ tcp = \"127.0.0.1:0\" }}\n\
             [datasets]\ndata_dir = \"{data}\"\n[models]\ndata_dir = \"{data}\"\n",
            data = dir.path().join("node").display()
        ),
    )
    .expect("the config is written");
    let services = Daemon::start(&config);
    let tcp = services.address("tcp");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let front = mltools_node::NodeConfig::parse(&format!(
        "[node]\nname = \"front\"\nserve = []\n\
         [services.datasets]\nat = {{ tcp = \"{tcp}\" }}\n\
         [services.models]\nat = {{ tcp = \"{tcp}\" }}\n\
         [services.lab]\nat = {{ tcp = \"{tcp}\" }}\n\
         [gateway]\nlisten = \"127.0.0.1:0\"\n"
    ))
    .expect("a valid config");
    let front = runtime
        .block_on(mltools_node::NodeBuilder::from_config(front).start())
        .expect("the front node starts");
    let address = front.gateway_addr().expect("a gateway").to_string();
    let http = Http::new(&address, None);
    assert_eq!(
        http.get("/v1/health").json()["services"],
        json!(["datasets", "models", "lab"])
    );
    let imported = http.post(
        "/v1/datasets?name=shop&target=label",
        "text/csv",
        shop_csv(120),
    );
    assert_eq!(imported.status, 201, "{}", imported.body);
    let started = http.post_json(
        "/v1/compare",
        &json!({"dataset": "shop", "models": ["gaussian_nb"], "folds": 3}),
    );
    assert_eq!(started.status, 202, "{}", started.body);
    let job = started.json()["job"].as_u64().expect("a job");
    let events = http.events(&format!("/v1/jobs/{job}/events"));
    assert_eq!(events.last().map(|(name, _)| name.as_str()), Some("done"));
    let report = http.get(&format!("/v1/jobs/{job}/report"));
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.json()["dataset"]["rows"], 120);
    assert!(
        runtime.block_on(front.shutdown()),
        "the front node stops cleanly"
    );
    stop_cleanly(services);
}

/// Reads from `stream` until the peer closes it; the bytes read, or `None` if it stayed
/// open for `within`.
fn read_until_closed(
    stream: &mut std::net::TcpStream,
    within: std::time::Duration,
) -> Option<String> {
    use std::io::Read as _;
    stream
        .set_read_timeout(Some(within))
        .expect("a read timeout");
    let mut read = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(String::from_utf8_lossy(&read).into_owned()),
            Ok(n) => read.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(String::from_utf8_lossy(&read).into_owned());
            }
            Err(_) => return None,
        }
    }
}

#[test]
fn silent_idle_and_excess_connections_are_closed() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("a temp dir");
    let daemon = gateway_daemon(
        dir.path(),
        "header_timeout_ms = 2000\nmax_connections_per_ip = 3",
    );
    let address = daemon.address("http");
    let connect = || std::net::TcpStream::connect(&address).expect("connected");

    // A connection that never sends a request is closed after the header timeout.
    let mut silent = connect();
    assert_eq!(
        read_until_closed(&mut silent, support::WAIT),
        Some(String::new())
    );

    // So is one that goes quiet after a request, keep-alive notwithstanding.
    let mut idle = connect();
    idle.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("a request is sent");
    let answered = read_until_closed(&mut idle, support::WAIT).expect("closed when idle");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // One address holds at most 3 connections: a fourth is closed at once, well before
    // the header timeout would close it.
    let held: Vec<_> = (0..3).map(|_| connect()).collect();
    let mut excess = connect();
    assert_eq!(
        read_until_closed(&mut excess, std::time::Duration::from_millis(1500)),
        Some(String::new()),
        "the fourth connection is closed on arrival"
    );
    drop(held);
    // Once they are gone, the address is served again (the closes may take a moment to
    // reach the gateway: ask until it answers, within the bound).
    let http = Http::new(&address, None);
    let deadline = std::time::Instant::now() + support::WAIT;
    loop {
        let mut probe = connect();
        probe
            .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("a request is sent");
        let answer = read_until_closed(&mut probe, support::WAIT).unwrap_or_default();
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "served again: {answer}"
        );
    }
    assert_eq!(http.get("/v1/health").status, 200);
    stop_cleanly(daemon);
}
