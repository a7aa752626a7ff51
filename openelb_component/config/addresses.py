"""IP addresses and networks as OpenELB reads them: Go's ``net.ParseIP`` and ``net.ParseCIDR``.

Every address a stack or the cluster gives ends up in text that something else parses: a BgpPeer
OpenELB reads with Go's ``net`` package, a router configuration, a shell script. Python's
``ipaddress`` accepts more than Go does, and what it accepts beyond Go is exactly what can carry
other text:

- IPv6 zone IDs with almost any text after ``%`` (``fe80::1%$(touch x)``); Go's ``ParseIP`` and
  ``ParseCIDR`` refuse any zone (``ip.Zone() != ""``, net/ip.go:534-540 and 556-559@go1.26.8);
- netmask prefixes (``/255.255.255.0``, ``/0.0.0.255``), which ``ParseCIDR`` refuses: the prefix
  length is decimal digits only (``dtoi``, net/ip.go:561-564@go1.26.8);

so both are refused here, before any text is rendered. IPv4-mapped IPv6 (``::ffff:192.0.2.5``)
is refused too: Go reads it as the IPv4 address (``To4``), so one router written twice would
escape the duplicate-router rule. Every address is handed on in its canonical text
(``str(ipaddress...)``), which is what the renderers and the duplicate rules compare.
"""

from __future__ import annotations

import ipaddress
import re

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# ASCII only (``\d`` would take other scripts' digits); what is left is judged by ipaddress.
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_PREFIX_LENGTH = re.compile(r"0|[1-9][0-9]{0,2}")

PLAIN_ADDRESS = (
    "plain IPv4 or IPv6 as Go's net.ParseIP reads it: no zone (%...), no prefix length, no "
    "IPv4-mapped IPv6 (write ::ffff:192.0.2.5 as 192.0.2.5)"
)


def parse_address(text: str) -> Address:
    """A plain address as ``net.ParseIP`` accepts it, or ``ValueError`` (the reason only, never
    the text: the caller shows the value where it may)."""
    if not isinstance(text, str):
        raise ValueError("not text")
    address: Address
    try:
        if _IPV4.fullmatch(text):
            address = ipaddress.IPv4Address(text)
        elif _IPV6.fullmatch(text) and ":" in text:
            address = ipaddress.IPv6Address(text)
        else:
            raise ValueError
    except ValueError:
        # ipaddress's own message repeats the text.
        raise ValueError(f"not a {PLAIN_ADDRESS}") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise ValueError("an IPv4-mapped IPv6 address; write the IPv4 address itself")
    return address


def parse_network(text: str) -> IpNetwork:
    """``address/length`` as ``net.ParseCIDR`` accepts it (host bits allowed: Go masks them), or
    ``ValueError``."""
    if not isinstance(text, str) or text.count("/") != 1:
        raise ValueError("not a CIDR (address/length)")
    address_text, length_text = text.split("/")
    address = parse_address(address_text)
    if not _PREFIX_LENGTH.fullmatch(length_text) or int(length_text) > address.max_prefixlen:
        raise ValueError(
            f"the prefix length must be a whole number from 0 to {address.max_prefixlen} (Go's "
            "net.ParseCIDR reads no netmask form such as /255.255.255.0)"
        )
    return ipaddress.ip_network(f"{address}/{length_text}", strict=False)


def unusable_endpoint(address: Address) -> str | None:
    """Why an address can be no BGP neighbor or router ID (unspecified, loopback, multicast,
    the IPv4 broadcast address), or None."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address == ipaddress.IPv4Address(
        "255.255.255.255"
    ):
        return "the broadcast address"
    return None


def endpoint(text: str) -> Address:
    """A plain address that can be a BGP neighbor: ``parse_address`` and ``unusable_endpoint``."""
    address = parse_address(text)
    reason = unusable_endpoint(address)
    if reason is not None:
        raise ValueError(f"{reason}, which cannot be a BGP neighbor or router ID")
    return address
