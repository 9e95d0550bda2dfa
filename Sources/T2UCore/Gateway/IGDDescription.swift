// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The WAN connection service of an IGD's device description: its service type (what SOAP
/// actions are addressed to) and control URL.
package struct IGDService: Equatable, Sendable {
    package var serviceType: String
    package var controlURL: IGDURL

    package init(serviceType: String, controlURL: IGDURL) {
        self.serviceType = serviceType
        self.controlURL = controlURL
    }

    /// Preferred first: WANIPConnection:2, :1, then WANPPPConnection:1.
    static let types = [
        "urn:schemas-upnp-org:service:WANIPConnection:2", "urn:schemas-upnp-org:service:WANIPConnection:1",
        "urn:schemas-upnp-org:service:WANPPPConnection:1",
    ]

    /// Finds the service in the description fetched from `location` (relative control URLs are
    /// resolved against it, or against `URLBase` when present on the same host).
    package static func parse(description bytes: [UInt8], location: IGDURL) throws(GatewayParseError) -> IGDService {
        guard bytes.count <= HTTPResponse.maxLength else { throw .tooLarge(HTTPResponse.maxLength) }
        let xml = XMLScanner(bytes)
        var base = location
        if let urlBase = xml.firstText("URLBase"), !urlBase.isEmpty {
            base = try location.resolving(urlBase)
        }
        var best: (rank: Int, service: IGDService)?
        for block in xml.elements("service").prefix(64) {
            guard let type = xml.firstText("serviceType", in: block), let rank = types.firstIndex(of: type),
                let control = xml.firstText("controlURL", in: block)
            else { continue }
            if let best, best.rank <= rank { continue }
            best = (rank, IGDService(serviceType: type, controlURL: try base.resolving(control)))
        }
        guard let best else {
            throw .unexpected("device description without a WANIPConnection or WANPPPConnection service")
        }
        return best.service
    }
}
