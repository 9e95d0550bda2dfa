// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A socket that could not be bound, in words that name the port and what to do (instead of
/// `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)`).
package struct BindFailure: Error, CustomStringConvertible {
    /// "UDP", "TCP".
    package var transport: String
    package var host: String
    package var port: Int
    /// The option that sets the port ("--port"), named in the advice.
    package var option: String
    package var errno: Int32
    /// The underlying error's text for causes without words here.
    package var detail: String

    /// Nil when `error` is not an I/O error of the socket (then report it as it is).
    package init?(_ error: Error, transport: String, host: String, port: Int, option: String) {
        guard let io = error as? IOError else { return nil }
        self.transport = transport
        self.host = host
        self.port = port
        self.option = option
        self.errno = io.errnoCode
        self.detail = "\(io)"
    }

    package var description: String {
        let place = "\(transport) port \(port) on \(host)"
        switch errno {
        case EADDRINUSE:
            return
                "\(place) is in use by another process: stop that process or choose another \(option) (0 picks a free port)"
        case EACCES:
            return
                "\(place): permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE): choose another \(option)"
        case EADDRNOTAVAIL:
            return "\(place): \(host) is not an address of this host: check --bind"
        default:
            return "\(place) cannot be opened: \(detail)"
        }
    }
}
