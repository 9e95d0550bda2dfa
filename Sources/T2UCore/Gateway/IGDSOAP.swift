// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// SOAP requests to the IGD's WAN connection service (UPnP IGD WANIPConnection:1/2) as whole
/// HTTP/1.1 requests, and their answers.
package enum IGDSOAP {
    package enum Answer: Equatable, Sendable {
        case ok
        case externalAddress(UInt32)
        /// UPnP error (e.g. 718 ConflictInMappingEntry, 725 OnlyPermanentLeasesSupported).
        case fault(code: Int, description: String)
    }

    package static let conflictInMappingEntry = 718
    package static let onlyPermanentLeasesSupported = 725

    /// GET of the device description.
    package static func descriptionRequest(_ url: IGDURL) -> [UInt8] {
        Array("GET \(url.path) HTTP/1.1\r\nHost: \(url.host)\r\nConnection: close\r\nUser-Agent: t2u\r\n\r\n".utf8)
    }

    package static func addPortMapping(
        _ service: IGDService, externalPort: UInt16, internalClient: UInt32,
        internalPort: UInt16, leaseSeconds: UInt32, label: String
    ) -> [UInt8] {
        action(
            "AddPortMapping", service,
            arguments: [
                ("NewRemoteHost", ""), ("NewExternalPort", "\(externalPort)"), ("NewProtocol", "UDP"),
                ("NewInternalPort", "\(internalPort)"),
                ("NewInternalClient", NetAddress(host: .v4(internalClient), port: 0).hostString),
                ("NewEnabled", "1"), ("NewPortMappingDescription", label), ("NewLeaseDuration", "\(leaseSeconds)"),
            ])
    }

    package static func deletePortMapping(_ service: IGDService, externalPort: UInt16) -> [UInt8] {
        action(
            "DeletePortMapping", service,
            arguments: [
                ("NewRemoteHost", ""), ("NewExternalPort", "\(externalPort)"), ("NewProtocol", "UDP"),
            ])
    }

    package static func getExternalIPAddress(_ service: IGDService) -> [UInt8] {
        action("GetExternalIPAddress", service, arguments: [])
    }

    static func action(_ name: String, _ service: IGDService, arguments: [(String, String)]) -> [UInt8] {
        let args = arguments.map { "<\($0.0)>\(XMLScanner.escape($0.1))</\($0.0)>" }.joined()
        let body =
            "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
            + "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
            + "<u:\(name) xmlns:u=\"\(service.serviceType)\">\(args)</u:\(name)></s:Body></s:Envelope>\r\n"
        let head =
            "POST \(service.controlURL.path) HTTP/1.1\r\nHost: \(service.controlURL.host)\r\n"
            + "Content-Type: text/xml; charset=\"utf-8\"\r\nContent-Length: \(body.utf8.count)\r\n"
            + "SOAPAction: \"\(service.serviceType)#\(name)\"\r\nConnection: close\r\nUser-Agent: t2u\r\n\r\n"
        return Array((head + body).utf8)
    }

    /// The answer to an action: a fault (HTTP 500 with UPnPError), the external address for
    /// GetExternalIPAddress, or ok for the others.
    package static func parse(_ response: HTTPResponse) throws(GatewayParseError) -> Answer {
        let xml = XMLScanner(response.body)
        if response.status != 200 {
            guard let codeText = xml.firstText("errorCode"), let code = Int(codeText) else {
                throw .unexpected("IGD HTTP status \(response.status) without a UPnP error")
            }
            let words = String((xml.firstText("errorDescription") ?? "").prefix(100).filter { !$0.isNewline })
            return .fault(code: code, description: words)
        }
        guard xml.elements("Body").first != nil else { throw .invalid("SOAP answer (no Body)") }
        if let text = xml.firstText("NewExternalIPAddress") {
            guard let address = NetAddress(ipv4: text, port: 0), case .v4(let v) = address.host, v != 0 else {
                throw .invalid("NewExternalIPAddress \(String(text.prefix(40)).debugDescription)")
            }
            return .externalAddress(v)
        }
        return .ok
    }
}
