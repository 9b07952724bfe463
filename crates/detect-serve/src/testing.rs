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
