// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Testing

@testable import T2UCore

/// The PCP, NAT-PMP, SSDP, IGD description and SOAP codecs against the RFC layouts and what
/// miniupnpd sends.
@Suite struct GatewayCodecTests {
    typealias F = GatewayFixtures

    @Test func natPMPRequestsHaveTheRFCLayout() {
        #expect(NATPMPMessage.externalAddressRequest() == [0, 0])
        #expect(
            NATPMPMessage.mapUDPRequest(internalPort: 0x1234, suggestedExternalPort: 0x5678, lifetime: 7200)
                == [0, 1, 0, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 0x1C, 0x20])
    }

    @Test func natPMPResponsesParse() throws {
        #expect(
            try NATPMPMessage.parse(F.natPMPAddress()) == .externalAddress(result: 0, epoch: 100, address: F.external))
        #expect(
            try NATPMPMessage.parse(F.natPMPMap(internalPort: 9, externalPort: 10, lifetime: 60))
                == .mapUDP(result: 0, epoch: 100, internalPort: 9, externalPort: 10, lifetime: 60))
        // The 8-byte "unsupported version" answer a NAT-PMP gateway gives to PCP.
        #expect(
            try NATPMPMessage.parse([0, 129, 0, 1, 0, 0, 0, 5])
                == .mapUDP(result: 1, epoch: 5, internalPort: 0, externalPort: 0, lifetime: 0))
        #expect(throws: GatewayParseError.truncated("NAT-PMP map response")) {
            try NATPMPMessage.parse([0, 129, 0, 0, 0, 0, 0, 5])
        }
        #expect(throws: GatewayParseError.unexpected("NAT-PMP request (opcode 1)")) {
            try NATPMPMessage.parse([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        }
        #expect(throws: GatewayParseError.tooLarge(16)) { try NATPMPMessage.parse([UInt8](repeating: 0, count: 17)) }
    }

    @Test func pcpMapRequestHasTheRFCLayout() {
        let nonce = [UInt8](1...12)
        let request = PCPMessage.mapRequest(
            client: F.client, nonce: nonce, internalPort: 4000, suggestedExternalPort: 4000,
            suggestedExternalAddress: 0, lifetime: 7200)
        #expect(request.count == 60)
        #expect(Array(request[0..<8]) == [2, 1, 0, 0, 0, 0, 0x1C, 0x20])
        #expect(Array(request[8..<24]) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 10])
        #expect(Array(request[24..<36]) == nonce)
        #expect(request[36] == 17)
        #expect(Array(request[40..<44]) == [0x0F, 0xA0, 0x0F, 0xA0])
        #expect(request[44..<60].allSatisfy { $0 == 0 })
    }

    @Test func pcpResponsesParse() throws {
        let request = PCPMessage.mapRequest(
            client: F.client, nonce: [UInt8](1...12), internalPort: 4000, suggestedExternalPort: 0,
            suggestedExternalAddress: 0, lifetime: 60)
        #expect(
            try PCPMessage.parse(F.pcpMapResponse(to: request, lifetime: 60, epoch: 7, externalPort: 4001))
                == .map(
                    result: .success, lifetime: 60, epoch: 7, nonce: [UInt8](1...12), internalPort: 4000,
                    externalPort: 4001,
                    externalAddress: F.external))
        #expect(try PCPMessage.parse(F.pcpAnnounce(epoch: 3)) == .announce(result: .success, epoch: 3))
        #expect(throws: GatewayParseError.unexpected("PCP request")) { try PCPMessage.parse(request) }
        #expect(throws: GatewayParseError.truncated("PCP MAP response")) {
            try PCPMessage.parse(Array(F.pcpMapResponse(to: request).prefix(40)))
        }
        #expect(PCPResultCode(rawValue: 2).description == "not authorized")
        #expect(PCPResultCode.noResources.isTransient && !PCPResultCode.notAuthorized.isTransient)
    }

    @Test func ssdpSearchAndLocation() throws {
        let search = String(decoding: SSDPMessage.search(), as: UTF8.self)
        #expect(
            search.hasPrefix("M-SEARCH * HTTP/1.1\r\n") && search.contains("MAN: \"ssdp:discover\"")
                && search.hasSuffix("\r\n\r\n"))
        let url = try SSDPMessage.location(F.ssdpResponse(), from: F.gateway.host)
        #expect(url == IGDURL(host: NetAddress(ipv4: (192, 0, 2, 1), port: 5000), path: "/rootDesc.xml"))
        // A LAN host may not point us at another host.
        #expect(throws: GatewayParseError.self) {
            try SSDPMessage.location(F.ssdpResponse(location: "http://198.51.100.7/x"), from: F.gateway.host)
        }
        #expect(throws: GatewayParseError.self) {
            try SSDPMessage.location(F.ssdpResponse(location: "http://router.lan/x"), from: F.gateway.host)
        }
        #expect(throws: GatewayParseError.self) {
            try SSDPMessage.location(Array("NOTIFY * HTTP/1.1\r\n\r\n".utf8), from: F.gateway.host)
        }
    }

    @Test func descriptionYieldsTheWANIPConnectionControlURL() throws {
        let location = try IGDURL(parsing: F.location)
        let service = try IGDService.parse(description: Array(F.description.utf8), location: location)
        #expect(service.serviceType == "urn:schemas-upnp-org:service:WANIPConnection:1")
        #expect(service.controlURL.description == "http://192.0.2.1:5000/ctl/IPConn")
        let offHost = F.description.replacingAll("/ctl/IPConn", "http://198.51.100.9:80/ctl")
        #expect(throws: GatewayParseError.invalid("controlURL on another host")) {
            try IGDService.parse(description: Array(offHost.utf8), location: location)
        }
        #expect(throws: GatewayParseError.self) {
            try IGDService.parse(description: Array("<root/>".utf8), location: location)
        }
    }

    @Test func soapRequestsAndAnswers() throws {
        let service = IGDService(
            serviceType: "urn:schemas-upnp-org:service:WANIPConnection:1",
            controlURL: try IGDURL(parsing: "http://192.0.2.1:5000/ctl/IPConn"))
        let add = String(
            decoding: IGDSOAP.addPortMapping(
                service, externalPort: 4000, internalClient: F.client, internalPort: 4001,
                leaseSeconds: 3600, label: "t2u <dev>"), as: UTF8.self)
        #expect(add.hasPrefix("POST /ctl/IPConn HTTP/1.1\r\nHost: 192.0.2.1:5000\r\n"))
        #expect(add.contains("SOAPAction: \"urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping\""))
        #expect(
            add.contains("<NewInternalClient>192.0.2.10</NewInternalClient>")
                && add.contains("<NewProtocol>UDP</NewProtocol>"))
        #expect(add.contains("t2u &lt;dev&gt;"))
        let parts = add.split(separator: "\r\n\r\n", maxSplits: 1)
        #expect(parts.count == 2 && add.contains("Content-Length: \(parts[1].utf8.count)\r\n"))
        #expect(try IGDSOAP.parse(HTTPResponse.parse(F.addOK)) == .ok)
        #expect(try IGDSOAP.parse(HTTPResponse.parse(F.externalIP())) == .externalAddress(F.external))
        #expect(
            try IGDSOAP.parse(HTTPResponse.parse(F.fault(718, "ConflictInMappingEntry")))
                == .fault(code: 718, description: "ConflictInMappingEntry"))
        #expect(throws: GatewayParseError.self) { try IGDSOAP.parse(HTTPResponse.parse(F.externalIP("not-an-ip"))) }
        #expect(throws: GatewayParseError.self) {
            try IGDSOAP.parse(HTTPResponse.parse(F.http(status: 404, body: "nope")))
        }
    }

    @Test func httpBodiesByLengthChunksAndClose() throws {
        #expect(try HTTPResponse.parse(F.http(body: "hello world", chunked: true)).body == Array("hello world".utf8))
        #expect(
            try HTTPResponse.parse(Array("HTTP/1.0 200 OK\r\n\r\nuntil close".utf8)).body == Array("until close".utf8))
        #expect(throws: GatewayParseError.truncated("HTTP body (2 of 10 bytes)")) {
            try HTTPResponse.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab".utf8))
        }
        #expect(throws: GatewayParseError.truncated("HTTP head")) {
            try HTTPResponse.parse(Array("HTTP/1.1 200 OK\r\n".utf8))
        }
        #expect(throws: GatewayParseError.tooLarge(HTTPResponse.maxLength)) {
            try HTTPResponse.parse([UInt8](repeating: 65, count: HTTPResponse.maxLength + 1))
        }
    }
}
