// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import T2UCore

/// The secret the servers of one cloud share (`--cluster-key-file`, docs/SECURITY.md §4): every
/// NOTIFY payload between servers and every binding row carries an HMAC-SHA256 under a key
/// derived from it, so another tenant of the database (which can NOTIFY any channel and write
/// rows) can neither inject introductions nor bind UUIDs.
///
/// Derived keys: HKDF-SHA256(ikm: secret, salt: "t2u cluster v1", info: "notify" | "binding" | "presence" | "server",
/// 32 bytes).
public struct ClusterKey: Sendable {
    public static let minimumLength = 32
    private let notifyKey: SymmetricKey
    private let bindingKey: SymmetricKey
    private let presenceKey: SymmetricKey
    private let serverKey: SymmetricKey

    public enum Invalid: Error, Equatable, CustomStringConvertible {
        case tooShort(Int)
        public var description: String {
            switch self {
            case .tooShort(let n):
                "the cluster key must be at least \(ClusterKey.minimumLength) bytes (got \(n)); make one with "
                    + "`head -c 32 /dev/urandom | xxd -p -c 64 > FILE; chmod 600 FILE` and give every server the same file"
            }
        }
    }

    public init(secret: [UInt8]) throws(Invalid) {
        guard secret.count >= Self.minimumLength else { throw .tooShort(secret.count) }
        let ikm = SymmetricKey(data: secret)
        let salt = Array("t2u cluster v1".utf8)
        notifyKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: ikm, salt: salt, info: Array("notify".utf8), outputByteCount: 32)
        bindingKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: ikm, salt: salt, info: Array("binding".utf8), outputByteCount: 32)
        presenceKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: ikm, salt: salt, info: Array("presence".utf8), outputByteCount: 32)
        serverKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: ikm, salt: salt, info: Array("server".utf8), outputByteCount: 32)
    }

    // MARK: NOTIFY payloads

    /// `HEXMAC SECONDS BODY`: MAC = HMAC(notify key, u8 len(channel) | channel | SECONDS | " " | BODY)
    /// in 64 hex digits; SECONDS is the sender's Unix time (receivers refuse payloads older than
    /// `maxAge` or from the future beyond it, so a captured payload is not replayed later).
    public func seal(channel: String, body: String, unixSeconds: Int64) -> String {
        let stamped = String(unixSeconds) + " " + body
        return Hex.encode(notifyMAC(channel: channel, stamped: stamped)) + " " + stamped
    }

    public enum OpenError: Error, Equatable {
        case malformed
        case badMAC
        case stale
    }

    /// The body of a payload sealed for `channel`, if its MAC holds and it is fresh.
    public func open(
        channel: String, payload: String, unixSeconds: Int64, maxAge: Int64 = 60
    ) throws(OpenError) -> String {
        let utf8 = Array(payload.utf8)
        guard utf8.count > 65, utf8[64] == UInt8(ascii: " "), let mac = Hex.decode(Array(utf8[0..<64])) else {
            throw .malformed
        }
        let stamped = String(decoding: utf8[65...], as: UTF8.self)
        guard
            HMAC<SHA256>.isValidAuthenticationCode(
                mac, authenticating: Self.notifyMessage(channel: channel, stamped: stamped),
                using: notifyKey)
        else { throw .badMAC }
        guard let space = stamped.firstIndex(of: " "), let sent = Int64(stamped[..<space]) else { throw .malformed }
        guard abs(unixSeconds - sent) <= maxAge else { throw .stale }
        return String(stamped[stamped.index(after: space)...])
    }

    private func notifyMAC(channel: String, stamped: String) -> [UInt8] {
        Array(
            HMAC<SHA256>.authenticationCode(
                for: Self.notifyMessage(channel: channel, stamped: stamped), using: notifyKey))
    }

    private static func notifyMessage(channel: String, stamped: String) -> [UInt8] {
        let name = Array(channel.utf8)
        return [UInt8(truncatingIfNeeded: name.count)] + name + Array(stamped.utf8)
    }

    // MARK: Binding rows

    /// MAC of a `t2u_device_bindings` row: HMAC(binding key, u8 len(uuid) | uuid | public_key).
    public func bindingMAC(uuid: String, publicKey: [UInt8]) -> [UInt8] {
        Array(
            HMAC<SHA256>.authenticationCode(
                for: Self.bindingMessage(uuid: uuid, publicKey: publicKey), using: bindingKey))
    }

    public func bindingValid(uuid: String, publicKey: [UInt8], mac: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: Self.bindingMessage(uuid: uuid, publicKey: publicKey),
            using: bindingKey)
    }

    // MARK: Presence rows

    /// MAC of a `t2u_presence` row's content (not `last_seen`): HMAC(presence key, role(1) and
    /// u16-length-prefixed uuid, home, address, public_key, extra, candidates (text forms as stored)).
    public func presenceMAC(
        role: UInt8, uuid: String, home: String, address: String, publicKey: [UInt8], extra: [UInt8],
        candidates: String
    ) -> [UInt8] {
        Array(
            HMAC<SHA256>.authenticationCode(
                for: Self.presenceMessage(role, uuid, home, address, publicKey, extra, candidates), using: presenceKey))
    }

    public func presenceValid(
        role: UInt8, uuid: String, home: String, address: String, publicKey: [UInt8], extra: [UInt8],
        candidates: String, mac: [UInt8]
    ) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: Self.presenceMessage(role, uuid, home, address, publicKey, extra, candidates),
            using: presenceKey)
    }

    private static func presenceMessage(
        _ role: UInt8, _ uuid: String, _ home: String, _ address: String, _ publicKey: [UInt8],
        _ extra: [UInt8], _ candidates: String
    ) -> [UInt8] {
        [role]
            + lengthPrefixed([
                Array(uuid.utf8), Array(home.utf8), Array(address.utf8), publicKey, extra, Array(candidates.utf8),
            ])
    }

    // MARK: Server rows

    /// MAC of a `t2u_servers` row's content (not `last_seen`): HMAC(server key, u16-length-prefixed
    /// server_id, advertise). The advertised address is where the others relay this server's
    /// sessions, so a row another database role wrote must not redirect them.
    public func serverMAC(serverID: String, advertise: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Self.serverMessage(serverID, advertise), using: serverKey))
    }

    public func serverValid(serverID: String, advertise: String, mac: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: Self.serverMessage(serverID, advertise), using: serverKey)
    }

    private static func serverMessage(_ serverID: String, _ advertise: String) -> [UInt8] {
        lengthPrefixed([Array(serverID.utf8), Array(advertise.utf8)])
    }

    private static func lengthPrefixed(_ fields: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for field in fields {
            out += [UInt8(truncatingIfNeeded: field.count >> 8), UInt8(truncatingIfNeeded: field.count)] + field
        }
        return out
    }

    private static func bindingMessage(uuid: String, publicKey: [UInt8]) -> [UInt8] {
        let bytes = Array(uuid.utf8)
        return [UInt8(truncatingIfNeeded: bytes.count)] + bytes + publicKey
    }
}
