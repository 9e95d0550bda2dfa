// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// SSDP (UPnP Device Architecture 1.1 §1.3) search for an Internet Gateway Device, and the
/// LOCATION of its description from a search response.
package enum SSDPMessage {
    package static let multicastAddress = NetAddress(ipv4: (239, 255, 255, 250), port: 1900)
    package static let searchTarget = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
    /// A search response is a few hundred bytes; larger datagrams are not parsed.
    package static let maxLength = 2048

    package static func search(maxWaitSeconds: Int = 1) -> [UInt8] {
        Array(
            ("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
                + "MX: \(maxWaitSeconds)\r\nST: \(searchTarget)\r\n\r\n").utf8)
    }

    /// The description URL of a 200 response whose ST is an IGD or a WAN connection service.
    /// The URL must name `responder`'s own address: a LAN host cannot point us at a third host.
    package static func location(_ bytes: [UInt8], from responder: NetAddress.Host) throws(GatewayParseError) -> IGDURL
    {
        guard bytes.count <= maxLength else { throw .tooLarge(maxLength) }
        let head = try HTTPHead.parse(bytes[...], limit: maxLength)
        guard head.status == 200 else { throw .unexpected("SSDP answer status \(head.status)") }
        guard let st = head.header("st"),
            st.contains("InternetGatewayDevice") || st.contains("WANIPConnection")
                || st.contains("WANPPPConnection")
        else { throw .unexpected("SSDP answer for another search target") }
        guard let text = head.header("location") else { throw .truncated("SSDP answer without LOCATION") }
        let url = try IGDURL(parsing: text)
        guard url.host.host == responder else {
            throw .invalid("SSDP LOCATION \(url.host.hostString) differs from the responder")
        }
        return url
    }
}
