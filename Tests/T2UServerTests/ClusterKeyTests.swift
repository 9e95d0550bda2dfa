// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import Testing

@testable import T2UServer

/// Peer messages and binding rows are authenticated by the cluster key (docs/SECURITY.md §4).
@Suite struct ClusterKeyTests {
    let key = try! ClusterKey(secret: Array("0123456789abcdef0123456789abcdef".utf8))
    let other = try! ClusterKey(secret: Array("another cloud's key, 32 bytes ...".utf8))

    @Test func aShortKeyIsRefusedWithHowToMakeOne() {
        #expect(throws: ClusterKey.Invalid.tooShort(31)) { try ClusterKey(secret: [UInt8](repeating: 1, count: 31)) }
        #expect(ClusterKey.Invalid.tooShort(3).description.contains("head -c 32 /dev/urandom"))
    }

    @Test func sealedPayloadsOpenOnlyWithTheKeyOnTheirChannelAndFresh() throws {
        let sealed = key.seal(channel: "t2u_presence", body: "{\"a\":1}", unixSeconds: 1000)
        #expect(try key.open(channel: "t2u_presence", payload: sealed, unixSeconds: 1030) == "{\"a\":1}")
        // Injected by a database role without the key, redirected to another channel, replayed late.
        #expect(throws: ClusterKey.OpenError.badMAC) {
            try other.open(channel: "t2u_presence", payload: sealed, unixSeconds: 1000)
        }
        #expect(throws: ClusterKey.OpenError.badMAC) {
            try key.open(channel: "t2u_bindings", payload: sealed, unixSeconds: 1000)
        }
        #expect(throws: ClusterKey.OpenError.stale) {
            try key.open(channel: "t2u_presence", payload: sealed, unixSeconds: 1061)
        }
        // What the old trigger sent: bare JSON.
        #expect(throws: ClusterKey.OpenError.malformed) {
            try key.open(
                channel: "t2u_presence", payload: "{\"op\":\"insert\",\"role\":1,\"uuid\":\"x\",\"home\":\"evil\"}",
                unixSeconds: 1000)
        }
        var tampered = Array(sealed.utf8)
        tampered[tampered.count - 2] ^= 1
        #expect(throws: ClusterKey.OpenError.badMAC) {
            try key.open(channel: "t2u_presence", payload: String(decoding: tampered, as: UTF8.self), unixSeconds: 1000)
        }
    }

    @Test func bindingRowMACsCoverUUIDAndKey() {
        let pk = [UInt8](repeating: 3, count: 32)
        let mac = key.bindingMAC(uuid: "CAM-1", publicKey: pk)
        #expect(key.bindingValid(uuid: "CAM-1", publicKey: pk, mac: mac))
        #expect(!key.bindingValid(uuid: "CAM-2", publicKey: pk, mac: mac))
        #expect(!key.bindingValid(uuid: "CAM-1", publicKey: [UInt8](repeating: 4, count: 32), mac: mac))
        #expect(
            !other.bindingValid(
                uuid: "CAM-1", publicKey: pk,
                mac: other.bindingMAC(uuid: "CAM-1", publicKey: [UInt8](repeating: 4, count: 32))))
        #expect(!key.bindingValid(uuid: "CAM-1", publicKey: pk, mac: Array(mac.prefix(31))))
    }

    @Test func serverRowMACsCoverIDAndAdvertisedAddress() {
        let mac = key.serverMAC(serverID: "a", advertise: "203.0.113.5:7000")
        #expect(key.serverValid(serverID: "a", advertise: "203.0.113.5:7000", mac: mac))
        #expect(!key.serverValid(serverID: "a", advertise: "203.0.113.66:7000", mac: mac))
        #expect(!key.serverValid(serverID: "b", advertise: "203.0.113.5:7000", mac: mac))
        // Field boundaries are length-prefixed: moving bytes between the ID and the address breaks it.
        #expect(!key.serverValid(serverID: "a2", advertise: "03.0.113.5:7000", mac: mac))
        #expect(!other.serverValid(serverID: "a", advertise: "203.0.113.5:7000", mac: mac))
        #expect(!key.serverValid(serverID: "a", advertise: "203.0.113.5:7000", mac: []))
    }

    @Test func fuzzedPayloadsNeverOpen() {
        let entropy = SeededEntropy(seed: 0xC1)
        let sealed = Array(
            key.seal(channel: "c", body: "{\"op\":\"bind\",\"uuid\":\"x\",\"server\":\"s\"}", unixSeconds: 5).utf8)
        for _ in 0..<3_000 {
            var bytes = sealed
            let at = Int(entropy.next(below: UInt64(bytes.count)))
            switch entropy.next(below: 3) {
            case 0: bytes[at] ^= UInt8(1 << entropy.next(below: 8))
            case 1: bytes.removeSubrange(at...)
            default: bytes.insert(UInt8(truncatingIfNeeded: entropy.nextUInt64()), at: at)
            }
            // Only an equivalent payload opens (the MAC's hex digits in another case), to the same body.
            if let body = try? key.open(channel: "c", payload: String(decoding: bytes, as: UTF8.self), unixSeconds: 5) {
                #expect(body == "{\"op\":\"bind\",\"uuid\":\"x\",\"server\":\"s\"}")
            }
        }
    }
}
