//! One conditional GET into a file, with limits, retries and a pin.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{
    CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::StatusText;
use crate::{Error, Result};

/// Redirects followed before giving up (a loop would otherwise spin).
const MAX_REDIRECTS: usize = 5;

/// Time limits, retries and the default size cap of a [`Client`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Establishing the connection (TCP and TLS).
    pub connect: Duration,
    /// The longest wait for the next byte, headers or body: a server that hangs fails here.
    pub stall: Duration,
    /// One whole attempt, headers and body: a server that trickles forever fails here.
    pub total: Duration,
    /// Retries after a transient failure (5xx, 429, timeouts, lost connections).
    pub retries: u32,
    /// The first wait before a retry; each further one doubles it.
    pub backoff: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connect: Duration::from_secs(15),
            stall: Duration::from_secs(60),
            total: Duration::from_secs(900),
            retries: 3,
            backoff: Duration::from_secs(2),
        }
    }
}

/// What a server said about a file's version, sent back on the next request so an unchanged
/// file is not downloaded again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The `ETag` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The `Last-Modified` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Validators {
    fn from_headers(headers: &HeaderMap) -> Validators {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Validators {
            etag: text(ETAG),
            last_modified: text(LAST_MODIFIED),
        }
    }

    fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// One file to download.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Where from (http or https).
    pub url: &'a str,
    /// What the server said last time: sent as `If-None-Match` / `If-Modified-Since`.
    pub validators: Option<&'a Validators>,
    /// The size cap in bytes.
    pub max_bytes: u64,
    /// The expected sha256 (hex) of the file, checked before it is used.
    pub sha256: Option<&'a str>,
}

/// What a download gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: the copy from last time is current; nothing was written.
    NotModified,
    /// A new file was written.
    Downloaded {
        /// Its size.
        bytes: u64,
        /// Its sha256, hex.
        sha256: String,
        /// What to send next time.
        validators: Validators,
    },
}

/// Progress of one [`Client::fetch`], for a progress bar or a log line.
#[derive(Debug)]
pub enum Progress<'a> {
    /// The server answered 200; `total` is its Content-Length.
    Started {
        /// The announced size.
        total: Option<u64>,
    },
    /// More bytes arrived.
    Bytes(u64),
    /// An attempt failed transiently; the next starts after `delay`.
    Retrying {
        /// Why the attempt failed.
        error: &'a Error,
        /// The wait before the next attempt.
        delay: Duration,
    },
}

/// An HTTP client for list downloads (rustls with the webpki roots, HTTP/1.1).
pub struct Client {
    http: reqwest::Client,
    limits: Limits,
}

/// The error a redirect policy returns; found again in the request error's chain.
#[derive(Debug)]
struct SchemeChange(String);

impl std::fmt::Display for SchemeChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect to another scheme: {}", self.0)
    }
}

impl std::error::Error for SchemeChange {}

