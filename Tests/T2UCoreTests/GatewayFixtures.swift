// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

@testable import T2UCore

/// Answers of a simulated gateway (PCP, NAT-PMP, SSDP, IGD) for the gateway tests.
enum GatewayFixtures {
    static let gateway = NetAddress(ipv4: (192, 0, 2, 1), port: 5351)
    static let client: UInt32 = 0xC000_020A  // 192.0.2.10
    static let external: UInt32 = 0xCB00_7102  // 203.0.113.2
    static let location = "http://192.0.2.1:5000/rootDesc.xml"

    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func u32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    /// A PCP MAP response answering `request` (its nonce and internal port).
    static func pcpMapResponse(
        to request: [UInt8], result: UInt8 = 0, lifetime: UInt32 = 7200, epoch: UInt32 = 100,
        externalPort: UInt16 = 40_000, address: UInt32 = external
    ) -> [UInt8] {
        var out: [UInt8] = [2, 0x81, 0, result] + u32(lifetime) + u32(epoch) + [UInt8](repeating: 0, count: 12)
        out += request[24..<36]  // nonce
        out += [17, 0, 0, 0] + request[40..<42] + u16(externalPort)
        out += [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + u32(address)
        return out
    }

    static func pcpAnnounce(epoch: UInt32) -> [UInt8] {
        [2, 0x80, 0, 0] + u32(0) + u32(epoch) + [UInt8](repeating: 0, count: 12)
    }

    static func natPMPAddress(result: UInt16 = 0, epoch: UInt32 = 100, address: UInt32 = external) -> [UInt8] {
        [0, 128] + u16(result) + u32(epoch) + u32(address)
    }

    static func natPMPMap(
        result: UInt16 = 0, epoch: UInt32 = 100, internalPort: UInt16, externalPort: UInt16 = 40_001,
        lifetime: UInt32 = 7200
    ) -> [UInt8] {
        [0, 129] + u16(result) + u32(epoch) + u16(internalPort) + u16(externalPort) + u32(lifetime)
    }

    static func ssdpResponse(location: String = location) -> [UInt8] {
        Array(
            ("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
                + "USN: uuid:x::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\nSERVER: Debian UPnP/1.1 MiniUPnPd/2.3.1\r\n"
                + "LOCATION: \(location)\r\n\r\n").utf8)
    }

    static let description = """
        <?xml version="1.0"?>
        <root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>1</minor></specVersion>
        <device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
        <serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>
        <controlURL>/ctl/L3F</controlURL></service></serviceList>
        <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
        <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
        <serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
        <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL>
        <eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList>
        </device></deviceList></device></deviceList></device></root>
        """

    static func http(status: Int = 200, body: String, chunked: Bool = false) -> [UInt8] {
        let reason = status == 200 ? "OK" : "Internal Server Error"
        if chunked {
            let bytes = Array(body.utf8)
            let half = bytes.count / 2
            let chunks = [Array(bytes[..<half]), Array(bytes[half...])].map {
                String($0.count, radix: 16) + "\r\n" + String(decoding: $0, as: UTF8.self) + "\r\n"
            }
            return Array(
                ("HTTP/1.1 \(status) \(reason)\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks.joined() + "0\r\n\r\n")
                    .utf8)
        }
        return Array(
            "HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/xml\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                .utf8)
    }

    static func soap(_ inner: String) -> String {
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\(inner)</s:Body></s:Envelope>"
    }

    static let addOK = http(
        body: soap("<u:AddPortMappingResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"/>"))
    static let deleteOK = http(
        body: soap("<u:DeletePortMappingResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"/>"))
    static func externalIP(_ text: String = "203.0.113.2") -> [UInt8] {
        http(
            body: soap(
                "<u:GetExternalIPAddressResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"><NewExternalIPAddress>\(text)</NewExternalIPAddress></u:GetExternalIPAddressResponse>"
            ))
    }
    static func fault(_ code: Int, _ words: String) -> [UInt8] {
        http(
            status: 500,
            body: soap(
                "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>\(code)</errorCode><errorDescription>\(words)</errorDescription></UPnPError></detail></s:Fault>"
            ))
    }
}
