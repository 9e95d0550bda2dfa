// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// An `http://` URL of the IGD: numeric IPv4 host, port, path. Gateways announce numeric
/// LOCATIONs; a name would need DNS the LAN could spoof, so it is refused.
package struct IGDURL: Equatable, Sendable, CustomStringConvertible {
    package static let maxLength = 512

    package var host: NetAddress
    /// Starts with "/".
    package var path: String

    package init(host: NetAddress, path: String) {
        self.host = host
        self.path = path
    }

    package init(parsing text: String) throws(GatewayParseError) {
        guard text.utf8.count <= Self.maxLength else { throw .tooLarge(Self.maxLength) }
        guard text.lowercased().hasPrefix("http://") else { throw .invalid("IGD URL (not http://)") }
        let rest = text.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = slash < rest.endIndex ? String(rest[slash...]) : "/"
        let hostText: Substring
        let port: UInt16
        if let colon = authority.lastIndex(of: ":") {
            hostText = authority[..<colon]
            guard let p = UInt16(authority[authority.index(after: colon)...]), p > 0 else {
                throw .invalid("IGD URL port")
            }
            port = p
        } else {
            hostText = authority
            port = 80
        }
        guard let address = NetAddress(ipv4: String(hostText), port: port) else {
            throw .invalid("IGD URL host (not an IPv4 address)")
        }
        guard path.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\0" }) else { throw .invalid("IGD URL path") }
        self.host = address
        self.path = path
    }

    /// `reference` (absolute, or a path relative to this URL's host) as a URL on the same host.
    /// An absolute URL naming another host is refused (the description must not redirect us).
    package func resolving(_ reference: String) throws(GatewayParseError) -> IGDURL {
        if reference.lowercased().hasPrefix("http://") {
            let url = try IGDURL(parsing: reference)
            guard url.host.host == host.host else { throw .invalid("controlURL on another host") }
            return url
        }
        guard !reference.isEmpty, reference.utf8.count <= Self.maxLength,
            reference.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\0" })
        else { throw .invalid("controlURL") }
        return IGDURL(host: host, path: reference.hasPrefix("/") ? reference : "/" + reference)
    }

    package var description: String { "http://\(host)\(path)" }
}
