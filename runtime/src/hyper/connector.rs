//! [`Connector`]: plain-TCP connections for hyper-util's legacy `Client`.

use super::GoroIo;
use crate::net::TcpStream;
use hyper::Uri;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Opens goro TCP connections for hyper-util's legacy `Client` (`http://` URIs; host names
/// are resolved on the blocking pool). Connections have `TCP_NODELAY` set, and their waits
/// name the `Connector::new()` line.
///
/// ```
/// use goro::hyper::{Connector, GoroExecutor, GoroTimer};
/// use hyper_util::client::legacy::Client;
/// # goro::Runtime::new().unwrap().block_on(async {
/// let client: Client<Connector, http_body_util::Empty<hyper::body::Bytes>> =
///     Client::builder(GoroExecutor::new())
///         .timer(GoroTimer::new())
///         .pool_timer(GoroTimer::new())
///         .build(Connector::new());
/// # drop(client);
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Connector {
    at: &'static Location<'static>,
}

impl Connector {
    /// A connector whose connections name the caller's line.
    #[track_caller]
    #[allow(clippy::new_without_default)] // `default()` could not see its caller
    pub fn new() -> Connector {
        Connector {
            at: Location::caller(),
        }
    }
}

/// Where to connect for `uri`: its host and port (80 when not given). Only `http` URIs.
fn host_port(uri: &Uri) -> io::Result<(String, u16)> {
    match uri.scheme_str() {
        Some("http") | None => {}
        Some(other) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "goro::hyper::Connector speaks plain TCP (http://), not {other}://; wrap it \
                     in a TLS connector for https"
                ),
            ))
        }
    }
    let host = uri.host().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("URI {uri} has no host"),
        )
    })?;
    // `[::1]` in a URI is `::1` to the resolver.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok((host, uri.port_u16().unwrap_or(80)))
}

impl tower_service::Service<Uri> for Connector {
    type Response = GoroIo<TcpStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<GoroIo<TcpStream>>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let at = self.at;
        Box::pin(async move {
            let (host, port) = host_port(&uri)?;
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(GoroIo::at(stream, at))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_from_uris() {
        let hp = |s: &str| host_port(&s.parse::<Uri>().unwrap());
        assert_eq!(
            hp("http://example.com/x").unwrap(),
            ("example.com".into(), 80)
        );
        assert_eq!(
            hp("http://127.0.0.1:8080").unwrap(),
            ("127.0.0.1".into(), 8080)
        );
        assert_eq!(hp("http://[::1]:9/").unwrap(), ("::1".into(), 9));
        let err = hp("https://example.com").unwrap_err();
        assert!(err.to_string().contains("TLS"), "{err}");
        assert_eq!(
            hp("/only/a/path").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
