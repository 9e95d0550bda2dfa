// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import T2UCore
import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A vendor's certificate authority key on disk (`t2u cert keygen|issue`): an Ed25519 private
/// key as 64 hex digits in a file of mode 0600 (the same strict file as device and server keys:
/// refused when group/world-accessible or a symlink). Keep it offline.
package enum VendorCA {
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case exists(String)
        case keyFile(KeyFileError)
        case deviceKey(String)
        case certificate(String)

        package var description: String {
            switch self {
            case .exists(let path):
                "\(path) exists; refusing to overwrite a CA key (pick another --out, or delete it if you mean to)"
            case .keyFile(let error): error.description
            case .deviceKey(let text):
                "--device-key must be the device's public key, 64 hex digits (t2usvr --print-public-key), got '\(text)'"
            case .certificate(let detail): detail
            }
        }
    }

    /// Creates a new CA key file (never replaces one); returns the CA public key.
    package static func keygen(path: String, entropy: EntropySource = SystemEntropy()) throws(Failure) -> [UInt8] {
        var info = stat()
        if lstat(path, &info) == 0 { throw .exists(path) }
        do {
            // KeyFile writes 32 random bytes 0600 with O_EXCL; any 32 bytes are an Ed25519 seed.
            _ = try KeyFile.loadOrCreate(path: path, what: "CA key file", entropy: entropy)
        } catch {
            throw .keyFile(error)
        }
        return try Array(load(path: path).publicKey.rawRepresentation)
    }

    package static func load(path: String) throws(Failure) -> Curve25519.Signing.PrivateKey {
        // The file format of every t2u key file; its 32 bytes are the Ed25519 seed here.
        let seed: [UInt8]
        do {
            seed = Array(try KeyFile.load(path: path, what: "CA key file").privateKey.rawRepresentation)
        } catch {
            throw .keyFile(error)
        }
        // Any 32 bytes are a valid Ed25519 seed.
        return try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    /// The certificate file text for (uuid, device key) signed by the CA key at `caPath`.
    package static func issue(caPath: String, uuid: String, deviceKeyHex: String) throws(Failure) -> String {
        guard deviceKeyHex.utf8.count == 64, let deviceKey = Hex.decode(deviceKeyHex) else {
            throw .deviceKey(deviceKeyHex)
        }
        let ca = try load(path: caPath)
        do {
            return try DeviceCertificate.issue(ca: ca, uuid: uuid, deviceKey: deviceKey).fileText(
                uuid: uuid, deviceKey: deviceKey)
        } catch {
            throw .certificate("cannot certify \(uuid): \(error)")
        }
    }
}
