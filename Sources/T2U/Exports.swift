// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import CT2U
import Logging
import T2UClient
import T2UCore

// The C ABI of the Libt2u manual (Sources/CT2U/include/t2u.h) over T2UClient. Every argument is
// untrusted: bad input gives -1 (or a no-op for void functions), never a crash or an overflow.

/// Longest a C call waits for the SDK.
private let queryTimeout = 5.0
private let callTimeout = 10.0
private let searchTimeout: Nanos = .milliseconds(1500)

private var state: SDKState { SDKState.shared }

@_cdecl("t2u_init")
public func t2uInit(_ svraddr: UnsafePointer<CChar>?, _ svrport: UInt16, _ svrkey: UnsafePointer<CChar>?) {
    guard let server = validString(svraddr, maxBytes: 255), svrport != 0 else { return }
    // NULL or "" means no key (the server's own is trusted, with a warning); anything else must
    // be the server's public key, or the SDK does not start and t2u_status() says -2.
    var key: String?
    LogSetup.once()
    if let svrkey, svrkey[0] != 0 {
        guard let text = validString(svrkey), (try? ServerPublicKey.parse(text)) != nil else {
            Logger(label: "t2u").error("\(ServerPublicKey.requirement)")
            state.settings.withLock { $0.serverKeyInvalid = $0.client == nil }
            return
        }
        key = text
    }
    state.lifecycle.withLock { _ in
        guard state.client == nil else { return }  // second init: no-op until t2u_exit
        var options = T2UClientOptions(server: server, serverPort: svrport, serverKey: key)
        options.udpPortRange = state.settings.withLock { $0.portRange }
        applyEnvironment(to: &options)
        guard let client = state.startClient(options) else { return }
        state.settings.withLock {
            $0.serverKeyInvalid = false
            $0.client = client
            $0.initOptions = options
            $0.ports = []
        }
    }
}

@_cdecl("t2u_set_callback")
public func t2uSetCallback(_ callback: UnsafeMutablePointer<T2uCallBack>?) {
    let copy = callback.map { CallbackCopy(onConnect: $0.pointee.OnConnect, onDisconnect: $0.pointee.OnDisconnect) }
    state.settings.withLock { $0.callbacks = copy }
}

@_cdecl("t2u_set_port_range")
public func t2uSetPortRange(_ minPort: UInt16, _ maxPort: UInt16) {
    // 0,0 restores "any port"; an inverted or zero-based range is rejected.
    let range: ClosedRange<UInt16>?
    if minPort == 0 && maxPort == 0 {
        range = nil
    } else {
        guard minPort > 0, minPort <= maxPort else { return }
        range = minPort...maxPort
    }
    state.lifecycle.withLock { _ in
        let (client, options, mapped) = state.settings.withLock { settings in
            settings.portRange = range
            return (settings.client, settings.initOptions, !settings.ports.isEmpty)
        }
        // The SDK's single UDP socket is bound at init. Rebind now when no port is mapped (no
        // link to break); otherwise the range applies from the next t2u_init.
        guard let client, var options, !mapped, options.udpPortRange != range else { return }
        options.udpPortRange = range
        // Start the new SDK before stopping the old: if nothing in the range can be bound, the
        // old one keeps running (and the range still applies from the next t2u_init).
        guard let restarted = state.startClient(options) else { return }
        state.settings.withLock {
            $0.client = restarted
            $0.initOptions = options
        }
        client.setEventHandler(nil)
        _ = blockingWait(timeoutSeconds: callTimeout) { await client.shutdown() }
    }
}

private func addPort(_ request: PortMappingRequest?) -> Int32 {
    guard let request, request.remotePort != 0, let client = state.client else { return -1 }
    let result: Result<UInt16, T2UClientError>? = blockingWait(
        timeoutSeconds: callTimeout,
        late: { result in
            // We already told the caller -1: do not leave a mapping it does not know about.
            if case .success(let port) = result { Task { await client.deletePort(port) } }
        },
        { () async -> Result<UInt16, T2UClientError> in
            do throws(T2UClientError) { return .success(try await client.addPort(request)) } catch {
                return .failure(error)
            }
        })
    guard case .success(let port)? = result else {
        // The C caller sees only -1: say which port and why where it can be read.
        if case .failure(let error)? = result { Logger(label: "t2u.abi").warning("t2u_add_port: \(error)") }
        return -1
    }
    state.settings.withLock { _ = $0.ports.insert(port) }
    return Int32(port)
}

