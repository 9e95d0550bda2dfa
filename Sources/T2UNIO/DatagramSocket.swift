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

/// The UDP socket of a `UDPEndpoint`, opened here rather than by NIO so that sends can be
/// made on it directly. NIO's `DatagramChannel` closes itself on any `sendmsg`/`sendmmsg` error
/// other than EMSGSIZE and EHOSTUNREACH (ENETUNREACH, EPERM, EADDRNOTAVAIL, ENOBUFS, EINVAL,
/// EACCES ...), silently failing every later write; one datagram to an unroutable candidate
/// would then end all signaling, keepalives and data. NIO still reads from the socket
/// (`DatagramBootstrap.withBoundSocket`) and still queues what the kernel refuses with EAGAIN.
enum DatagramSocket {
    /// Binding "::" asks for one socket carrying both families.
    static let dualStackHost = "::"

    /// A non-blocking UDP socket with SO_REUSEADDR bound to `host:port`; the caller hands it to
    /// NIO (which then owns and closes it). "::" is dual-stack (IPV6_V6ONLY off, whatever the
    /// system default), and "0.0.0.0" where the host has no IPv6 at all.
    static func bound(host: String, port: Int) throws -> CInt {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family: CInt = address.protocol == .inet6 ? AF_INET6 : AF_INET
        #if canImport(Darwin)
        let type = SOCK_DGRAM
        #else
        let type = CInt(SOCK_DGRAM.rawValue)
        #endif
        let descriptor = socket(family, type, 0)
        guard descriptor >= 0 else {
            let code = errno
            if host == dualStackHost, code == EAFNOSUPPORT { return try bound(host: "0.0.0.0", port: port) }
            throw IOError(errnoCode: code, reason: "socket(UDP)")
        }
        do {
            var one: CInt = 1
            guard setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
                throw IOError(errnoCode: errno, reason: "setsockopt(SO_REUSEADDR)")
            }
            if host == dualStackHost {
                var zero: CInt = 0
                guard
                    setsockopt(descriptor, CInt(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<CInt>.size))
                        == 0
                else {
                    throw IOError(errnoCode: errno, reason: "setsockopt(IPV6_V6ONLY=0)")
                }
            }
            let flags = fcntl(descriptor, F_GETFL)
            guard flags >= 0, fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) == 0 else {
                throw IOError(errnoCode: errno, reason: "fcntl(O_NONBLOCK)")
            }
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            let result = address.withSockAddr { pointer, length in bind(descriptor, pointer, socklen_t(length)) }
            guard result == 0 else { throw IOError(errnoCode: errno, reason: "bind(\(host):\(port))") }
            return descriptor
        } catch {
            close(descriptor)
            throw error
        }
    }

    enum SendOutcome: Equatable {
        case sent
        /// The socket buffer is full (EAGAIN): the datagrams were not sent; try again when writable.
        case wouldBlock
        /// The kernel refused this send (errno); the socket is fine.
        case failed(CInt)
    }

    /// One `sendmsg` of `bytes` to `address`; with `segmentSize`, a UDP_SEGMENT (GSO) run.
    static func send(
        _ bytes: ByteBuffer, to address: SocketAddress, segmentSize: Int?, on descriptor: CInt
    ) -> SendOutcome {
        bytes.withUnsafeReadableBytes { payload in
            address.withSockAddr { name, nameLength in
                var iov = iovec(
                    iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count)
                return withUnsafeMutablePointer(to: &iov) { iovPointer in
                    var message = msghdr()
                    message.msg_name = UnsafeMutableRawPointer(mutating: name)
                    message.msg_namelen = socklen_t(nameLength)
                    message.msg_iov = iovPointer
                    message.msg_iovlen = 1
                    guard let segmentSize else { return call(&message, descriptor) }
                    return withSegmentControl(UInt16(clamping: segmentSize), &message) { call(&$0, descriptor) }
                }
            }
        }
    }

    private static func call(_ message: inout msghdr, _ descriptor: CInt) -> SendOutcome {
        while true {
            if sendmsg(descriptor, &message, CInt(MSG_DONTWAIT)) >= 0 { return .sent }
            let code = errno
            if code == EINTR { continue }
            return code == EAGAIN || code == EWOULDBLOCK ? .wouldBlock : .failed(code)
        }
    }

    /// Attaches a `UDP_SEGMENT` control message (Linux; elsewhere GSO is never on).
    private static func withSegmentControl(
        _ segmentSize: UInt16, _ message: inout msghdr, _ body: (inout msghdr) -> SendOutcome
    ) -> SendOutcome {
        #if os(Linux) || os(Android)
        let header = MemoryLayout<cmsghdr>.size
        // CMSG_SPACE(2): header plus the payload rounded up to the header's alignment.
        var control = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &control) { raw in
            let cmsg = raw.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
            cmsg.pointee.cmsg_len = numericCast(header + 2)  // CMSG_LEN(sizeof(uint16_t))
            cmsg.pointee.cmsg_level = CInt(IPPROTO_UDP)  // SOL_UDP
            cmsg.pointee.cmsg_type = 103  // UDP_SEGMENT
            raw.storeBytes(of: segmentSize, toByteOffset: header, as: UInt16.self)
            message.msg_control = raw.baseAddress
            message.msg_controllen = numericCast(header + MemoryLayout<UInt64>.size)
            return body(&message)
        }
        #else
        return body(&message)
        #endif
    }
}
