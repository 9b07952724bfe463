//! IP addresses and CIDR networks: the `cidr` modifier's network parsing
//! (compile time) and the test of an event's address against it (run time,
//! without allocating).

use std::net::IpAddr;

use crate::ir::Cidr;

/// Network mask of `prefix` leading one bits, right-aligned in a 32- or 128-bit field.
#[inline]
fn net_mask(v4: bool, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else if v4 {
        u128::from(u32::MAX << (32 - u32::from(prefix.min(32))))
    } else {
        u128::MAX << (128 - u32::from(prefix.min(128)))
    }
}

/// Parses a network in CIDR notation (compile time: allocates on error).
///
/// Accepts `a.b.c.d/len` and `ipv6/len`; a bare address means a single host
/// (`/32` or `/128`). Host bits are cleared. No surrounding whitespace is
/// accepted.
///
/// ```
/// use detect_core::matcher::parse_cidr;
/// let net = parse_cidr("10.1.2.3/8").unwrap();
/// assert!(net.v4);
/// assert_eq!(net.addr, 0x0A00_0000);
/// assert_eq!(net.prefix, 8);
/// assert_eq!(parse_cidr("::1").unwrap().prefix, 128);
/// assert!(parse_cidr("10.0.0.0/33").is_err());
/// ```
pub fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let (addr_text, prefix_text) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr_text.parse().map_err(|_| {
        format!("invalid CIDR network `{s}`: `{addr_text}` is not an IPv4 or IPv6 address")
    })?;
    let (v4, bits, width) = match ip {
        IpAddr::V4(a) => (true, u128::from(u32::from(a)), 32u8),
        IpAddr::V6(a) => (false, u128::from(a), 128u8),
    };
    let prefix = match prefix_text {
        None => width,
        Some(p) => {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "invalid CIDR network `{s}`: prefix length `{p}` is not a decimal number"
                ));
            }
            let n: u16 = p.parse().map_err(|_| {
                format!("invalid CIDR network `{s}`: prefix length `{p}` is not a decimal number")
            })?;
            if n > u16::from(width) {
                return Err(format!(
                    "invalid CIDR network `{s}`: prefix length {n} is larger than {width} for an IPv{} address",
                    if v4 { 4 } else { 6 }
                ));
            }
            n as u8
        }
    };
    Ok(Cidr {
        v4,
        addr: bits & net_mask(v4, prefix),
        prefix,
    })
}

/// True when `hay` parses as an IP address inside the network `addr/prefix`
/// (as produced by [`parse_cidr`]).
///
/// The text is not trimmed; bracketed IPv6 (`[::1]`) and zone suffixes
/// (`fe80::1%eth0`) do not parse and give `false`. An IPv4-mapped IPv6
/// address (`::ffff:10.1.2.3`) matches IPv4 networks; an IPv4 address never
/// matches an IPv6 network.
///
/// ```
/// use detect_core::matcher::cidr_contains;
/// assert!(cidr_contains("10.20.30.40", true, 0x0A00_0000, 8));
/// assert!(cidr_contains("::ffff:10.20.30.40", true, 0x0A00_0000, 8));
/// assert!(!cidr_contains("11.0.0.1", true, 0x0A00_0000, 8));
/// assert!(!cidr_contains("not an ip", true, 0, 0));
/// ```
#[inline]
pub fn cidr_contains(hay: &str, v4: bool, addr: u128, prefix: u8) -> bool {
    parse_ip(hay).is_some_and(|ip| ip.in_net(v4, addr, prefix))
}

/// An address parsed for CIDR tests: its IPv4 view (an IPv4 address, or the
/// IPv4 address an IPv4-mapped IPv6 address stands for) and its IPv6 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedIp {
    v4: Option<u32>,
    v6: Option<u128>,
}

