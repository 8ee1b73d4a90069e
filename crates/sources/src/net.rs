//! Live feeds over the network: a TCP client (as AIS-catcher, AISHub or a coastal network serve
//! NMEA) that reconnects with exponential backoff, and a UDP listener.
//!
//! Both hand out [`Event`]s. Data arrives in chunks of any size; a connection that drops in the
//! middle of a line is reported with the number of bytes of the unfinished line, so the caller
//! can end that line (a decoder then counts it as a reject) instead of gluing it to the first
//! line of the next connection. Loopback only in tests; no TLS (put a tunnel in front).

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// What a feed produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes received (any split: lines may span chunks).
    Data(Vec<u8>),
    /// Connected (or reconnected) to the server.
    Connected(SocketAddr),
    /// The connection ended; `partial_line_bytes` bytes after the last newline were cut off.
    Disconnected {
        /// Length of the unfinished last line.
        partial_line_bytes: usize,
        /// Why, as text.
        reason: String,
    },
    /// Waiting before the next connection attempt.
    Backoff(Duration),
    /// Nothing arrived within [`Backoff::poll`]; the connection is kept (a quiet feed is not
    /// a dead one: dropping it would lose what the server writes while we reconnect).
    Idle,
}

/// Reconnection policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// First wait after a failure (default 1 s).
    pub initial: Duration,
    /// Longest wait (default 60 s).
    pub max: Duration,
    /// Connect timeout (default 30 s).
    pub timeout: Duration,
    /// Longest wait for data before [`TcpFeed::next_event`] returns [`Event::Idle`], so the
    /// caller can check for a stop (default 1 s).
    pub poll: Duration,
    /// Silence after which a connection is taken for dead (a peer gone without closing, a
    /// NAT that forgot it) and reconnected (default 10 min: quiet waters send little).
    pub silence: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            poll: Duration::from_secs(1),
            silence: Duration::from_secs(600),
        }
    }
}

/// A TCP client that reads a feed forever, reconnecting with exponential backoff.
#[derive(Debug)]
pub struct TcpFeed {
    addr: String,
    policy: Backoff,
    stream: Option<TcpStream>,
    wait: Duration,
    since_newline: usize,
    /// When data last arrived (or the connection was made).
    heard: std::time::Instant,
    buf: Vec<u8>,
}

impl TcpFeed {
    /// A feed from `host:port`. Nothing connects until [`TcpFeed::next_event`].
    pub fn new(addr: impl Into<String>, policy: Backoff) -> Self {
        TcpFeed {
            addr: addr.into(),
            policy,
            stream: None,
            wait: Duration::ZERO,
            since_newline: 0,
            heard: std::time::Instant::now(),
            buf: vec![0; 64 * 1024],
        }
    }

    /// Blocks until something happens (data, a connection change, or a backoff wait, which
    /// this call performs before returning [`Event::Backoff`]).
    pub fn next_event(&mut self) -> Event {
        let Some(stream) = self.stream.as_mut() else {
            return self.connect();
        };
        match stream.read(&mut self.buf) {
            Ok(0) => self.drop_connection("closed by the server".to_owned()),
            Ok(n) => {
                let data = self.buf[..n].to_vec();
                match data.iter().rposition(|&b| b == b'\n') {
                    Some(p) => self.since_newline = n - p - 1,
                    None => self.since_newline += n,
                }
                self.wait = Duration::ZERO;
                self.heard = std::time::Instant::now();
                Event::Data(data)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.next_event(),
            // The read timeout: no data within `poll`.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let quiet = self.heard.elapsed();
                if quiet >= self.policy.silence {
                    self.drop_connection(format!("silent for {} s", quiet.as_secs()))
                } else {
                    Event::Idle
                }
            }
            Err(e) => self.drop_connection(e.to_string()),
        }
    }

    fn drop_connection(&mut self, reason: String) -> Event {
        self.stream = None;
        let partial_line_bytes = std::mem::take(&mut self.since_newline);
        Event::Disconnected {
            partial_line_bytes,
            reason,
        }
    }

    fn connect(&mut self) -> Event {
        if !self.wait.is_zero() {
            let w = self.wait;
            std::thread::sleep(w);
            self.wait = (w * 2).min(self.policy.max);
            if self.try_connect().is_none() {
                return Event::Backoff(w);
            }
        } else if self.try_connect().is_none() {
            self.wait = self.policy.initial;
            return Event::Backoff(Duration::ZERO);
        }
        let peer = self.stream.as_ref().and_then(|s| s.peer_addr().ok());
        match peer {
            Some(p) => Event::Connected(p),
            None => self.drop_connection("no peer address".to_owned()),
        }
    }

    fn try_connect(&mut self) -> Option<()> {
        let addrs = self.addr.to_socket_addrs().ok()?;
        for a in addrs {
            if let Ok(s) = TcpStream::connect_timeout(&a, self.policy.timeout) {
                s.set_read_timeout(Some(self.policy.poll.max(Duration::from_millis(1))))
                    .ok()?;
                self.stream = Some(s);
                self.heard = std::time::Instant::now();
                return Some(());
            }
        }
        if self.wait.is_zero() {
            self.wait = self.policy.initial;
        }
        None
    }
}

/// A UDP listener: every datagram is one or more complete lines.
#[derive(Debug)]
pub struct UdpFeed {
    socket: UdpSocket,
    buf: Vec<u8>,
}

impl UdpFeed {
    /// Binds `addr` (for example `0.0.0.0:10110`).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Ok(UdpFeed {
            socket: UdpSocket::bind(addr)?,
            buf: vec![0; 65_536],
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Waits at most `timeout` for a datagram; returns its bytes, ending in a newline, and the
    /// sender.
    pub fn recv(&mut self, timeout: Duration) -> io::Result<Option<(Vec<u8>, SocketAddr)>> {
        self.socket.set_read_timeout(Some(timeout))?;
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                let mut d = self.buf[..n].to_vec();
                if d.last() != Some(&b'\n') {
                    d.push(b'\n');
                }
                Ok(Some((d, from)))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
