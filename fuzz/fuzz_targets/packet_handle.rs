//! The whole query path a packet takes: the UDP fast path, then `query::handle` (ACL, parse,
//! policy, cache, upstream, CNAME checks, encoding), with a real policy over a small index
//! and a real forwarder to an in-process upstream that answers at once.
#![no_main]

use std::sync::LazyLock;

use hedge_dns::fuzz::{Harness, Transport};
use hedge_fuzz::{ALLOWED_CLIENT, REFUSED_CLIENT, harness, start_upstream};
use hickory_proto::op::{Message, MessageType};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
});

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let _guard = RUNTIME.enter();
    harness(start_upstream())
});

fuzz_target!(|data: &[u8]| {
    // The id's low bits pick the transport and whether the client is allowed, so every
    // seed packet is still a plain DNS message.
    let id_low = data.get(1).copied().unwrap_or(0);
    let transport = if id_low & 1 == 1 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let client = if id_low & 0x0e == 0x0e {
        REFUSED_CLIENT
    } else {
        ALLOWED_CLIENT
    };
    let harness = &*HARNESS;
    if transport == Transport::Udp {
        let mut out = Vec::with_capacity(4096);
        if let Some(len) = harness.fast_answer(data, client, &mut out) {
            check_reply(data, &out[..len]);
            return;
        }
    }
    let reply = RUNTIME.block_on(harness.handle(data, client, transport));
    if let Some(reply) = reply {
        check_reply(data, &reply);
        if transport == Transport::Udp {
            assert!(reply.len() <= 4096, "UDP answer of {} bytes", reply.len());
        }
    }
});

/// Every answer carries the query's id, is a response, and parses.
fn check_reply(query: &[u8], reply: &[u8]) {
    assert!(reply.len() >= 12, "answer of {} bytes", reply.len());
    assert_eq!(reply[..2], query[..2], "answer with another id");
    let m = Message::from_vec(reply).expect("an unreadable answer");
    assert_eq!(m.metadata.message_type, MessageType::Response);
}