private func mappingRequest(
    uuid: UnsafePointer<CChar>?, passwd: UnsafePointer<CChar>?, remoteIP: UnsafePointer<CChar>?,
    remotePort: UInt16, localPort: UInt16
) -> PortMappingRequest? {
    guard let uuid = validString(uuid, maxBytes: 255), DeviceUUID.isValid(uuid) else { return nil }
    var host = "127.0.0.1"
    if let remoteIP {
        guard let text = validString(remoteIP, maxBytes: 255) else { return nil }
        host = text
    }
    var password: String?
    if let passwd, passwd[0] != 0 {
        guard let text = validString(passwd) else { return nil }
        password = text
    }
    return PortMappingRequest(
        uuid: uuid, remoteHost: host, remotePort: remotePort, localPort: localPort, password: password)
}

@_cdecl("t2u_add_port")
public func t2uAddPort(_ uuid: UnsafePointer<CChar>?, _ remotePort: UInt16, _ localPort: UInt16) -> Int32 {
    addPort(mappingRequest(uuid: uuid, passwd: nil, remoteIP: nil, remotePort: remotePort, localPort: localPort))
}

@_cdecl("t2u_add_port_ex")
public func t2uAddPortEx(
    _ uuid: UnsafePointer<CChar>?, _ remoteIP: UnsafePointer<CChar>?, _ remotePort: UInt16, _ localPort: UInt16
) -> Int32 {
    guard remoteIP != nil else { return -1 }
    return addPort(
        mappingRequest(uuid: uuid, passwd: nil, remoteIP: remoteIP, remotePort: remotePort, localPort: localPort))
}

@_cdecl("t2u_add_port_v3")
public func t2uAddPortV3(
    _ uuid: UnsafePointer<CChar>?, _ passwd: UnsafePointer<CChar>?, _ remoteIP: UnsafePointer<CChar>?,
    _ remotePort: UInt16, _ localPort: UInt16
) -> Int32 {
    guard remoteIP != nil else { return -1 }
    return addPort(
        mappingRequest(uuid: uuid, passwd: passwd, remoteIP: remoteIP, remotePort: remotePort, localPort: localPort))
}

@_cdecl("t2u_del_port")
public func t2uDelPort(_ port: UInt16) {
    guard port != 0, let client = state.client else { return }
    _ = blockingWait(timeoutSeconds: callTimeout) { await client.deletePort(port) }
    state.settings.withLock { _ = $0.ports.remove(port) }
}

@_cdecl("t2u_port_status")
public func t2uPortStatus(_ port: UInt16, _ stat: UnsafeMutablePointer<T2uNetStat>?) -> Int32 {
    guard port != 0, let client = state.client,
        let answer = blockingWait(timeoutSeconds: queryTimeout, { await client.portStatus(port) })
    else { return -1 }
    let (status, path) = answer
    if let stat {
        var out = T2uNetStat()
        if let path {
            withUnsafeMutableBytes(of: &out.ip) { raw in
                // A cut address would name another host: "" instead (t2u_port_peer_address has it).
                let buffer = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                copyOut(path.peerIP.utf8.count < raw.count ? path.peerIP : "", to: buffer, size: raw.count)
            }
            out.port = Int32(clamping: path.peerPort)
            out.proxy = path.relayed ? 1 : 0
            out.lost_rate = path.lossRate
            out.bandwidth = Int32(clamping: path.bandwidthKBps)
        }
        stat.pointee = out
    }
    return status.rawValue
}

@_cdecl("t2u_port_peer_address")
public func t2uPortPeerAddress(_ port: UInt16, _ buff: UnsafeMutablePointer<CChar>?, _ buffsize: Int32) -> Int32 {
    let size = Int(max(0, buffsize))
    if let buff, size > 0 { buff[0] = 0 }
    guard port != 0, let buff, size > 0, let client = state.client,
        let answer = blockingWait(timeoutSeconds: queryTimeout, { await client.portStatus(port) }),
        answer.0 != .noSuchPort
    else { return -1 }
    let address = answer.1?.peerIP ?? ""
    guard address.utf8.count < size else { return -1 }
    return copyOut(address, to: buff, size: size) ? 0 : -1
}

