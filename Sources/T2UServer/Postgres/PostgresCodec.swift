// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation
import NIOCore
import T2UCore
import T2UNIO

/// Text forms of what the database and the notifications carry. Everything read back is
/// checked: a malformed row or payload is skipped (and logged by the caller), never trusted.
enum PostgresCodec {
    static func text(_ address: NetAddress) -> String { address.description }

    /// "192.0.2.1:7000" or "[2001:db8::1]:7000".
    static func address(_ text: String) -> NetAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let v4 = NetAddress(ipv4: host, port: port) { return v4 }
        guard host.contains(":"), let socket = try? SocketAddress(ipAddress: host, port: Int(port)) else { return nil }
        return NetAddress(socket)
    }

    static func text(_ addresses: [NetAddress]) -> String { addresses.map(text).joined(separator: ",") }

    static func addresses(_ text: String) -> [NetAddress]? {
        if text.isEmpty { return [] }
        var result: [NetAddress] = []
        for part in text.split(separator: ",") {
            guard let address = address(String(part)) else { return nil }
            result.append(address)
        }
        return result
    }

    /// What a server announces after writing a presence row ("upsert" or "delete").
    struct PresenceChange: Codable, Equatable {
        var op: String
        var role: Int
        var uuid: String
        var home: String
    }

    static func presenceChange(_ payload: String) -> PresenceChange? {
        try? JSONDecoder().decode(PresenceChange.self, from: Data(payload.utf8))
    }

    static func payload(_ change: PresenceChange) -> String { json(change) }

    /// What a server announces after writing a binding row ("bind" or "release").
    struct BindingNote: Codable, Equatable {
        var op: String
        var uuid: String
        /// The server that wrote it (it ignores its own notes).
        var server: String
    }

    static func bindingNote(_ payload: String) -> BindingNote? {
        try? JSONDecoder().decode(BindingNote.self, from: Data(payload.utf8))
    }

    static func payload(_ note: BindingNote) -> String { json(note) }

    private static func json<T: Encodable>(_ value: T) -> String {
        guard let data = try? JSONEncoder().encode(value) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A peer introduction as JSON (well under NOTIFY's 8000-byte payload limit: the UUIDs are
    /// at most 64 bytes and the candidates at most 8).
    private struct PeerPayload: Codable {
        var target: String
        var origin: String
        var session: UInt64
        var device: String
        var client: String
        var cid: UInt64
        var clientAddress: String
        var candidates: [String]
        var via: String
        var relay: Bool
    }

    static func payload(_ intro: PeerIntroduction) -> String {
        let payload = PeerPayload(
            target: intro.targetServerID, origin: intro.originServerID, session: intro.sessionID,
            device: intro.deviceUUID,
            client: intro.clientUUID, cid: intro.clientConnectionID, clientAddress: text(intro.clientPublicAddress),
            candidates: intro.clientCandidates.map(text), via: text(intro.relayVia), relay: intro.relayAllowed)
        guard let data = try? JSONEncoder().encode(payload) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    static func peerIntroduction(_ text: String) -> PeerIntroduction? {
        guard let p = try? JSONDecoder().decode(PeerPayload.self, from: Data(text.utf8)),
            p.device.utf8.count <= SignalingLimits.maxUUIDLength, p.client.utf8.count <= SignalingLimits.maxUUIDLength,
            p.candidates.count <= SignalingLimits.maxCandidates,
            let clientAddress = address(p.clientAddress), let via = address(p.via)
        else { return nil }
        var candidates: [NetAddress] = []
        for candidate in p.candidates {
            guard let a = address(candidate) else { return nil }
            candidates.append(a)
        }
        return PeerIntroduction(
            targetServerID: p.target, originServerID: p.origin, sessionID: p.session, deviceUUID: p.device,
            clientUUID: p.client,
            clientConnectionID: p.cid, clientPublicAddress: clientAddress, clientCandidates: candidates, relayVia: via,
            relayAllowed: p.relay)
    }
}
