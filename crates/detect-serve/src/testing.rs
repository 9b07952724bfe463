//! A real nats-server for tests (cargo feature `testing`): JetStream on a
//! free loopback port, a temporary store, detect serve's partition mapping;
//! stopped and its store removed when dropped.

use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `nats-server -c CONFIG` (the binary is `$NATS_SERVER`, else
/// `nats-server` on the PATH, else `/usr/sbin/nats-server`, where Debian's
/// package puts it).
///
/// ```no_run
/// let server = detect_serve::testing::NatsServer::start(4).expect("nats-server");
/// assert!(server.url().starts_with("nats://127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl NatsServer {
    /// Starts a server whose mapping has `partitions` partitions; returns
    /// once it accepts connections (at most 10 s).
    pub fn start(partitions: u32) -> io::Result<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let dir =
            std::env::temp_dir().join(format!("detect-serve-nats-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let listen = format!("127.0.0.1:{port}");
        let config =
            crate::server_config(partitions, &listen, &dir.join("store").to_string_lossy());
        let config_path = dir.join("nats.conf");
        std::fs::write(&config_path, config)?;
        let log = std::fs::File::create(dir.join("nats.log"))?;
        let child = Command::new(Self::binary())
            .arg("-c")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot start nats-server ({e}): install it (`apt-get install nats-server`) \
                         or set NATS_SERVER to its path"
                    ),
                )
            })?;
        let mut server = NatsServer {
            child,
            url: format!("nats://{listen}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                let log = std::fs::read_to_string(server.dir.join("nats.log")).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "nats-server exited ({status}): {log}"
                )));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("nats-server did not listen within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn binary() -> PathBuf {
        if let Some(path) = std::env::var_os("NATS_SERVER") {
            return path.into();
        }
        let on_path = std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).any(|d| d.join("nats-server").is_file()))
            .unwrap_or(false);
        if on_path {
            "nats-server".into()
        } else {
            "/usr/sbin/nats-server".into()
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The state of one consumer of the events stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerState {
    /// Its name (`detect-p<partition>-<claim>`).
    pub name: String,
    /// Stream sequence up to which every event of its partition is acknowledged.
    pub ack_floor: u64,
    /// Events of its partition not yet delivered.
    pub pending: u64,
    /// Events delivered and not yet acknowledged.
    pub ack_pending: u64,
}

impl NatsServer {
    fn block_on<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, crate::Error>>,
    ) -> Result<T, crate::Error> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| crate::Error::context("starting a runtime", e))?
            .block_on(work)
    }

    async fn jetstream(&self) -> Result<async_nats::jetstream::Context, crate::Error> {
        let client = async_nats::connect(&self.url)
            .await
            .map_err(|e| crate::Error::context("connecting", e))?;
        Ok(async_nats::jetstream::new(client))
    }

    /// Every message of `stream` (subject, body), in order; empty if the
    /// stream does not exist yet.
    pub fn messages(&self, stream: &str) -> Result<Vec<(String, Vec<u8>)>, crate::Error> {
        self.block_on(async {
            let js = self.jetstream().await?;
            let Ok(mut s) = js.get_stream(stream).await else {
                return Ok(Vec::new());
            };
            let info = s
                .info()
                .await
                .map_err(|e| crate::Error::context("stream info", e))?;
            let (first, last) = (info.state.first_sequence, info.state.last_sequence);
            let mut out = Vec::new();
            for seq in first.max(1)..=last {
                match s.get_raw_message(seq).await {
                    Ok(m) => out.push((m.subject.to_string(), m.payload.to_vec())),
                    Err(e) if e.to_string().contains("not found") => {}
                    Err(e) => return Err(crate::Error::context(format!("message {seq}"), e)),
                }
            }
            Ok(out)
        })
    }

    /// The consumers of the events stream, by name.
    pub fn consumers(&self) -> Result<Vec<ConsumerState>, crate::Error> {
        use futures_util::StreamExt;
        self.block_on(async {
            let js = self.jetstream().await?;
            let Ok(s) = js.get_stream(crate::EVENTS_STREAM).await else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            let mut list = s.consumers();
            while let Some(info) = list.next().await {
                let info = info.map_err(|e| crate::Error::context("listing consumers", e))?;
                out.push(ConsumerState {
                    name: info.name,
                    ack_floor: info.ack_floor.stream_sequence,
                    pending: info.num_pending,
                    ack_pending: info.num_ack_pending as u64,
                });
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    /// Sends a request and returns the first answer (2 s at most).
    pub fn request(&self, subject: &str, body: &str) -> Result<String, crate::Error> {
        self.block_on(async {
            let client = async_nats::connect(&self.url)
                .await
                .map_err(|e| crate::Error::context("connecting", e))?;
            let answer = tokio::time::timeout(
                Duration::from_secs(2),
                client.request(subject.to_string(), body.to_string().into()),
            )
            .await
            .map_err(|_| crate::Error::new(format!("no answer on {subject} within 2 s")))?
            .map_err(|e| crate::Error::context(format!("request on {subject}"), e))?;
            Ok(String::from_utf8_lossy(&answer.payload).into_owned())
        })
    }
}
