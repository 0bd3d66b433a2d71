//! Which addresses a download may connect to: the pure rules behind the resolver that
//! [`http`](super::http) installs.
//!
//! A URL fetched for a caller must not reach the serving node's own network: loopback,
//! private and link-local addresses (the cloud metadata service lives at 169.254.169.254),
//! and the special ranges that are never a public web server. [`classify`] names the range
//! an address is in, looking through IPv6 forms that carry an IPv4 address (mapped,
//! compatible, NAT64, 6to4), so that `::ffff:127.0.0.1` is loopback too. An operator may
//! allow some networks back ([`Network`], from `url_allow_networks`) or all of them
//! (`allow_private_urls`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressClass {
    /// 127/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10 (deprecated site-local), the
    /// local-use NAT64 prefix 64:ff9b:1::/48.
    Private,
    /// 169.254/16, fe80::/10: the cloud metadata service lives here.
    LinkLocal,
    /// 100.64/10, carrier-grade NAT.
    SharedCgnat,
    /// 0/8, `::`.
    Unspecified,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18/15, 2001:2::/48.
    Benchmarking,
    /// 192.0.0/24, 240/4, 100::/64 (discard), 2001::/32 (Teredo, whose embedded address
    /// is obfuscated).
    Reserved,
}

impl AddressClass {
    /// The class in words, with its article: "a loopback address".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::LinkLocal => "a link-local address (where cloud metadata services live)",
            AddressClass::SharedCgnat => "a carrier-grade NAT address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Broadcast => "the broadcast address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Benchmarking => "a benchmarking address",
            AddressClass::Reserved => "a reserved address",
        }
    }
}

/// The class of a non-public address; `None` for a public one.
pub(crate) fn classify(address: IpAddr) -> Option<AddressClass> {
    match address {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(address: Ipv4Addr) -> Option<AddressClass> {
    use AddressClass as C;
    let [a, b, c, _] = address.octets();
    let class = match (a, b, c) {
        (0, _, _) => C::Unspecified,
        (127, _, _) => C::Loopback,
        (10, _, _) | (192, 168, _) => C::Private,
        (172, _, _) if (16..32).contains(&b) => C::Private,
        (169, 254, _) => C::LinkLocal,
        (100, _, _) if (64..128).contains(&b) => C::SharedCgnat,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => C::Documentation,
        (198, 18 | 19, _) => C::Benchmarking,
        (192, 0, 0) => C::Reserved,
        (224..=239, _, _) => C::Multicast,
        _ if address == Ipv4Addr::BROADCAST => C::Broadcast,
        (240..=255, _, _) => C::Reserved,
        _ => return None,
    };
    Some(class)
}

fn classify_v6(address: Ipv6Addr) -> Option<AddressClass> {
    use AddressClass as C;
    if let Some(embedded) = embedded_v4(address) {
        return classify_v4(embedded);
    }
    let segments = address.segments();
    let class = match segments {
        [0, 0, 0, 0, 0, 0, 0, 0] => C::Unspecified,
        [0, 0, 0, 0, 0, 0, 0, 1] => C::Loopback,
        [0x0064, 0xff9b, 0x0001, ..] => C::Private,
        [0x0100, 0, 0, 0, ..] => C::Reserved,
        [0x2001, 0x0db8, ..] => C::Documentation,
        [0x2001, 0x0002, 0, ..] => C::Benchmarking,
        [0x2001, 0, ..] => C::Reserved,
        [first, ..] if first & 0xfff0 == 0x3ff0 => C::Documentation,
        [first, ..] if first & 0xfe00 == 0xfc00 => C::Private,
        [first, ..] if first & 0xffc0 == 0xfe80 => C::LinkLocal,
        [first, ..] if first & 0xffc0 == 0xfec0 => C::Private,
        [first, ..] if first & 0xff00 == 0xff00 => C::Multicast,
        _ => return None,
    };
    Some(class)
}

/// The IPv4 address an IPv6 address carries and routes to: IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d` (deprecated, but a stack may still route it), NAT64
/// `64:ff9b::a.b.c.d` and 6to4 `2002:aabb:ccdd::/48`. `::` and `::1` carry none.
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let low = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match segments {
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0xffff | 0, high, low_half] => Some(low(high, low_half)),
        [0x0064, 0xff9b, 0, 0, 0, 0, high, low_half] => Some(low(high, low_half)),
        [0x2002, high, low_half, ..] => Some(low(high, low_half)),
        _ => None,
    }
}

