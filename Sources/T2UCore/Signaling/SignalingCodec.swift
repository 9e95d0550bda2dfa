// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

extension SignalingMessage {
    /// PROBE flag: answer from the port the request did not come in on (`probeFromOtherPort`).
    static let probeFlagOtherPort: UInt8 = 0x01

    /// Appends the datagram. Callers pass values within `SignalingLimits` (checked by the
    /// client's configuration and the server's parser); HELLO, PROBE and SEARCH are padded.
    package func write(into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeMultipleIntegers(type.rawValue, requestID)
        switch self {
        case .hello(_, let role):
            buffer.writeInteger(role.rawValue)
            buffer.padSignaling(from: start, to: SignalingLimits.minPaddedRequest)
        case .challenge(_, let cookie, let serverPublicKey):
            buffer.writeBytes(cookie.prefix(SignalingLimits.cookieLength))
            buffer.writeBytes(serverPublicKey.prefix(SignalingLimits.publicKeyLength))
        case .register(let m):
            buffer.writeInteger(m.role.rawValue)
            buffer.writeBytes(m.cookie.prefix(SignalingLimits.cookieLength))
            buffer.writeBytes(m.ephemeral.prefix(SignalingLimits.publicKeyLength))
            buffer.writeBytes(m.encryptedStatic)
            buffer.writeBytes(m.encryptedPayload)
        case .registered(_, let ephemeral, let encryptedPayload):
            buffer.writeBytes(ephemeral.prefix(SignalingLimits.publicKeyLength))
            buffer.writeBytes(encryptedPayload)
        case .sealed(let m):
            // type(1) channel(8) counter(8): no request ID (see SealedChannel).
            buffer.moveWriterIndex(to: start)
            buffer.writeMultipleIntegers(type.rawValue, m.channel, m.counter)
            buffer.writeBytes(m.ciphertext)
        case .error(_, let code):
            buffer.writeInteger(code.rawValue)
        case .keepalive(_, let token, let nat):
            buffer.writeInteger(token)
            buffer.writeNAT(nat)
        case .keepaliveAck(_, let observed):
            buffer.writeSignalingAddress(observed)
        case .query(_, let token, let uuid):
            buffer.writeInteger(token)
            buffer.writeShortString(uuid)
        case .queryResult(let m):
            buffer.writeInteger(UInt8(m.online ? 1 : 0))
            if let address = m.publicAddress {
                buffer.writeInteger(UInt8(1))
                buffer.writeSignalingAddress(address)
            } else {
                buffer.writeInteger(UInt8(0))
            }
            buffer.writeLongBytes(m.publicKey)
            buffer.writeLongBytes(m.extra)
        case .connect(let m):
            buffer.writeMultipleIntegers(m.token, m.clientConnectionID.rawValue)
            buffer.writeShortString(m.uuid)
            buffer.writeSignalingAddresses(m.candidates)
            buffer.writeNAT(m.nat)
            if let resume = m.resumeDeviceConnectionID {
                buffer.writeInteger(resume.rawValue)
                if let address = m.resumeDeviceAddress { buffer.writeSignalingAddress(address) }
            }
        case .connectResult(let m):
            buffer.writeMultipleIntegers(UInt8(m.online ? 1 : 0), m.sessionID, UInt8(m.relayAllowed ? 1 : 0))
            buffer.writeLongBytes(m.devicePublicKey)
            buffer.writeSignalingAddresses(m.deviceCandidates)
            buffer.writeNAT(m.deviceNAT)
            buffer.writePunchDelay(m.punchDelay)
        case .introduce(let m):
            buffer.writeMultipleIntegers(m.sessionID, m.clientConnectionID.rawValue, UInt8(m.relayAllowed ? 1 : 0))
            buffer.writeSignalingAddress(m.clientPublicAddress)
            buffer.writeSignalingAddresses(m.clientCandidates)
            buffer.writeNAT(m.clientNAT)
            buffer.writePunchDelay(m.punchDelay)
        case .introduceAck(_, let token, let sessionID):
            buffer.writeMultipleIntegers(token, sessionID)
        case .probe:
            buffer.padSignaling(from: start, to: SignalingLimits.minPaddedRequest)
        case .probeFromOtherPort:
            buffer.writeInteger(SignalingMessage.probeFlagOtherPort)
            buffer.padSignaling(from: start, to: SignalingLimits.minPaddedRequest)
        case .probeResult(_, let observed):
            buffer.writeSignalingAddress(observed)
        case .search(_, let uuid):
            if let uuid {
                buffer.writeShortString(uuid)
            } else {
                buffer.writeInteger(UInt8(0))
            }
            buffer.padSignaling(from: start, to: SignalingLimits.minSearchRequest)
        case .searchReply(_, let uuid, let address):
            buffer.writeShortString(uuid)
            buffer.writeSignalingAddress(address)
        case .pathReport(_, let token, let sessionID, let path):
            buffer.writeMultipleIntegers(token, sessionID, path.rawValue)
        case .relayUnknown(_, let cid):
            buffer.writeInteger(cid.rawValue)
        }
    }

