// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import NIOCore
import Testing

@testable import T2UCore

/// Seeded, bounded fuzzing of every entry point that reads untrusted bytes: only typed errors,
/// never a crash, never a false success. Re-run a failure with the seed in its message.
@Suite struct FuzzHandshakeTests {
    typealias F = HandshakeFixture
    static let seed: UInt64 = 0x7275_7A7A

    /// A random corruption of `original`: bit flips, truncation, extension, overwrite or noise.
    static func mutate(_ original: [UInt8], _ entropy: SeededEntropy) -> [UInt8] {
        var bytes = original
        switch entropy.next(below: 6) {
        case 0, 1:
            for _ in 0...entropy.next(below: 4) where !bytes.isEmpty {
                bytes[Int(entropy.next(below: UInt64(bytes.count)))] ^= UInt8(1 << entropy.next(below: 8))
            }
        case 2:
            bytes = Array(bytes.prefix(Int(entropy.next(below: UInt64(bytes.count + 1)))))
        case 3:
            bytes += entropy.bytes(Int(entropy.next(below: 40)) + 1)
        case 4:
            if !bytes.isEmpty {
                let start = Int(entropy.next(below: UInt64(bytes.count)))
                let length = min(bytes.count - start, Int(entropy.next(below: 33)) + 1)
                bytes.replaceSubrange(start..<(start + length), with: entropy.bytes(length))
            }
        default:
            bytes = entropy.bytes(Int(entropy.next(below: 500)))
            if !bytes.isEmpty { bytes[0] = UInt8(entropy.next(below: 6)) }  // hit the real types often
        }
        return bytes
    }

