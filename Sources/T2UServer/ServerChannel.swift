// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import T2UCore

/// The server's end of one registration's signaling channel (ID = the record's token). Keys live
/// only here, on the agent's home server; registry records (and their copies on peer servers)
/// carry no keys. A class: the SEALED path updates counters and budget in place.
final class ServerChannel {
    var sealed: SealedChannel
    let role: SignalingRole
    let uuid: String
    /// SEALED datagrams of this channel bypass the source limiter and spend this instead.
    var budget: TokenBucket
    /// The REGISTER that made the channel and our REGISTERED: a retransmission (the very same
    /// REGISTER) gets the same answer, no second channel. Dropped once the agent speaks in the
    /// channel (it has the answer).
    private(set) var retransmission: (register: SignalingMessage.Register, registered: ByteBuffer)?
    let registerEphemeral: [UInt8]

    init(
        sealed: SealedChannel, role: SignalingRole, uuid: String, budget: TokenBucket,
        register: SignalingMessage.Register,
        registered: ByteBuffer
    ) {
        self.sealed = sealed
        self.role = role
        self.uuid = uuid
        self.budget = budget
        self.registerEphemeral = register.ephemeral
        self.retransmission = (register, registered)
    }

    /// Our REGISTERED again if `register` is a retransmission of the one that made this channel.
    func cachedReply(to register: SignalingMessage.Register) -> ByteBuffer? {
        guard let retransmission, retransmission.register == register else { return nil }
        return retransmission.registered
    }

    var awaitsConfirmation: Bool { retransmission != nil }

    func agentConfirmed() { retransmission = nil }
}
