//! Batched UDP receive and send (`recvmmsg`/`sendmmsg`, Linux): one system call moves up
//! to [`BATCH`] datagrams, which is most of a small query's cost on loopback.
//!
//! hedge's one unsafe module on the query path (elsewhere in the server only one call is:
//! `malloc_trim`): the kernel is handed pointers into buffers owned by
//! [`Batch`], which outlive each call and are not touched while it runs.
#![allow(unsafe_code)]

use std::io;
use std::mem::MaybeUninit;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// Datagrams per system call.
pub(crate) const BATCH: usize = 32;
/// Largest query accepted (bigger ones arrive cut and get FORMERR).
pub(crate) const MAX_QUERY: usize = 4096;

/// Buffers for one batch of received datagrams and one batch of replies.
pub(crate) struct Batch {
    data: Vec<[u8; MAX_QUERY]>,
    lens: [usize; BATCH],
    addrs: [libc::sockaddr_storage; BATCH],
    /// Reply addresses, kept between calls (copying 4 KiB per batch showed in profiles).
    send_names: [libc::sockaddr_storage; BATCH],
    count: usize,
    replies: Vec<(Vec<u8>, SocketAddr)>,
    pending: usize,
}

impl Default for Batch {
    fn default() -> Self {
        // SAFETY: sockaddr_storage is plain old data; all-zero is a valid (unspecified) value.
        let zero: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
        Batch {
            data: vec![[0u8; MAX_QUERY]; BATCH],
            lens: [0; BATCH],
            addrs: [zero; BATCH],
            send_names: [zero; BATCH],
            count: 0,
            replies: (0..BATCH)
                .map(|_| {
                    (
                        Vec::with_capacity(1232),
                        SocketAddr::from(([0, 0, 0, 0], 0)),
                    )
                })
                .collect(),
            pending: 0,
        }
    }
}

impl Batch {
    /// Waits for a datagram, then receives it and up to [`BATCH`] − 1 more that are already
    /// queued (`MSG_WAITFORONE`); returns how many. The socket must be blocking: waiting and
    /// receiving are then one system call, where polling first would take three per wakeup
    /// (`epoll_wait`, `recvmmsg`, and a last `recvmmsg` finding nothing).
    pub(crate) fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        let mut iovs: [libc::iovec; BATCH] = std::array::from_fn(|i| libc::iovec {
            iov_base: self.data[i].as_mut_ptr().cast(),
            iov_len: MAX_QUERY,
        });
        // SAFETY: zeroed mmsghdr is valid; every pointer set below points into `self` or
        // `iovs`, which live until the call returns.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        for (i, m) in msgs.iter_mut().enumerate() {
            m.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            m.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: msgs/iovs describe BATCH valid, writable buffers of the sizes given.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (i, m) in msgs.iter().enumerate().take(n) {
            self.lens[i] = (m.msg_len as usize).min(MAX_QUERY);
        }
        self.count = n;
        Ok(n)
    }

    /// The i-th received datagram, its sender, and the next free reply buffer; call
    /// [`Batch::commit_reply`] once the buffer holds a reply.
    pub(crate) fn slot(&mut self, i: usize) -> Option<(&[u8], SocketAddr, &mut Vec<u8>)> {
        if i >= self.count || self.pending >= BATCH {
            return None;
        }
        let peer = to_socket_addr(&self.addrs[i])?;
        Some((
            &self.data[i][..self.lens[i]],
            peer,
            &mut self.replies[self.pending].0,
        ))
    }

    /// Queues the reply buffer just written for `peer`.
    pub(crate) fn commit_reply(&mut self, peer: SocketAddr) {
        self.replies[self.pending].1 = peer;
        self.pending += 1;
    }

    /// Sends the queued replies, waiting for buffer space if need be, then clears the
    /// queue. A reply the kernel refuses (an address it cannot send to) is skipped, so one
    /// bad peer cannot hold up the others.
    pub(crate) fn send(&mut self, fd: RawFd) {
        let pending = std::mem::take(&mut self.pending);
        let names = &mut self.send_names;
        let mut name_lens = [0 as libc::socklen_t; BATCH];
        for i in 0..pending {
            name_lens[i] = from_socket_addr(self.replies[i].1, &mut names[i]);
        }
        let mut iovs: [libc::iovec; BATCH] = std::array::from_fn(|i| libc::iovec {
            iov_base: self.replies[i].0.as_mut_ptr().cast(),
            iov_len: self.replies[i].0.len(),
        });
        // SAFETY: as in `recv`; the buffers are only read by the kernel.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        for i in 0..pending {
            msgs[i].msg_hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
            msgs[i].msg_hdr.msg_namelen = name_lens[i];
            msgs[i].msg_hdr.msg_iov = &mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        let mut sent = 0;
        while sent < pending {
            // SAFETY: entries sent..pending of msgs are initialised and point to live buffers.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    msgs[sent..].as_mut_ptr(),
                    (pending - sent) as libc::c_uint,
                    0,
                )
            };
            if n > 0 {
                sent += n as usize;
            } else if n == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                sent += 1; // the first unsent reply failed on its own
            }
        }
    }
}

fn to_socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let a: &libc::sockaddr_in = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn from_socket_addr(addr: SocketAddr, out: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
            let a: &mut libc::sockaddr_in =
                unsafe { &mut *(out as *mut libc::sockaddr_storage).cast() };
            a.sin_family = libc::AF_INET as libc::sa_family_t;
            a.sin_port = v4.port().to_be();
            a.sin_addr = libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            };
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above.
            let a: &mut libc::sockaddr_in6 =
                unsafe { &mut *(out as *mut libc::sockaddr_storage).cast() };
            a.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            a.sin6_port = v6.port().to_be();
            a.sin6_addr = libc::in6_addr {
                s6_addr: v6.ip().octets(),
            };
            a.sin6_flowinfo = v6.flowinfo();
            a.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}
