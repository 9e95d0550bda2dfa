// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore

/// What a `Connection` keeps only for its handshake, by role and progress. Each case holds
/// exactly the data its phase needs: nothing can be read in a phase it means nothing in, and
/// leaving a phase drops its data (the initiator's ephemeral key, the responder's reply).
enum HandshakePhase {
    /// Initiator: the initiation goes out, and again, until a reply arrives.
    case initiating(Initiating)
    /// Responder, established: the reply goes again for each repeated initiation, until the
    /// initiator's first protected packet shows it has the reply.
    case replying(Replying)
    /// Nothing of the handshake is needed any more (completed or failed).
    case done

    static let maxAlsoToAddresses = 8
    /// Replies owed at once (one per repeated initiation, so none goes out unasked): bounds
    /// what a flood of repeats from many sources can queue.
    static let maxReplyDestinations = 4

    struct Initiating {
        private(set) var initiator: HandshakeInitiator
        /// When the initiation goes to the peer address again (and to every also-to address).
        private(set) var retransmitAt: Instant
        private(set) var retransmitInterval: Nanos
        /// Other addresses the initiation also goes to (`sendHandshake(alsoTo:)`), and those of
        /// them still owed a copy of the current (re)transmission.
        private(set) var alsoTo: [NetAddress] = []
        private(set) var alsoPending: [NetAddress] = []

        /// The first copy is due at once.
        init(initiator: HandshakeInitiator, initialRtt: Nanos, now: Instant) {
            self.initiator = initiator
            retransmitAt = now
            retransmitInterval = max(initialRtt * 2, .milliseconds(100))
        }

        /// Where the next copy of the initiation goes.
        enum Copy {
            case peer
            case alsoTo(NetAddress)
        }

        /// The next copy due now, if any: also-to addresses still owed one go first; then the
        /// peer address when the retransmission is due, which owes every also-to address a copy
        /// again. The interval doubles up to 2 s.
        mutating func nextCopy(now: Instant) -> Copy? {
            initiator.expireCookie(now: now)
            if !alsoPending.isEmpty { return .alsoTo(alsoPending.removeFirst()) }
            guard retransmitAt <= now else { return nil }
            retransmitAt = now + retransmitInterval
            retransmitInterval = min(retransmitInterval * 2, .seconds(2))
            alsoPending = alsoTo
            return .peer
        }

        /// The initiation also goes to `address` (its first copy at once); the peer address
        /// gets its copy at once instead. Known addresses and those beyond
        /// `maxAlsoToAddresses` change nothing.
        mutating func sendAlso(to address: NetAddress, peer: NetAddress, now: Instant) {
            if address == peer {
                retransmitAt = now
            } else if !alsoTo.contains(address),
                alsoTo.count < HandshakePhase.maxAlsoToAddresses
            {
                alsoTo.append(address)
                alsoPending.append(address)
            }
        }

        /// A COOKIE_REPLY: the initiation goes again at once, with mac2, to every address.
        /// A forged one throws and changes nothing.
        mutating func handleCookieReply(_ datagram: ByteBuffer, now: Instant) throws(HandshakeError) {
            try initiator.handleCookieReply(datagram, now: now)
            retransmitAt = now
        }
    }

    struct Replying {
        /// The reply sent for the initiation, byte for byte (a new one would make new keys).
        let reply: [UInt8]
        /// A copy is owed; it goes to the next of `destinations`, or to the peer address
        /// (whatever it is by then) when there are none.
        private(set) var pending = true
        private(set) var destinations: [NetAddress] = []

        init(reply: [UInt8]) {
            self.reply = reply
        }

        /// A repeated initiation from `address`: the initiator did not get our reply. It goes
        /// there, after any copy still owed elsewhere (`peer`: where the first copy goes).
        mutating func initiationRepeated(from address: NetAddress, peer: NetAddress) {
            if !pending {
                destinations.removeAll()
            } else if destinations.isEmpty {
                destinations.append(peer)  // the first reply, not sent yet
            }
            if !destinations.contains(address),
                destinations.count < HandshakePhase.maxReplyDestinations
            {
                destinations.append(address)
            }
            pending = true
        }

        /// Where the owed copy goes (nil: none owed); counts it as sent.
        mutating func nextDestination(peer: NetAddress) -> NetAddress? {
            guard pending else { return nil }
            let destination = destinations.isEmpty ? peer : destinations.removeFirst()
            pending = !destinations.isEmpty
            return destination
        }
    }

    /// Whether a copy of the reply is owed now.
    var replyPending: Bool {
        if case .replying(let replying) = self { return replying.pending }
        return false
    }
}
