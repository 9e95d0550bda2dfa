// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import Foundation
import NIOSSL
import X509

/// The TLS certificate of the TCP fallback listener: self-signed, made at start (P-256), never
/// stored. TLS there is camouflage for middleboxes (port 443 looking like HTTPS); agents do not
/// verify it, because the server is authenticated inside by t2u's own handshake against the
/// pinned server key.
enum StreamTLSIdentity {
    static func makeServerContext(commonName: String = "t2u") throws -> NIOSSLContext {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 365 * 86_400,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { SubjectAlternativeNames([.dnsName(commonName)]) },
            issuerPrivateKey: Certificate.PrivateKey(key))
        let pem = try certificate.serializeAsPEM().pemString
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.derRepresentation), format: .der)))
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }
}
