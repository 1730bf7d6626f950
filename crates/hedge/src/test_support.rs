//! What the crate's unit tests that run a real server share.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;

use hedge_lists::{Compiler, Format, Index, Taxonomy};

/// An index listing `names` (one per line) as gambling.
pub(crate) fn gambling_index(names: &[&str]) -> Arc<Index> {
    let t = Taxonomy::builtin();
    let mut c = Compiler::new(&t);
    let text: String = names.iter().map(|n| format!("{n}\n")).collect();
    c.add_text(
        "t",
        Format::Plain,
        &["gambling".into()],
        text.as_bytes(),
        "t",
    )
    .unwrap();
    Arc::new(Index::from_bytes(c.finish(&mut |_| {}).unwrap().bytes).unwrap())
}

/// A loopback address free for both TCP and UDP.
pub(crate) fn free_addr() -> SocketAddr {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = tcp.local_addr().unwrap();
        if UdpSocket::bind(addr).is_ok() {
            return addr;
        }
    }
}
