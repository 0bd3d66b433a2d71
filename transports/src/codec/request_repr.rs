//! Requests are read in a shape of our own, because tarpc 0.38 turns the relative deadline a
//! request carries into an `Instant` with `Instant::now() + deadline`, which panics when the
//! peer sends an extreme one (`u64::MAX` seconds, say), and its server then adds it to a
//! `SystemTime` and a timer wheel, which panic too. Here the deadline is read as the
//! `Duration` it is on the wire and clamped to the server's maximum before an `Instant` is
//! made. The shape is tarpc's, field for field and variant for variant, so every codec reads
//! exactly what a tarpc client writes.

use serde::Deserialize;
use std::time::{Duration, Instant};
use tarpc::{ClientMessage, Request, context, trace};

/// The deadline a request carries when it names none: tarpc's default.
const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

fn default_deadline() -> Duration {
    DEFAULT_DEADLINE
}

#[derive(Deserialize)]
#[serde(rename = "ClientMessage")]
pub(super) enum In<T> {
    Request(RequestIn<T>),
    Cancel {
        #[serde(default)]
        trace_context: trace::Context,
        request_id: u64,
    },
}

#[derive(Deserialize)]
#[serde(rename = "Request")]
pub(super) struct RequestIn<T> {
    context: ContextIn,
    id: u64,
    message: T,
}

#[derive(Deserialize)]
#[serde(rename = "Context")]
struct ContextIn {
    #[serde(default = "default_deadline")]
    deadline: Duration,
    trace_context: trace::Context,
}

impl<T> In<T> {
    /// The request as tarpc knows it, its deadline at most `max_deadline` from now.
    pub(super) fn into_message(self, max_deadline: Duration) -> ClientMessage<T> {
        match self {
            In::Request(request) => {
                let mut context = context::current();
                context.deadline = deadline_from_now(request.context.deadline, max_deadline);
                context.trace_context = request.context.trace_context;
                ClientMessage::Request(Request {
                    context,
                    id: request.id,
                    message: request.message,
                })
            }
            In::Cancel {
                trace_context,
                request_id,
            } => ClientMessage::Cancel {
                trace_context,
                request_id,
            },
        }
    }
}

/// `now + min(relative, max_deadline)`; never panics (a maximum so large that the sum
/// overflows falls back to the default deadline).
pub(crate) fn deadline_from_now(relative: Duration, max_deadline: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(relative.min(max_deadline))
        .unwrap_or(now + DEFAULT_DEADLINE)
}