impl ParsedIp {
    /// Whether the address is in the network `addr/prefix` (IPv4 when `v4`).
    #[inline]
    pub fn in_net(&self, v4: bool, addr: u128, prefix: u8) -> bool {
        let bits = if v4 { self.v4.map(u128::from) } else { self.v6 };
        bits.is_some_and(|b| (b ^ addr) & net_mask(v4, prefix) == 0)
    }
}

/// Parses `hay` as an IP address the way [`cidr_contains`] reads it (the
/// whole text, no brackets, zones or surrounding spaces). Canonical dotted
/// quads, bare or IPv4-mapped (`::ffff:10.1.2.3`, how Windows logs many
/// addresses), skip the general parser.
///
/// ```
/// use detect_core::matcher::parse_ip;
/// assert!(parse_ip("::ffff:10.1.2.3").unwrap().in_net(true, 0x0A00_0000, 8));
/// assert!(parse_ip("10.1.2.3").unwrap().in_net(true, 0x0A00_0000, 8));
/// assert!(!parse_ip("10.1.2.3").unwrap().in_net(false, 0, 0));
/// assert!(parse_ip("-").is_none());
/// ```
#[inline]
pub fn parse_ip(hay: &str) -> Option<ParsedIp> {
    let b = hay.as_bytes();
    if let Some(a) = canonical_ipv4(b) {
        return Some(ParsedIp {
            v4: Some(a),
            v6: None,
        });
    }
    if b.len() > 7
        && b[..7].eq_ignore_ascii_case(b"::ffff:")
        && let Some(a) = canonical_ipv4(&b[7..])
    {
        return Some(ParsedIp {
            v4: Some(a),
            v6: Some((0xffff_u128 << 32) | u128::from(a)),
        });
    }
    match hay.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some(ParsedIp {
            v4: Some(u32::from(a)),
            v6: None,
        }),
        IpAddr::V6(a) => Some(ParsedIp {
            v4: a.to_ipv4_mapped().map(u32::from),
            v6: Some(u128::from(a)),
        }),
    }
}