impl Client {
    /// A client with these limits, trusting the webpki roots and each PEM certificate of
    /// `extra_roots` (a council's own mirror, or a test's CA).
    pub fn new(limits: Limits, extra_roots: &[Vec<u8>]) -> Result<Client> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let from = attempt.previous().last().map(|u| u.scheme().to_string());
            if from.as_deref().is_some_and(|s| s != attempt.url().scheme()) {
                let to = attempt.url().to_string();
                attempt.error(SchemeChange(to))
            } else if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(limits.connect)
            .redirect(policy)
            .user_agent(concat!(
                "hedge/",
                env!("CARGO_PKG_VERSION"),
                " (lists update)"
            ));
        for pem in extra_roots {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| Error::Setup(format!("a CA certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().map_err(|e| Error::Setup(chain(&e)))?;
        Ok(Client { http, limits })
    }

    /// Downloads `req.url` into `dest` (created or truncated), retrying transient failures
    /// with exponential backoff. On an error `dest` may hold a partial file: write it in a
    /// scratch folder and move it into place only on success.
    pub async fn fetch(
        &self,
        req: &Request<'_>,
        dest: &Path,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Fetched> {
        let mut delay = self.limits.backoff;
        let mut retries_left = self.limits.retries;
        loop {
            let attempt =
                tokio::time::timeout(self.limits.total, self.attempt(req, dest, progress)).await;
            let error = match attempt {
                Ok(Ok(fetched)) => return Ok(fetched),
                Ok(Err(e)) => e,
                Err(_) => Error::TimedOut {
                    url: req.url.to_string(),
                    secs: self.limits.total.as_secs(),
                },
            };
            if retries_left == 0 || !error.is_transient() {
                return Err(error);
            }
            retries_left -= 1;
            progress(Progress::Retrying {
                error: &error,
                delay,
            });
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(300));
        }
    }

    async fn attempt(
        &self,
        req: &Request<'_>,
        dest: &Path,
        progress: &mut dyn FnMut(Progress<'_>),
    ) -> Result<Fetched> {
        let url = req.url;
        let stalled = || Error::Stalled {
            url: url.to_string(),
            secs: self.limits.stall.as_secs(),
        };
        let mut get = self.http.get(url);
        let conditional = req.validators.filter(|v| !v.is_empty());
        if let Some(v) = conditional {
            if let Some(etag) = &v.etag {
                get = get.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = &v.last_modified {
                get = get.header(IF_MODIFIED_SINCE, date);
            }
        }
        let mut response = tokio::time::timeout(self.limits.stall, get.send())
            .await
            .map_err(|_| stalled())?
            .map_err(|e| request_error(url, &e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED && conditional.is_some() {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(Error::Status {
                url: url.to_string(),
                status: StatusText(status.as_u16()),
            });
        }
        if let Some(content_type) = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        {
            let mime = content_type.split(';').next().unwrap_or("").trim();
            if mime.eq_ignore_ascii_case("text/html")
                || mime.eq_ignore_ascii_case("application/xhtml+xml")
            {
                return Err(Error::WebPage {
                    url: url.to_string(),
                    content_type: content_type.to_string(),
                });
            }
        }
        let too_large = |declared| Error::TooLarge {
            url: url.to_string(),
            limit: req.max_bytes,
            declared,
        };
        let declared = response.content_length();
        if declared.is_some_and(|n| n > req.max_bytes) {
            return Err(too_large(declared));
        }
        progress(Progress::Started { total: declared });
        let validators = Validators::from_headers(response.headers());
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| Error::io(dest, e))?;
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        loop {
            let chunk = tokio::time::timeout(self.limits.stall, response.chunk())
                .await
                .map_err(|_| stalled())?
                .map_err(|e| request_error(url, &e))?;
            let Some(chunk) = chunk else { break };
            bytes += chunk.len() as u64;
            if bytes > req.max_bytes {
                return Err(too_large(declared));
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::io(dest, e))?;
            progress(Progress::Bytes(chunk.len() as u64));
        }
        file.sync_all().await.map_err(|e| Error::io(dest, e))?;
        let sha256 = format!("{:x}", hasher.finalize());
        if let Some(expected) = req.sha256
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            return Err(Error::Pin {
                url: url.to_string(),
                expected: expected.to_string(),
                got: sha256,
            });
        }
        Ok(Fetched::Downloaded {
            bytes,
            sha256,
            validators,
        })
    }
}

/// A request error, with a refused redirect told apart from a transport failure.
fn request_error(url: &str, error: &reqwest::Error) -> Error {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(SchemeChange(to)) = e.downcast_ref::<SchemeChange>() {
            return Error::SchemeRedirect {
                url: url.to_string(),
                to: to.clone(),
            };
        }
        cause = e.source();
    }
    Error::Transport {
        url: url.to_string(),
        message: chain(error),
    }
}

/// An error and its causes on one line, without the URL reqwest repeats in its own message.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = e.source();
    }
    parts.join(": ")
}
