// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto

/// A vendor's statement that `uuid` belongs to `deviceKey` (closed enrollment, docs/SECURITY.md §1).
///
/// Bytes (97): version(1) = 1 | caPublicKey(32, Ed25519) | signature(64) over
/// "t2u device certificate v1" | u8 len(uuid) | uuid | deviceKey(32).
/// The UUID and device key are not carried: the certificate is checked against the ones the
/// device registers with, so it is useless for any other (UUID, key).
package struct DeviceCertificate: Sendable, Equatable {
    package static let version: UInt8 = 1
    package static let length = 1 + 32 + 64
    package static let label = Array("t2u device certificate v1".utf8)

    package var caPublicKey: [UInt8]
    package var signature: [UInt8]

    package enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        case wrongLength(Int)
        case unknownVersion(UInt8)
        /// The certificate file: no hex line, more than one, or not hexadecimal.
        case notHex(line: Int)
        case noCertificate
        case severalCertificates(line: Int)

        package var description: String {
            switch self {
            case .wrongLength(let n): "a device certificate is \(DeviceCertificate.length) bytes, got \(n)"
            case .unknownVersion(let v): "unknown device certificate version \(v) (this build reads version 1)"
            case .notHex(let line): "line \(line) is not hexadecimal"
            case .noCertificate: "no certificate line (expected one line of \(DeviceCertificate.length * 2) hex digits)"
            case .severalCertificates(let line): "a second certificate at line \(line); put one certificate per file"
            }
        }
    }

    /// Why a certificate does not admit a (UUID, key).
    package enum Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        case untrustedCA([UInt8])
        case badSignature
        case invalidUUID

        package var description: String {
            switch self {
            case .untrustedCA(let key): "issued by CA \(Hex.encode(key)), which is not a configured device CA"
            case .badSignature:
                "the signature does not match this UUID and device key (issued for another device or key?)"
            case .invalidUUID: "the UUID is longer than 255 bytes"
            }
        }
    }

    package init(caPublicKey: [UInt8], signature: [UInt8]) {
        self.caPublicKey = caPublicKey
        self.signature = signature
    }

    /// Parses the 97 certificate bytes.
    package init(bytes: [UInt8]) throws(ParseError) {
        guard bytes.count == Self.length else { throw .wrongLength(bytes.count) }
        guard bytes[0] == Self.version else { throw .unknownVersion(bytes[0]) }
        caPublicKey = Array(bytes[1..<33])
        signature = Array(bytes[33..<97])
    }

    package var bytes: [UInt8] { [Self.version] + caPublicKey + signature }

    /// Signs (uuid, deviceKey) with a vendor CA key (`t2u cert issue`).
    package static func issue(
        ca: Curve25519.Signing.PrivateKey, uuid: String, deviceKey: [UInt8]
    ) throws(Rejection) -> DeviceCertificate {
        guard let message = message(uuid: uuid, deviceKey: deviceKey) else { throw .invalidUUID }
        // Ed25519 signing fails only on a broken private key, which the type cannot hold.
        let signature = try! ca.signature(for: message)
        return DeviceCertificate(caPublicKey: Array(ca.publicKey.rawRepresentation), signature: Array(signature))
    }

    /// Checks that one of `trustedCAs` signed exactly this (uuid, deviceKey).
    package func verify(uuid: String, deviceKey: [UInt8], trustedCAs: [[UInt8]]) throws(Rejection) {
        guard trustedCAs.contains(caPublicKey) else { throw .untrustedCA(caPublicKey) }
        guard let message = Self.message(uuid: uuid, deviceKey: deviceKey) else { throw .invalidUUID }
        guard deviceKey.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: caPublicKey),
            key.isValidSignature(signature, for: message)
        else { throw .badSignature }
    }

    static func message(uuid: String, deviceKey: [UInt8]) -> [UInt8]? {
        let uuidBytes = Array(uuid.utf8)
        guard uuidBytes.count <= 255 else { return nil }
        return label + [UInt8(uuidBytes.count)] + uuidBytes + deviceKey
    }

    // MARK: File format

    /// The certificate file: a comment naming UUID and device key for people, then the hex line.
    package func fileText(uuid: String, deviceKey: [UInt8]) -> String {
        "# t2u device certificate uuid=\(uuid) device-key=\(Hex.encode(deviceKey)) ca=\(Hex.encode(caPublicKey))\n"
            + Hex.encode(bytes) + "\n"
    }

    /// Reads a certificate file: `#` comments and blank lines (LF or CRLF) ignored, exactly one
    /// line of hex. The comment is not trusted: `verify` decides.
    package init(fileText text: String) throws(ParseError) {
        var found: [UInt8]?
        // Split on the byte: "\r\n" is one Character, so a Character split would miss CRLF lines.
        for (index, raw) in Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let blank: Set<UInt8> = [0x0D, 0x20, 0x09]
            var line = raw[...]
            while let last = line.last, blank.contains(last) { line = line.dropLast() }
            while let first = line.first, blank.contains(first) { line = line.dropFirst() }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            guard found == nil else { throw .severalCertificates(line: index + 1) }
            guard let bytes = Hex.decode(line) else { throw .notHex(line: index + 1) }
            found = bytes
        }
        guard let found else { throw .noCertificate }
        try self.init(bytes: found)
    }
}
