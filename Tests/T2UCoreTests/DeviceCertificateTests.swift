// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import Testing

@testable import T2UCore

/// Vendor certificates admit exactly the (UUID, key) a trusted CA signed; parsing untrusted
/// bytes only ever yields typed errors.
@Suite struct DeviceCertificateTests {
    static func ca(_ seed: UInt8) -> Curve25519.Signing.PrivateKey {
        try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: seed, count: 32))
    }
    let vendor = ca(1)
    let deviceKey = [UInt8](repeating: 0x42, count: 32)
    var trusted: [[UInt8]] { [Array(vendor.publicKey.rawRepresentation)] }

    func issue(
        uuid: String = "CAM-1", key: [UInt8]? = nil, by ca: Curve25519.Signing.PrivateKey? = nil
    ) throws -> DeviceCertificate {
        try DeviceCertificate.issue(ca: ca ?? vendor, uuid: uuid, deviceKey: key ?? deviceKey)
    }

    @Test func aValidCertificateVerifiesAndRoundTrips() throws {
        let cert = try issue()
        #expect(cert.bytes.count == 97 && cert.bytes[0] == 1)
        try cert.verify(uuid: "CAM-1", deviceKey: deviceKey, trustedCAs: trusted)
        #expect(try DeviceCertificate(bytes: cert.bytes) == cert)
        let text = cert.fileText(uuid: "CAM-1", deviceKey: deviceKey)
        #expect(text.hasPrefix("# t2u device certificate uuid=CAM-1 "))
        #expect(try DeviceCertificate(fileText: text) == cert)
        #expect(try DeviceCertificate(fileText: text.replacingAll("\n", with: "\r\n")) == cert)
    }

    @Test func anotherCAsCertificateIsRefused() throws {
        let rogue = try issue(by: Self.ca(2))
        #expect(throws: DeviceCertificate.Rejection.untrustedCA(Array(Self.ca(2).publicKey.rawRepresentation))) {
            try rogue.verify(uuid: "CAM-1", deviceKey: deviceKey, trustedCAs: trusted)
        }
        // A rogue signature under the trusted CA's name.
        let forged = DeviceCertificate(caPublicKey: trusted[0], signature: rogue.signature)
        #expect(throws: DeviceCertificate.Rejection.badSignature) {
            try forged.verify(uuid: "CAM-1", deviceKey: deviceKey, trustedCAs: trusted)
        }
    }

    @Test func aCertificateForAnotherUUIDOrKeyIsRefused() throws {
        let cert = try issue()
        #expect(throws: DeviceCertificate.Rejection.badSignature) {
            try cert.verify(uuid: "CAM-2", deviceKey: deviceKey, trustedCAs: trusted)
        }
        var other = deviceKey
        other[31] ^= 1
        #expect(throws: DeviceCertificate.Rejection.badSignature) {
            try cert.verify(uuid: "CAM-1", deviceKey: other, trustedCAs: trusted)
        }
        #expect(throws: DeviceCertificate.Rejection.badSignature) {
            try cert.verify(uuid: "CAM-1", deviceKey: Array(deviceKey.prefix(31)), trustedCAs: trusted)
        }
    }

    @Test func malformedBytesAndFilesAreTypedErrors() throws {
        let bytes = try issue().bytes
        #expect(throws: DeviceCertificate.ParseError.wrongLength(96)) {
            try DeviceCertificate(bytes: Array(bytes.prefix(96)))
        }
        #expect(throws: DeviceCertificate.ParseError.wrongLength(0)) { try DeviceCertificate(bytes: []) }
        var v2 = bytes
        v2[0] = 2
        #expect(throws: DeviceCertificate.ParseError.unknownVersion(2)) { try DeviceCertificate(bytes: v2) }
        #expect(throws: DeviceCertificate.ParseError.noCertificate) {
            try DeviceCertificate(fileText: "# only a comment\n\n")
        }
        #expect(throws: DeviceCertificate.ParseError.notHex(line: 2)) { try DeviceCertificate(fileText: "# c\nxyz\n") }
        let line = Hex.encode(bytes)
        #expect(throws: DeviceCertificate.ParseError.severalCertificates(line: 2)) {
            try DeviceCertificate(fileText: line + "\n" + line + "\n")
        }
    }

    /// Mutated certificates and files: typed errors only, and no mutation ever verifies.
    @Test func fuzzedCertificatesNeverCrashOrVerify() throws {
        let seed: UInt64 = 0xCE27
        let mutator = Mutator(seed: seed)
        let cert = try issue()
        let file = cert.fileText(uuid: "CAM-1", deviceKey: deviceKey)
        var parsed = 0
        for iteration in 0..<5_000 {
            let bytes = mutator.mutate(cert.bytes, donor: Array(file.utf8))
            let text = String(decoding: mutator.mutate(Array(file.utf8), donor: cert.bytes), as: UTF8.self)
            for candidate in [try? DeviceCertificate(bytes: bytes), try? DeviceCertificate(fileText: text)] {
                guard let candidate else { continue }
                parsed += 1
                guard candidate != cert else { continue }
                #expect(throws: (any Error).self, "seed \(seed) iteration \(iteration) verified a mutation") {
                    try candidate.verify(uuid: "CAM-1", deviceKey: deviceKey, trustedCAs: trusted)
                }
            }
        }
        #expect(parsed > 100)
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