    @Test func handshakeEntryPointsOnlyThrowTypedErrors() throws {
        let entropy = SeededEntropy(seed: Self.seed)
        let client = F.identity(1)
        let device = F.identity(2)
        let password: [UInt8] = Array("fuzz".utf8)
        let initiator = try HandshakeInitiator(
            identity: client, responderStaticKey: device.publicKey, password: password,
            localConnectionID: F.clientCID, payload: [1, 2, 3], timestamp: HandshakeFixture.timestamp,
            entropy: SeededEntropy(seed: 3))
        let initiation = initiator.initiationDatagram
        guard
            case let .accepted(response, _, _, _, _) = try HandshakeResponder.respond(
                to: F.buffer(initiation), identity: device, password: password,
                localConnectionID: F.deviceCID, payload: [4, 5], entropy: SeededEntropy(seed: 4)),
            case let .rejected(rejection, _, _) = try HandshakeResponder.respond(
                to: F.buffer(initiation), identity: device, password: Array("other".utf8),
                localConnectionID: F.deviceCID, payload: [], entropy: SeededEntropy(seed: 5))
        else {
            Issue.record("setup failed")
            return
        }

        var accepted = 0
        var errors = 0
        for iteration in 0..<8_000 {
            let pick = entropy.next(below: 3)
            let original = pick == 0 ? initiation : pick == 1 ? response : rejection
            let input = Self.mutate(original, entropy)
            let buffer = F.buffer(input, junkPrefix: Int(entropy.next(below: 4)))
            let context = "seed \(Self.seed) iteration \(iteration) input \(input)"

            do { _ = try HandshakeResponder.summarize(buffer) } catch { errors += 1 }
            do { _ = try HandshakeResponder.replyDestination(buffer) } catch { errors += 1 }
            if pick == 0 {
                // Only inputs of the right size reach the (costly) crypto.
                do {
                    let outcome = try HandshakeResponder.respond(
                        to: buffer, identity: device, password: password, localConnectionID: F.deviceCID,
                        payload: [], entropy: SeededEntropy(seed: UInt64(iteration)))
                    accepted += 1
                    if case .rejected = outcome { Issue.record("rejected a mutated message: \(context)") }
                    // mac2 is the admission's to check (against the source's cookie), not respond's.
                    #expect(
                        input.count == initiation.count
                            && input.prefix(HandshakeLayout.initiationMac2Offset)
                                == initiation.prefix(HandshakeLayout.initiationMac2Offset),
                        "accepted a mutated initiation: \(context)")
                } catch { errors += 1 }
            } else {
                do {
                    let outcome = try initiator.handleReply(buffer)
                    accepted += 1
                    switch outcome {
                    case .established: #expect(input == response, "accepted a mutated response: \(context)")
                    case .rejected: #expect(input == rejection, "accepted a mutated rejection: \(context)")
                    case .passwordNotProven: Issue.record("a mutated reply passed as an unproven password: \(context)")
                    }
                } catch { errors += 1 }
            }
        }
        #expect(errors > 10_000, "seed \(Self.seed)")
        print("handshake fuzz: \(accepted) unmodified inputs accepted, \(errors) typed errors")
    }

    /// COOKIE_REPLY, mac1/mac2 and the admission on mutated and random inputs: typed errors or
    /// refusals only; a cookie reply is taken only unmodified, and only a valid mac1 passes.
    @Test func cookieRepliesMacsAndAdmissionOnlyThrowTypedErrors() throws {
        let entropy = SeededEntropy(seed: Self.seed &+ 2)
        let device = F.identity(2)
        let keys = HandshakeMacKeys(responderStatic: device.publicKey)
        var initiator = try HandshakeInitiator(
            identity: F.identity(1), responderStaticKey: device.publicKey, password: nil,
            localConnectionID: F.clientCID, payload: [], timestamp: HandshakeFixture.timestamp,
            entropy: SeededEntropy(seed: 3))
        let initiation = initiator.initiationDatagram
        let mac1 = Array(initiation[HandshakeLayout.initiationMac1Offset..<HandshakeLayout.initiationMac2Offset])
        let reply = CookieReply.seal(
            cookie: entropy.bytes(16), initiatorConnectionID: F.clientCID, mac1: mac1, keys: keys,
            nonce: entropy.bytes(12))
        var admission = HandshakeAdmission(
            limits: .init(handshakesPerSecond: 4, perPrefixPerSecond: 2, prefixTableCapacity: 8))
        var taken = 0
        var passedMac1 = 0
        for iteration in 0..<6_000 {
            let useReply = entropy.next(below: 2) == 0
            let input = Self.mutate(useReply ? reply : initiation, entropy)
            let buffer = F.buffer(input, junkPrefix: Int(entropy.next(below: 4)))
            let context = "seed \(Self.seed &+ 2) iteration \(iteration) input \(input)"
            _ = try? CookieReply.destination(buffer)
            var copy = initiator
            do {
                try copy.handleCookieReply(buffer, now: .zero)
                taken += 1
                #expect(input == reply, "took a mutated cookie reply: \(context)")
            } catch {}
            if keys.hasValidMac1(buffer) {
                passedMac1 += 1
                #expect(
                    Array(input.prefix(HandshakeLayout.initiationMac2Offset))
                        == Array(initiation.prefix(HandshakeLayout.initiationMac2Offset)),
                    "mac1 passed a mutated initiation: \(context)")
            }
            let source = NetAddress(host: .v4(UInt32(truncatingIfNeeded: entropy.nextUInt64())), port: 1)
            _ = admission.decide(
                buffer, from: source, now: Instant(nanoseconds: Int64(iteration) * 1_000_000), entropy: entropy)
            if input.count == Tai64N.length { _ = try? Tai64N(bytes: input[...]) }
        }
        #expect(taken > 0 && passedMac1 > 0, "seed \(Self.seed &+ 2): the unmodified inputs never came up")
        try initiator.handleCookieReply(F.buffer(reply), now: .zero)
        #expect(
            initiator.initiationDatagram.prefix(HandshakeLayout.initiationMac2Offset)
                == initiation.prefix(HandshakeLayout.initiationMac2Offset))
        #expect(initiator.initiationDatagram != initiation)
    }

    @Test func packetOpenOnlyThrowsTypedErrors() throws {
        let entropy = SeededEntropy(seed: Self.seed &+ 1)
        var (client, device) = try PacketProtectionTests.sessionPair()
        let genuine = F.sealed(Array("genuine".utf8), by: &client, packetNumber: 77)
        let genuineBytes = genuine.getBytes(at: genuine.readerIndex, length: genuine.readableBytes)!
        var failures = 0
        for iteration in 0..<3_000 {
            let input = Self.mutate(genuineBytes, entropy)
            let headerLength = Int(entropy.next(below: 8))
            let packetNumber = entropy.next(below: 4) == 0 ? 77 : entropy.nextUInt64()
            let phase = UInt8(entropy.next(below: 3))
            do {
                _ = try device.open(
                    packet: F.buffer(input, junkPrefix: Int(entropy.next(below: 3))),
                    headerLength: headerLength, packetNumber: packetNumber, keyPhase: phase)
                #expect(
                    input == genuineBytes && headerLength == 3 && packetNumber == 77,
                    "seed \(Self.seed &+ 1) iteration \(iteration) opened a forgery")
            } catch {
                failures += 1
            }
        }
        #expect(failures > 2_500)
        #expect(device.keyUpdates == 0, "no forged packet may trigger a key update")
    }
}
