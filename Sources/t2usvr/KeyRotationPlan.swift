// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UCore
import T2UNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `t2usvr --rotate-key`: a new key is made in `<state>.new` (0600) and registered with a proof
/// by the old key; once the server answers REGISTERED it replaces the state file. A `<state>.new`
/// left by an interrupted rotation is reused (the server may already have re-bound to it).
struct KeyRotationPlan {
    let statePath: String
    let newPath: String
    let old: StaticIdentity
    let new: StaticIdentity

    static func prepare(statePath: String) throws(KeyFileError) -> KeyRotationPlan {
        let old = try KeyFile.load(path: statePath, what: "state file")
        let newPath = statePath + ".new"
        let new = try KeyFile.loadOrCreate(path: newPath, what: "new key file", entropy: SystemEntropy())
        return KeyRotationPlan(statePath: statePath, newPath: newPath, old: old, new: new)
    }

    /// Whether an earlier rotation was interrupted (then it must continue).
    static func pending(statePath: String) -> Bool {
        var info = stat()
        return lstat(statePath + ".new", &info) == 0
    }

    /// The proof for one REGISTER (the cookie and server key of that CHALLENGE).
    func proof(serverPublicKey: [UInt8], uuid: String, cookie: [UInt8]) -> [UInt8]? {
        KeyRotationProof.make(
            old: old, serverPublicKey: serverPublicKey, uuid: uuid, newPublicKey: new.publicKey, cookie: cookie)
    }

    /// After REGISTERED under the new key: it becomes the state file (atomic rename).
    func commit() throws(KeyFileError) {
        guard rename(newPath, statePath) == 0 else {
            throw .io(path: statePath, what: "state file", operation: "replace with \(newPath)", errno: errno)
        }
    }
}
