// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import Testing

@testable import T2UServer

@Suite struct InMemoryRegistryTests {
    /// Random upserts, touches and expiries against a plain dictionary model.
    @Test(arguments: [UInt64(0x4E61_0001), 0x4E61_0002])
    func matchesAReferenceModel(seed: UInt64) {
        let entropy = SeededEntropy(seed: seed)
        let registry = InMemoryRegistry()
        struct Key: Hashable {
            var role: SignalingRole
            var uuid: String
        }
        var model: [Key: PresenceRecord] = [:]
        var now = Instant(nanoseconds: 1_000_000_000)
        for step in 0..<4000 {
            now = now + .milliseconds(Int64(entropy.next(below: 50)))
            let role: SignalingRole = entropy.next(below: 3) == 0 ? .client : .device
            let uuid = "agent-\(entropy.next(below: 200))"
            switch entropy.next(below: 10) {
            case 0..<5:
                let record = PresenceRecord(
                    role: role, uuid: uuid, address: NetAddress(ipv4: (198, 51, 100, UInt8(step % 250)), port: 1),
                    publicKey: [UInt8](repeating: UInt8(step & 0xFF), count: 32), extra: [], candidates: [],
                    lastSeen: now, homeServerID: "t", token: entropy.nextUInt64())
                registry.upsert(record)
                model[Key(role: role, uuid: uuid)] = record
            case 5..<8:
                let values = model.values.sorted { $0.token < $1.token }  // deterministic order for the seed
                guard !values.isEmpty else { continue }
                let record = values[Int(entropy.next(below: UInt64(values.count)))]
                let address = NetAddress(ipv4: (203, 0, 113, UInt8(step % 250)), port: 2)
                let touched = registry.touch(token: record.token, address: address, now: now)
                var expected = record
                expected.address = address
                expected.lastSeen = max(record.lastSeen, now)
                #expect(touched == expected, "seed \(seed) step \(step)")
                model[Key(role: record.role, uuid: record.uuid)] = expected
            case 8:
                let cutoff = now - .milliseconds(3000)
                let expired = registry.expire(before: cutoff)
                let expectedExpired = model.values.filter { $0.lastSeen < cutoff }
                #expect(Set(expired.map(\.token)) == Set(expectedExpired.map(\.token)), "seed \(seed) step \(step)")
                for record in expectedExpired { model[Key(role: record.role, uuid: record.uuid)] = nil }
            default:
                #expect(registry.touch(token: entropy.nextUInt64(), address: Addr.stranger, now: now) == nil)
            }
            #expect(registry.count == model.count, "seed \(seed) step \(step)")
            #expect(
                registry.count(role: .device) == model.keys.filter { $0.role == .device }.count,
                "seed \(seed) step \(step)")
            if step % 97 == 0 {
                for (key, record) in model {
                    #expect(registry.lookup(role: key.role, uuid: key.uuid) == record, "seed \(seed) step \(step)")
                    #expect(registry.lookup(token: record.token) == record, "seed \(seed) step \(step)")
                }
            }
        }
    }

    @Test func aReplacedRecordsTokenStopsWorking() {
        let registry = InMemoryRegistry()
        let first = PresenceRecord(
            role: .device, uuid: "A", address: Addr.device, publicKey: [], extra: [], candidates: [],
            lastSeen: .zero, homeServerID: "t", token: 1)
        registry.upsert(first)
        var second = first
        second.token = 2
        registry.upsert(second)
        #expect(registry.lookup(token: 1) == nil)
        #expect(registry.lookup(token: 2) == second)
        #expect(registry.count == 1)
        #expect(registry.count(role: .device) == 1)
        #expect(registry.count(role: .client) == 0)
    }
}
