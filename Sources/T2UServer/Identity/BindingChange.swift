// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// A binding as stored: the UUID and the device public key it belongs to.
package struct DeviceBinding: Sendable, Equatable, Hashable {
    package var uuid: String
    package var publicKey: [UInt8]

    package init(uuid: String, publicKey: [UInt8]) {
        self.uuid = uuid
        self.publicKey = publicKey
    }
}

/// One change the sans-IO bindings hand to their store (write-behind).
package enum BindingChange: Sendable, Equatable {
    /// First binding of a UUID.
    case bind(DeviceBinding)
    /// The UUID moves from `previousKey` to the binding's key (rotation or certificate): a store
    /// shared by several servers applies it only if the UUID is still bound to `previousKey`.
    case rebind(DeviceBinding, previousKey: [UInt8])
    case release(uuid: String)

    package var uuid: String {
        switch self {
        case .bind(let b), .rebind(let b, _): b.uuid
        case .release(let uuid): uuid
        }
    }
}