/// A network an operator allows though it is not public: `10.1.2.0/24`, `fd00::/8`, or a
/// single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Network {
    base: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `address/prefix` (or a bare address, the network of that address alone).
    ///
    /// # Errors
    /// What is wrong with the text, in words.
    pub(crate) fn parse(text: &str) -> Result<Network, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let base: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: `{address}` is not an IP address"))?;
        let bits = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&prefix| prefix <= bits)
                .ok_or_else(|| {
                    format!("`{text}`: the prefix length is not between 0 and {bits}")
                })?,
        };
        if masked(base, prefix) != base {
            return Err(format!(
                "`{text}`: bits are set after the /{prefix} prefix (the network is `{}/{prefix}`)",
                masked(base, prefix)
            ));
        }
        Ok(Network { base, prefix })
    }

    /// Whether `address` is in the network; an IPv4-mapped IPv6 address is compared as its
    /// IPv4 address.
    pub(crate) fn contains(&self, address: IpAddr) -> bool {
        let address = unmapped(address);
        address.is_ipv4() == self.base.is_ipv4() && masked(address, self.prefix) == self.base
    }
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; any other address unchanged.
pub(crate) fn unmapped(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

fn masked(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass as C;

    #[test]
    fn every_non_public_range_is_classified() {
        let cases: &[(&str, Option<AddressClass>)] = &[
            ("127.0.0.1", Some(C::Loopback)),
            ("127.255.255.254", Some(C::Loopback)),
            ("10.0.0.1", Some(C::Private)),
            ("10.255.255.255", Some(C::Private)),
            ("172.16.0.1", Some(C::Private)),
            ("172.31.255.255", Some(C::Private)),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("192.168.1.1", Some(C::Private)),
            ("169.254.169.254", Some(C::LinkLocal)),
            ("169.254.0.1", Some(C::LinkLocal)),
            ("100.64.0.1", Some(C::SharedCgnat)),
            ("100.127.255.255", Some(C::SharedCgnat)),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("0.0.0.0", Some(C::Unspecified)),
            ("0.1.2.3", Some(C::Unspecified)),
            ("224.0.0.1", Some(C::Multicast)),
            ("239.255.255.250", Some(C::Multicast)),
            ("255.255.255.255", Some(C::Broadcast)),
            ("240.0.0.1", Some(C::Reserved)),
            ("192.0.0.8", Some(C::Reserved)),
            ("192.0.2.1", Some(C::Documentation)),
            ("198.51.100.7", Some(C::Documentation)),
            ("203.0.113.9", Some(C::Documentation)),
            ("198.18.0.1", Some(C::Benchmarking)),
            ("198.19.255.255", Some(C::Benchmarking)),
            ("198.20.0.0", None),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("93.184.216.34", None),
            ("::", Some(C::Unspecified)),
            ("::1", Some(C::Loopback)),
            ("::ffff:127.0.0.1", Some(C::Loopback)),
            ("::ffff:169.254.169.254", Some(C::LinkLocal)),
            ("::ffff:10.0.0.1", Some(C::Private)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(C::Loopback)),
            ("::10.1.2.3", Some(C::Private)),
            ("64:ff9b::127.0.0.1", Some(C::Loopback)),
            ("64:ff9b::a9fe:a9fe", Some(C::LinkLocal)),
            ("64:ff9b::192.168.0.1", Some(C::Private)),
            ("64:ff9b::8.8.8.8", None),
            ("64:ff9b:1::1", Some(C::Private)),
            ("2002:7f00:1::", Some(C::Loopback)),
            ("2002:a9fe:a9fe::1", Some(C::LinkLocal)),
            ("2002:808:808::1", None),
            ("fc00::1", Some(C::Private)),
            ("fd12:3456::1", Some(C::Private)),
            ("fe80::1", Some(C::LinkLocal)),
            ("febf::1", Some(C::LinkLocal)),
            ("fec0::1", Some(C::Private)),
            ("ff02::1", Some(C::Multicast)),
            ("2001:db8::1", Some(C::Documentation)),
            ("3fff::1", Some(C::Documentation)),
            ("2001:2::1", Some(C::Benchmarking)),
            ("2001::1", Some(C::Reserved)),
            ("100::1", Some(C::Reserved)),
            ("2606:4700:4700::1111", None),
            ("2001:4860:4860::8888", None),
        ];
        for (text, expected) in cases {
            let address: IpAddr = text.parse().unwrap();
            assert_eq!(classify(address), *expected, "{text}");
        }
    }

    #[test]
    fn networks_parse_and_contain() {
        let network = Network::parse("10.1.2.0/24").unwrap();
        assert!(network.contains("10.1.2.200".parse().unwrap()));
        assert!(network.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!network.contains("10.1.3.0".parse().unwrap()));
        assert!(!network.contains("fd00::1".parse().unwrap()));
        let one = Network::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6 = Network::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        let all = Network::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("192.168.0.1".parse().unwrap()));

        let error = Network::parse("10.1.2.3/24").unwrap_err();
        assert!(error.contains("`10.1.2.0/24`"), "{error}");
        let error = Network::parse("10.1.2.0/33").unwrap_err();
        assert!(error.contains("between 0 and 32"), "{error}");
        let error = Network::parse("intranet/8").unwrap_err();
        assert!(error.contains("`intranet` is not an IP address"), "{error}");
    }
}
