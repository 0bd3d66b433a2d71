//! A small HTTP client for the gateway tests (ureq): every answer whole, whatever its
//! status, with a bearer token when one is set.

use serde_json::Value;
use std::io::BufRead as _;
use std::time::Duration;

/// An answer: its status, media type, headers and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    /// The body as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("the body is JSON ({error}): {}", self.body))
    }

    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Checks this is a problem+json answer with `status` and `code`; returns its detail.
    #[track_caller]
    pub(crate) fn problem(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "status of {}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "media type of {}",
            self.body
        );
        let problem = self.json();
        assert_eq!(problem["status"], status, "{problem}");
        assert_eq!(problem["code"], code, "{problem}");
        assert_eq!(problem["type"], "about:blank", "{problem}");
        problem["detail"].as_str().unwrap_or_default().to_owned()
    }
}

/// A client of one gateway.
pub(crate) struct Http {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Http {
    /// A client of the gateway at `address` (`host:port`, plaintext).
    pub(crate) fn new(address: &str, token: Option<&str>) -> Http {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Http {
            base: format!("http://{address}"),
            token: token.map(str::to_owned),
            agent,
        }
    }

    /// The same gateway with another token (or none).
    pub(crate) fn with_token(&self, token: Option<&str>) -> Http {
        Http {
            base: self.base.clone(),
            token: token.map(str::to_owned),
            agent: self.agent.clone(),
        }
    }

    /// The URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(token) => request.header("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    /// `GET path`.
    #[track_caller]
    pub(crate) fn get(&self, path: &str) -> Answer {
        let request = self.auth(self.agent.get(self.url(path)));
        whole(request.call(), path)
    }

    /// `DELETE path`.
    #[track_caller]
    pub(crate) fn delete(&self, path: &str) -> Answer {
        let request = self.auth(self.agent.delete(self.url(path)));
        whole(request.call(), path)
    }

    /// `POST path` with `body` of `media` type.
    #[track_caller]
    pub(crate) fn post(&self, path: &str, media: &str, body: impl AsRef<[u8]>) -> Answer {
        let request = self
            .auth(self.agent.post(self.url(path)))
            .header("Content-Type", media);
        whole(request.send(body.as_ref()), path)
    }

    /// `POST path` with a JSON body.
    #[track_caller]
    pub(crate) fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.post(path, "application/json", body.to_string())
    }

    /// `GET path` as server-sent events: `(event, data)` pairs until the stream closes.
    #[track_caller]
    pub(crate) fn events(&self, path: &str) -> Vec<(String, Value)> {
        let request = self.auth(self.agent.get(self.url(path)));
        let response = request
            .call()
            .unwrap_or_else(|error| panic!("GET {path}: {error}"));
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        let media = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(media.starts_with("text/event-stream"), "{media}");
        let reader = std::io::BufReader::new(response.into_body().into_reader());
        let mut events = Vec::new();
        let mut name = String::new();
        for line in reader.lines() {
            let line = line.unwrap_or_else(|error| panic!("reading {path}: {error}"));
            if let Some(event) = line.strip_prefix("event: ") {
                name = event.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let data = serde_json::from_str(data)
                    .unwrap_or_else(|error| panic!("event data is JSON ({error}): {data}"));
                events.push((std::mem::take(&mut name), data));
            }
        }
        events
    }
}

#[track_caller]
fn whole(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>, path: &str) -> Answer {
    let mut response = result.unwrap_or_else(|error| panic!("{path}: {error}"));
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect::<Vec<_>>();
    let content_type = headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_default();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .unwrap_or_else(|error| panic!("{path}: reading the body: {error}"));
    Answer {
        status: response.status().as_u16(),
        content_type,
        headers,
        body,
    }
}