@_cdecl("t2u_get_rate")
public func t2uGetRate(_ port: UInt16, _ rate: UnsafeMutablePointer<T2uNetRate>?) -> Int32 {
    guard let rate, let client = state.client,
        let info = blockingWait(timeoutSeconds: queryTimeout, { await client.rate(port) }),
        let info
    else { return -1 }
    rate.pointee = T2uNetRate(
        total_rcv: info.totalReceived, total_send: info.totalSent,
        cur_rcv_rate: info.currentReceiveKBps, cur_send_rate: info.currentSendKBps, cur_rate: info.currentKBps,
        avg_rcv_rate: info.averageReceiveKBps, avg_send_rate: info.averageSendKBps, avg_rate: info.averageKBps,
        time_sec: info.seconds)
    return 0
}

@_cdecl("t2u_status")
public func t2uStatus() -> Int32 {
    guard let client = state.client else { return state.settings.withLock { $0.serverKeyInvalid } ? -2 : -1 }
    // A status that does not come back in time is "not connected".
    return blockingWait(timeoutSeconds: queryTimeout, { await client.status() })?.rawValue ?? 0
}

/// nil: bad uuid, not initialised, failed or timed out (all -1).
private func query(_ uuid: UnsafePointer<CChar>?) -> DeviceInfo? {
    guard let uuid = validString(uuid, maxBytes: 255), DeviceUUID.isValid(uuid), let client = state.client else {
        return nil
    }
    let result = blockingWait(timeoutSeconds: queryTimeout) { () async -> DeviceInfo? in
        try? await client.query(uuid)
    }
    return result ?? nil
}

@_cdecl("t2u_query")
public func t2uQuery(_ uuid: UnsafePointer<CChar>?) -> Int32 {
    guard let info = query(uuid) else { return -1 }
    return info.online ? 1 : 0
}

@_cdecl("t2u_query_ex")
public func t2uQueryEx(
    _ uuid: UnsafePointer<CChar>?, _ buff: UnsafeMutablePointer<CChar>?, _ buffsize: Int32,
    _ ipaddr: UnsafeMutablePointer<CChar>?, _ ipsize: Int32
) -> Int32 {
    // A buffer with no room is a caller error; a NULL buffer just means "not wanted".
    if buff != nil && buffsize <= 0 { return -1 }
    if ipaddr != nil && ipsize <= 0 { return -1 }
    copyOut("", to: buff, size: Int(buffsize))
    copyOut("", to: ipaddr, size: Int(ipsize))
    guard let info = query(uuid) else { return -1 }
    copyOut(info.extra, to: buff, size: Int(buffsize))
    copyOut(info.publicIP, to: ipaddr, size: Int(ipsize))
    return info.online ? 1 : 0
}

@_cdecl("t2u_search")
public func t2uSearch(_ buff: UnsafeMutablePointer<CChar>?, _ buffsize: Int32) -> Int32 {
    guard let buff, buffsize > 0 else { return -1 }
    copyOut("", to: buff, size: Int(buffsize))
    // LAN search needs no server: before t2u_init it probes the default (or T2U_DISCOVERY_*) group.
    let options =
        state.settings.withLock { $0.initOptions }
        ?? {
            var defaults = T2UClientOptions(server: "", serverPort: 0)
            applyEnvironment(to: &defaults)
            return defaults
        }()
    let found = blockingWait(timeoutSeconds: searchTimeout.seconds + queryTimeout) { () async -> [DiscoveredDevice]? in
        try? await T2UClient.search(
            address: options.discoveryAddress, ipv6Group: options.discoveryAddressIPv6,
            port: options.discoveryPort, timeout: searchTimeout)
    }
    guard let devices = found ?? nil, let report = SearchReport(devices, capacity: Int(buffsize)) else { return -1 }
    copyOut(report.text, to: buff, size: Int(buffsize))
    return Int32(clamping: report.count)
}

@_cdecl("t2u_exit")
public func t2uExit() {
    state.lifecycle.withLock { _ in
        let client = state.settings.withLock { settings -> T2UClient? in
            defer {
                settings.client = nil
                settings.initOptions = nil
                settings.ports = []
            }
            return settings.client
        }
        guard let client else { return }
        client.setEventHandler(nil)
        _ = blockingWait(timeoutSeconds: 30) { await client.shutdown() }
    }
}
