// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import ArgumentParser
import T2UCore
import T2UServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `t2u cert keygen|issue`: the vendor's closed-enrollment tools (docs/SECURITY.md §1).
struct Cert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Vendor certificates for closed enrollment (t2u-server --device-ca).",
        discussion: """
            At the factory: `t2u cert keygen --out ca.key` once (keep ca.key offline; give its public key to t2u-server --device-ca), then per device: `t2usvr UUID SERVER PORT --state KEYFILE --print-public-key` and `t2u cert issue --ca-key ca.key --uuid UUID --device-key HEX --out device.cert`; the device runs with --cert device.cert.
            """,
        subcommands: [Keygen.self, Issue.self])

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a vendor CA key file (mode 0600) and print its public key.")

        @Option(help: ArgumentHelp("The CA private key file to create (never overwritten).", valueName: "path"))
        var out: String

        @OptionGroup var log: LogOptions

        func run() throws {
            log.bootstrap()
            do {
                let publicKey = try VendorCA.keygen(path: out)
                print(Hex.encode(publicKey))
            } catch {
                throw ValidationError(error.description)
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Certify that a UUID belongs to a device key.")

        @Option(help: ArgumentHelp("The CA private key file (t2u cert keygen).", valueName: "path"))
        var caKey: String

        @Option(help: "The device UUID.")
        var uuid: String

        @Option(
            help: ArgumentHelp("The device public key, 64 hex digits (t2usvr --print-public-key).", valueName: "hex"))
        var deviceKey: String

        @Option(
            help: ArgumentHelp(
                "Where to write the certificate (for t2usvr --cert); - for standard output.", valueName: "path"))
        var out: String = "-"

        @OptionGroup var log: LogOptions

        func run() throws {
            log.bootstrap()
            let text: String
            do {
                text = try VendorCA.issue(caPath: caKey, uuid: uuid, deviceKeyHex: deviceKey)
            } catch {
                throw ValidationError(error.description)
            }
            if out == "-" { return print(text, terminator: "") }
            guard let file = fopen(out, "wx") else {
                throw ValidationError(
                    "cannot create \(out): \(String(cString: strerror(errno))) (it must not exist yet)")
            }
            defer { fclose(file) }
            guard fputs(text, file) >= 0, fflush(file) == 0 else { throw ValidationError("cannot write \(out)") }
        }
    }
}
