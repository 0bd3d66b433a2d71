//! [`BiStream`]: one QUIC bidirectional stream, its two halves joined into one
//! `AsyncRead + AsyncWrite`, so the remote layer's frames, hello and tarpc run over it as over
//! a TCP socket.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long a dropped stream waits for the peer to acknowledge what was written to it before
/// its connection may close.
pub(crate) const LINGER: Duration = Duration::from_secs(10);

/// A bidirectional QUIC stream as one byte stream.
///
/// Dropping it finishes the sending half and, in a background task bounded by [`LINGER`],
/// waits until the peer has acknowledged every byte (or stopped the stream, or the
/// connection ended) before letting go of the connection: dropping the last handle of a
/// quinn connection closes it at once, which would discard answers still in flight.
pub(crate) struct BiStream {
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    /// Where the wait for the peer's acknowledgement runs once dropped: a tracker its
    /// owner can wait on before closing the connection, or the runtime when `None`.
    linger: Option<tokio_util::task::TaskTracker>,
}

impl BiStream {
    pub(crate) fn new(send: quinn::SendStream, recv: quinn::RecvStream) -> Self {
        BiStream {
            send,
            recv,
            linger: None,
        }
    }

    /// As [`BiStream::new`], lingering on `tracker` once dropped.
    pub(crate) fn lingering_on(
        send: quinn::SendStream,
        recv: quinn::RecvStream,
        tracker: tokio_util::task::TaskTracker,
    ) -> Self {
        BiStream {
            send,
            recv,
            linger: Some(tracker),
        }
    }
}

impl AsyncRead for BiStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.recv).poll_read(cx, buf)
    }
}

impl AsyncWrite for BiStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(Pin::new(&mut self.send), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(Pin::new(&mut self.send), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_shutdown(Pin::new(&mut self.send), cx)
    }
}

impl Drop for BiStream {
    fn drop(&mut self) {
        // An error means it was already finished or reset: nothing more to deliver.
        if self.send.finish().is_err() {
            return;
        }
        // The future holds its own handle on the connection, keeping it open until the peer
        // has every byte; then the handle goes and, if it was the last, the connection closes.
        let delivered = self.send.stopped();
        let linger = async move {
            let _ = tokio::time::timeout(LINGER, delivered).await;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            match &self.linger {
                Some(tracker) => runtime.spawn(tracker.track_future(linger)),
                None => runtime.spawn(linger),
            };
        }
    }
}
