// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `t2usvr --cert FILE` (docs/SECURITY.md §1): read at start and again on SIGHUP
/// (`DeviceReloader`), so both refuse a file the same way.
package enum DeviceCertificateFile {
    /// Why a certificate file is refused; says what to do.
    package struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        package let description: String
    }

    /// Loads `path` and checks it covers `uuid` and `deviceKey` (signed by the CA it names: the
    /// server decides whether it trusts that CA).
    package static func load(path: String, uuid: String, deviceKey: [UInt8]) throws(Failure) -> DeviceCertificate {
        guard let text = readText(path) else {
            throw Failure(description: "cannot read --cert \(path): \(String(cString: strerror(errno)))")
        }
        let certificate: DeviceCertificate
        do {
            certificate = try DeviceCertificate(fileText: text)
        } catch {
            throw Failure(description: "--cert \(path): \(error)")
        }
        do {
            try certificate.verify(uuid: uuid, deviceKey: deviceKey, trustedCAs: [certificate.caPublicKey])
        } catch {
            throw Failure(
                description: """
                    --cert \(path) does not certify UUID \(uuid) with this device's key \(Hex.encode(deviceKey)): \(error). \
                    Issue one for this UUID and key: t2u cert issue --ca-key CA.key --uuid \(uuid) --device-key \(Hex.encode(deviceKey))
                    """)
        }
        return certificate
    }

    /// At most 64 KiB: a certificate file is two short lines.
    private static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 65536 {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
