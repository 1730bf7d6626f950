//! The UDP fast path: `FastQuery::parse`, its name decoding, and `fast_answer` (sinkholes
//! written straight to the wire), checked against hickory's parser.
#![no_main]

use std::sync::LazyLock;

use hedge_dns::fuzz::{Harness, parse_fast};
use hedge_fuzz::{ALLOWED_CLIENT, harness};
use hickory_proto::op::{Message, MessageType};
use libfuzzer_sys::fuzz_target;

/// The fast path never reaches the upstream: this address is never asked.
static HARNESS: LazyLock<Harness> =
    LazyLock::new(|| harness("127.0.0.1:9".parse().expect("an address")));

fuzz_target!(|data: &[u8]| {
    let Some(parsed) = parse_fast(data) else {
        return;
    };
    assert!((512..=4096).contains(&parsed.max_udp), "{parsed:?}");
    // What the fast path accepts, hickory (the full path) reads the same way.
    if let Ok(m) = Message::from_vec(data) {
        assert_eq!(m.queries.len(), 1);
        assert_eq!(u16::from(m.queries[0].query_type()), parsed.qtype);
        if let Some(name) = &parsed.name {
            // hickory escapes a label's leading `-` (`\-om`); the policy sees both the same.
            let full = m.queries[0]
                .name()
                .to_ascii()
                .to_ascii_lowercase()
                .replace('\\', "");
            assert_eq!(full.trim_end_matches('.'), name);
        }
    }
    let mut out = Vec::with_capacity(4096);
    if let Some(len) = HARNESS.fast_answer(data, ALLOWED_CLIENT, &mut out) {
        let reply = &out[..len];
        assert!(len <= parsed.max_udp, "{len} > {}", parsed.max_udp);
        assert_eq!(reply[..2], data[..2], "answer with another id");
        let m = Message::from_vec(reply).expect("the fast path wrote an unreadable answer");
        assert_eq!(m.metadata.message_type, MessageType::Response);
    }
});