    /// Parses the readable bytes of `datagram` (not consumed).
    package static func parse(_ datagram: ByteBuffer) throws(SignalingParseError) -> SignalingMessage {
        var r = SignalingReader(buffer: datagram)
        let rawType = try r.u8("type")
        guard let type = SignalingMessageType(rawValue: rawType) else { throw .unknownMessageType(rawType) }
        if type == .sealed {
            let channel = try r.u64("channel")
            let counter = try r.u64("counter")
            let ciphertext = try r.encrypted("ciphertext")
            return .sealed(Sealed(channel: channel, counter: counter, ciphertext: ciphertext))
        }
        let id = try r.u32("request id")
        switch type {
        case .hello:
            return .hello(requestID: id, role: try role(&r))
        case .challenge:
            let cookie = try r.bytes(SignalingLimits.cookieLength, "cookie")
            return .challenge(
                requestID: id, cookie: cookie,
                serverPublicKey: try r.bytes(SignalingLimits.publicKeyLength, "server key"))
        case .register:
            let role = try role(&r)
            let cookie = try r.bytes(SignalingLimits.cookieLength, "cookie")
            let ephemeral = try r.bytes(SignalingLimits.publicKeyLength, "ephemeral")
            let encryptedStatic = try r.bytes(SignalingLimits.publicKeyLength + SignalingLimits.tagLength, "static")
            return .register(
                Register(
                    requestID: id, role: role, cookie: cookie, ephemeral: ephemeral,
                    encryptedStatic: encryptedStatic, encryptedPayload: try r.encrypted("payload")))
        case .registered:
            let ephemeral = try r.bytes(SignalingLimits.publicKeyLength, "ephemeral")
            return .registered(requestID: id, ephemeral: ephemeral, encryptedPayload: try r.encrypted("payload"))
        case .sealed:
            throw .invalid("sealed")  // parsed above (no request ID)
        case .error:
            return .error(requestID: id, code: SignalingErrorCode(rawValue: try r.u8("code")))
        case .keepalive:
            let token = try r.u64("token")
            return .keepalive(requestID: id, token: token, nat: try r.optionalNAT())
        case .keepaliveAck:
            return .keepaliveAck(requestID: id, observed: try r.address("observed"))
        case .query:
            let token = try r.u64("token")
            return .query(requestID: id, token: token, uuid: try r.uuid("uuid"))
        case .queryResult:
            let online = try r.bool("online")
            let address: NetAddress? = try r.bool("address flag") ? try r.address("public address") : nil
            let key = try r.longBytes("public key", maxLength: SignalingLimits.publicKeyLength)
            let extra = try r.longBytes("extra", maxLength: SignalingLimits.maxExtraLength)
            return .queryResult(
                QueryResult(requestID: id, online: online, publicAddress: address, publicKey: key, extra: extra))
        case .connect:
            let token = try r.u64("token")
            let cid = ConnectionID(rawValue: try r.u64("client cid"))
            let uuid = try r.uuid("uuid")
            let candidates = try r.addresses("candidates")
            let nat = try r.optionalNAT()
            var resume: ConnectionID?
            var resumeAddress: NetAddress?
            if r.buffer.readableBytes > 0 {
                let raw = try r.u64("resume cid")
                guard raw != 0 else { throw .invalid("resume cid") }
                resume = ConnectionID(rawValue: raw)
                if r.buffer.readableBytes > 0 { resumeAddress = try r.address("resume address") }
            }
            return .connect(
                Connect(
                    requestID: id, token: token, uuid: uuid, clientConnectionID: cid, candidates: candidates,
                    nat: nat, resumeDeviceConnectionID: resume, resumeDeviceAddress: resumeAddress))
        case .connectResult:
            let online = try r.bool("online")
            let session = try r.u64("session id")
            let relay = try r.bool("relay allowed")
            let key = try r.longBytes("public key", maxLength: SignalingLimits.publicKeyLength)
            let candidates = try r.addresses("candidates")
            let nat = try r.optionalNAT()
            return .connectResult(
                ConnectResult(
                    requestID: id, online: online, sessionID: session, devicePublicKey: key,
                    deviceCandidates: candidates, relayAllowed: relay, deviceNAT: nat,
                    punchDelay: try r.optionalPunchDelay()))
        case .introduce:
            let session = try r.u64("session id")
            let cid = ConnectionID(rawValue: try r.u64("client cid"))
            let relay = try r.bool("relay allowed")
            let address = try r.address("client address")
            let candidates = try r.addresses("candidates")
            let nat = try r.optionalNAT()
            return .introduce(
                Introduce(
                    requestID: id, sessionID: session, clientConnectionID: cid, clientPublicAddress: address,
                    clientCandidates: candidates, relayAllowed: relay, clientNAT: nat,
                    punchDelay: try r.optionalPunchDelay()))
        case .introduceAck:
            let token = try r.u64("token")
            return .introduceAck(requestID: id, token: token, sessionID: try r.u64("session id"))
        case .probe:
            // The first padding byte carries the flags; other bits are reserved (ignored).
            let flags = r.buffer.getInteger(at: r.buffer.readerIndex, as: UInt8.self) ?? 0
            return flags & SignalingMessage.probeFlagOtherPort != 0
                ? .probeFromOtherPort(requestID: id) : .probe(requestID: id)
        case .probeResult:
            return .probeResult(requestID: id, observed: try r.address("observed"))
        case .search:
            if r.buffer.getInteger(at: r.buffer.readerIndex, as: UInt8.self) == 0 {
                return .search(requestID: id, uuid: nil)
            }
            return .search(requestID: id, uuid: try r.uuid("uuid"))
        case .searchReply:
            let uuid = try r.uuid("uuid")
            return .searchReply(requestID: id, uuid: uuid, address: try r.address("address"))
        case .pathReport:
            let token = try r.u64("token")
            let sessionID = try r.u64("session id")
            guard let path = SignalingPathKind(rawValue: try r.u8("path")) else { throw .invalid("path") }
            return .pathReport(requestID: id, token: token, sessionID: sessionID, path: path)
        case .relayUnknown:
            return .relayUnknown(requestID: id, connectionID: ConnectionID(rawValue: try r.u64("connection id")))
        }
    }

    private static func role(_ r: inout SignalingReader) throws(SignalingParseError) -> SignalingRole {
        guard let role = SignalingRole(rawValue: try r.u8("role")) else { throw .invalid("role") }
        return role
    }
}
