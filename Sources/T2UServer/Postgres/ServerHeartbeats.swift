// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// Which of the cloud's servers are alive, from the ages of their `t2u_servers` rows (each
/// server refreshes its own every heartbeat). Pure, so the transitions are testable.
struct ServerHeartbeats {
    struct Change: Equatable {
        /// Heard alive earlier in this session, silent now: drop its agents.
        var fellSilent: [String] = []
        /// Silent before, alive now: read its rows.
        var returned: [String] = []
    }

    let selfID: String
    private(set) var silent: Set<String> = []
    private var heard: Set<String> = []

    init(selfID: String) { self.selfID = selfID }

    /// `ages`: server ID -> seconds since its last heartbeat; older than `silenceLimit` is silent.
    mutating func update(ages: [String: Double], silenceLimit: Double) -> Change {
        var change = Change()
        for (id, age) in ages.sorted(by: { $0.key < $1.key }) where id != selfID {
            if age <= silenceLimit {
                if silent.remove(id) != nil { change.returned.append(id) }
                heard.insert(id)
            } else if silent.insert(id).inserted, heard.contains(id) {
                change.fellSilent.append(id)
            }
        }
        // A row deleted (a server gone for a day) is forgotten.
        silent.formIntersection(ages.keys)
        heard.formIntersection(ages.keys)
        return change
    }
}
