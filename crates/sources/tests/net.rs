//! Real sockets on loopback: the TCP client reconnects after the server goes away and reports
//! the cut line; the UDP listener receives datagrams as lines.

use sources::net::{Backoff, Event, TcpFeed, UdpFeed};
use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

#[test]
fn tcp_feed_reconnects_and_reports_the_cut_line() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        // First connection: one line and half of another, then close.
        let (mut c, _) = listener.accept().unwrap();
        c.write_all(b"!AIVDM,1,1,,A,first,0*00\n!AIVDM,1,1,,B,hal")
            .unwrap();
        drop(c);
        // Second connection: a whole line.
        let (mut c, _) = listener.accept().unwrap();
        c.write_all(b"!AIVDM,1,1,,A,second,0*00\n").unwrap();
    });
    let policy = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
        ..Backoff::default()
    };
    let mut feed = TcpFeed::new(addr.to_string(), policy);
    let mut data = Vec::new();
    let mut events = Vec::new();
    for _ in 0..50 {
        let e = feed.next_event();
        if let Event::Data(d) = &e {
            data.extend_from_slice(d);
        }
        let done = String::from_utf8_lossy(&data).contains("second");
        events.push(e);
        if done {
            break;
        }
    }
    server.join().unwrap();
    let connects = events
        .iter()
        .filter(|e| matches!(e, Event::Connected(_)))
        .count();
    assert_eq!(connects, 2, "{events:?}");
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::Disconnected {
                partial_line_bytes: 17,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(String::from_utf8_lossy(&data).contains("second"));
}

#[test]
fn a_quiet_tcp_feed_stays_connected_and_loses_nothing() {
    // A coastal feed with nothing to say for a while: the client idles (it returns to its
    // caller every poll) on the same connection, and gets every line written after the pause.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        c.write_all(b"!AIVDM,1,1,,A,one,0*00\n").unwrap();
        std::thread::sleep(Duration::from_millis(400));
        c.write_all(b"!AIVDM,1,1,,A,two,0*00\n").unwrap();
        // Held open until the client has read both lines.
        let _ = listener.accept();
    });
    let policy = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
        poll: Duration::from_millis(50),
        silence: Duration::from_secs(30),
    };
    let mut feed = TcpFeed::new(addr.to_string(), policy);
    let mut data = Vec::new();
    let mut events = Vec::new();
    while !String::from_utf8_lossy(&data).contains("two") && events.len() < 200 {
        let e = feed.next_event();
        if let Event::Data(d) = &e {
            data.extend_from_slice(d);
        }
        events.push(e);
    }
    assert!(String::from_utf8_lossy(&data).contains("one"));
    assert!(String::from_utf8_lossy(&data).contains("two"), "{events:?}");
    assert!(events.contains(&Event::Idle), "{events:?}");
    let connects = events
        .iter()
        .filter(|e| matches!(e, Event::Connected(_)))
        .count();
    assert_eq!(connects, 1, "one connection throughout: {events:?}");
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::Disconnected { .. })));
    // Let the server thread end.
    let _ = std::net::TcpStream::connect(addr);
    server.join().unwrap();
}

#[test]
fn a_silent_tcp_feed_is_reconnected_after_the_silence_limit() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (c, _) = listener.accept().unwrap();
        let (_c2, _) = listener.accept().unwrap();
        drop(c);
    });
    let policy = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
        poll: Duration::from_millis(20),
        silence: Duration::from_millis(150),
    };
    let mut feed = TcpFeed::new(addr.to_string(), policy);
    let mut events = Vec::new();
    while events
        .iter()
        .filter(|e| matches!(e, Event::Connected(_)))
        .count()
        < 2
        && events.len() < 500
    {
        events.push(feed.next_event());
    }
    server.join().unwrap();
    assert!(
        events.iter().any(|e| matches!(
            e,
            Event::Disconnected { reason, .. } if reason.starts_with("silent for")
        )),
        "{events:?}"
    );
}

#[test]
fn tcp_feed_backs_off_when_nothing_listens() {
    // A port that was just free: connecting is refused, so the feed backs off and grows.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let policy = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(40),
        timeout: Duration::from_millis(200),
        ..Backoff::default()
    };
    let mut feed = TcpFeed::new(format!("127.0.0.1:{port}"), policy);
    let waits: Vec<Duration> = (0..5)
        .filter_map(|_| match feed.next_event() {
            Event::Backoff(w) => Some(w),
            _ => None,
        })
        .collect();
    assert_eq!(
        waits,
        [0, 10, 20, 40, 40].map(Duration::from_millis).to_vec(),
        "exponential backoff capped at the maximum"
    );
}

#[test]
fn udp_feed_receives_lines() {
    let mut feed = UdpFeed::bind("127.0.0.1:0").unwrap();
    let to = feed.local_addr().unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"!AIVDM,1,1,,A,x,0*00", to).unwrap();
    let (d, from) = feed.recv(Duration::from_secs(2)).unwrap().unwrap();
    assert_eq!(d, b"!AIVDM,1,1,,A,x,0*00\n");
    assert_eq!(from, tx.local_addr().unwrap());
    assert!(feed.recv(Duration::from_millis(20)).unwrap().is_none());
}