/// A dotted-quad IPv4 address in canonical form (four decimal octets without
/// leading zeros, at most 255): the common case of event fields, parsed
/// without the general parser. Anything else is `None` and goes to
/// `IpAddr::from_str`, which accepts every canonical address the same way.
#[inline]
fn canonical_ipv4(s: &[u8]) -> Option<u32> {
    let mut out = 0u32;
    let mut octets = 0;
    let mut i = 0;
    while octets < 4 {
        let start = i;
        let mut v = 0u32;
        while i < s.len() && s[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + u32::from(s[i] - b'0');
            i += 1;
        }
        let len = i - start;
        if len == 0 || v > 255 || (len > 1 && s[start] == b'0') {
            return None;
        }
        out = (out << 8) | v;
        octets += 1;
        if octets < 4 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    (i == s.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- CIDR --------------------------------------------------------------

    #[test]
    fn parse_cidr_table() {
        let ok = [
            ("10.0.0.0/8", true, 0x0A00_0000u128, 8u8),
            ("10.1.2.3/8", true, 0x0A00_0000, 8),
            ("192.168.1.1", true, 0xC0A8_0101, 32),
            ("0.0.0.0/0", true, 0, 0),
            ("255.255.255.255/32", true, 0xFFFF_FFFF, 32),
            ("fe80::/10", false, 0xFE80u128 << 112, 10),
            ("fe80::1234/10", false, 0xFE80u128 << 112, 10),
            ("::1", false, 1, 128),
            ("::/0", false, 0, 0),
        ];
        for (s, v4, addr, prefix) in ok {
            assert_eq!(
                parse_cidr(s),
                Ok(Cidr { v4, addr, prefix }),
                "parse_cidr({s:?})"
            );
        }
        let bad = [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "256.0.0.0/8",
            "garbage",
            " 10.0.0.0/8",
            "[::1]/128",
            "10.0.0.0/1000",
        ];
        for s in bad {
            let err = parse_cidr(s).expect_err(s);
            assert!(err.contains("invalid CIDR"), "{err}");
        }
        assert!(
            parse_cidr("10.0.0.0/33")
                .unwrap_err()
                .contains("larger than 32")
        );
    }

    #[test]
    fn cidr_contains_table() {
        let net = |s: &str| parse_cidr(s).unwrap();
        let cases = [
            ("10.0.0.0/8", "10.0.0.0", true),
            ("10.0.0.0/8", "10.255.255.255", true),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("10.0.0.0/8", "9.255.255.255", false),
            ("192.168.1.1", "192.168.1.1", true),
            ("192.168.1.1", "192.168.1.2", false),
            ("0.0.0.0/0", "1.2.3.4", true),
            ("0.0.0.0/0", "::1", false),
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("10.0.0.0/8", "::ffff:11.1.2.3", false),
            ("10.0.0.0/8", "::10.1.2.3", false), // IPv4-compatible is not mapped
            ("10.0.0.0/8", " 10.1.2.3", false),
            ("10.0.0.0/8", "10.1.2.3 ", false),
            ("10.0.0.0/8", "10.1.2", false),
            ("10.0.0.0/8", "", false),
            ("fe80::/10", "fe80::1", true),
            ("fe80::/10", "FEBF::1", true),
            ("fe80::/10", "fec0::1", false),
            ("fe80::/10", "fe80::1%eth0", false),
            ("fe80::/10", "[fe80::1]", false),
            ("::1", "::1", true),
            ("::1", "::2", false),
            ("::/0", "2001:db8::1", true),
            ("::/0", "10.0.0.1", false),
            ("::ffff:0:0/96", "::ffff:10.0.0.1", true),
        ];
        for (n, hay, want) in cases {
            let c = net(n);
            assert_eq!(
                cidr_contains(hay, c.v4, c.addr, c.prefix),
                want,
                "{hay:?} in {n}"
            );
        }
    }

    #[test]
    fn canonical_ipv4_agrees_with_std() {
        let mut cases: Vec<String> = [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.02.3.4",
            "1.2.3.004",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            ".1.2.3",
            "1.2.3.",
            "1234.1.1.1",
            "+1.2.3.4",
            "1.2.3.4 ",
            "١.2.3.4",
            "0.0.0.00",
            "10.0.0.1",
            "192.168.001.1",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every string over a small alphabet up to length 7, plus random quads.
        let alphabet = ["0", "1", "2", "5", "9", ".", "25", "255", "256", "00"];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for p in &frontier {
                for a in alphabet {
                    next.push(format!("{p}{a}"));
                }
            }
            cases.extend(next.iter().cloned());
            frontier = next;
        }
        for a in [0u32, 1, 9, 10, 99, 100, 199, 200, 255, 256, 300, 999] {
            for b in [0u32, 7, 255, 256] {
                cases.push(format!("{a}.{b}.{a}.{b}"));
                cases.push(format!("{b}.{a}.{b}.0{a}"));
            }
        }
        for c in &cases {
            // The mapped fast path agrees with the general parser.
            let mapped = format!("::FFFF:{c}");
            let general = mapped.parse::<IpAddr>().ok().map(|ip| match ip {
                IpAddr::V6(a) => (a.to_ipv4_mapped().map(u32::from), Some(u128::from(a))),
                IpAddr::V4(a) => (Some(u32::from(a)), None),
            });
            assert_eq!(
                parse_ip(&mapped).map(|p| (p.v4, p.v6)),
                general,
                "{mapped:?}"
            );
            let std = c.parse::<std::net::Ipv4Addr>().ok().map(u32::from);
            let fast = canonical_ipv4(c.as_bytes());
            if let Some(f) = fast {
                assert_eq!(Some(f), std, "{c:?}");
            }
            // The fast path may decline (then std decides), but it declines
            // only non-canonical forms.
            if fast.is_none() && std.is_some() {
                assert!(
                    c.split('.').any(|o| o.len() > 1 && o.starts_with('0')),
                    "{c:?}"
                );
            }
        }
    }
}
