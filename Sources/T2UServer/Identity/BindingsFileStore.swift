// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// Writes binding changes to the bindings file off the event loop, in order (one thread):
/// new bindings are appended, a release rewrites the file. Keeps its own copy of the bindings,
/// so the event loop never waits for the disk. A failed write is logged and retried with the
/// next change as a full rewrite (the copy is the truth).
package final class BindingsFileStore: Sendable {
    package let path: String
    private let pool: NIOThreadPool
    private let logger: Logger
    private struct State {
        var bindings: [String: [UInt8]] = [:]
        var needsRewrite = false
    }
    private let state: NIOLockedValueBox<State>

    /// Loads the file (an error names file and line), compacts it, and starts the writer.
    package static func open(
        path: String, logger: Logger
    ) throws(BindingsFileError) -> (BindingsFileStore, [DeviceBinding]) {
        let loaded = try BindingsFile.load(path: path)
        try BindingsFile.rewrite(path: path, bindings: loaded)
        return (BindingsFileStore(path: path, loaded: loaded, logger: logger), loaded)
    }

    private init(path: String, loaded: [DeviceBinding], logger: Logger) {
        self.path = path
        self.logger = logger
        var initial = State()
        for binding in loaded { initial.bindings[binding.uuid] = binding.publicKey }
        self.state = NIOLockedValueBox(initial)
        self.pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    /// Queues `changes` (from `PersistentDeviceBindings.takeChanges()`); returns at once.
    package func persist(_ changes: [BindingChange]) {
        guard !changes.isEmpty else { return }
        pool.submit { [self] _ in write(changes) }
    }

    /// Queues a rewrite of the whole file with `bindings` (the database's view, when the file is
    /// the local cache of a server with `--database`); returns at once.
    package func replaceAll(_ bindings: [DeviceBinding]) {
        pool.submit { [self] _ in
            state.withLockedValue { state in
                state.bindings = Dictionary(
                    bindings.map { ($0.uuid, $0.publicKey) }, uniquingKeysWith: { _, last in last })
                do {
                    try BindingsFile.rewrite(path: path, bindings: bindings)
                    state.needsRewrite = false
                } catch {
                    state.needsRewrite = true
                    logger.error(
                        "bindings cache not saved; retried with the next change", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Waits for queued writes and stops the writer thread.
    package func close() async {
        try? await pool.shutdownGracefully()
    }

    private func write(_ changes: [BindingChange]) {
        state.withLockedValue { state in
            var appended: [DeviceBinding] = []
            for change in changes {
                switch change {
                case .bind(let b), .rebind(let b, _):
                    state.bindings[b.uuid] = b.publicKey
                    appended.append(b)
                case .release(let uuid):
                    state.bindings[uuid] = nil
                    state.needsRewrite = true
                }
            }
            do {
                if state.needsRewrite {
                    try BindingsFile.rewrite(
                        path: path, bindings: state.bindings.map { DeviceBinding(uuid: $0.key, publicKey: $0.value) })
                    state.needsRewrite = false
                } else {
                    try BindingsFile.append(path: path, bindings: appended)
                }
            } catch {
                state.needsRewrite = true
                logger.error("bindings not saved; retried with the next change", metadata: ["error": "\(error)"])
            }
        }
    }
}
