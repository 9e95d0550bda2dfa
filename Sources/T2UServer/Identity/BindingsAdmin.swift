// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Crypto
import Logging
import NIOHTTP1
import T2UCore

/// The admin endpoint's binding routes (docs/SECURITY.md §1, operator release):
/// - `POST /bindings/release?uuid=U` with `Authorization: Bearer TOKEN` (`--admin-token-file`):
///   403 when no token is configured, 401 for a missing or wrong token, 404 when the UUID is not
///   bound, 200 when released (logged at notice level);
/// - `GET /bindings?uuid=U`: the bound key as JSON (read-only, like /status).
struct BindingsAdmin {
    var bindings: PersistentDeviceBindings
    /// The bearer token; nil: release refused.
    var token: [UInt8]?
    var logger: Logger

    static let releasePath = "/bindings/release"
    static let showPath = "/bindings"

    func respond(_ request: AdminRequest) -> AdminResponse {
        if request.path == Self.releasePath {
            guard request.method == .POST else {
                return .text(.methodNotAllowed, "use POST \(Self.releasePath)?uuid=UUID\n")
            }
            return release(request)
        }
        guard request.isRead else { return .text(.methodNotAllowed, "only GET\n") }
        guard let uuid = request.query["uuid"], !uuid.isEmpty else {
            return .text(.badRequest, "name the device: GET \(Self.showPath)?uuid=UUID\n")
        }
        guard let key = bindings.boundKey(uuid: uuid) else {
            return .text(.notFound, "\(Self.json(uuid)) is not bound\n")
        }
        return AdminResponse(
            status: .ok, contentType: "application/json",
            body: Array("{\"uuid\":\(Self.json(uuid)),\"public_key\":\"\(Hex.encode(key))\"}\n".utf8))
    }

    private func release(_ request: AdminRequest) -> AdminResponse {
        guard let token else {
            return .text(
                .forbidden,
                "release is disabled: start t2u-server with --admin-token-file FILE (a secret of 16+ bytes, mode 0600)\n"
            )
        }
        guard let presented = Self.bearer(request.authorization), Self.equal(presented, token) else {
            logger.warning("binding release refused: missing or wrong admin token")
            return .text(.unauthorized, "send the admin token: Authorization: Bearer TOKEN\n")
        }
        guard let uuid = request.query["uuid"], !uuid.isEmpty else {
            return .text(.badRequest, "name the device: POST \(Self.releasePath)?uuid=UUID\n")
        }
        let key = bindings.boundKey(uuid: uuid)
        guard bindings.release(uuid: uuid) else { return .text(.notFound, "\(Self.json(uuid)) is not bound\n") }
        logger.notice(
            "device binding released by the operator",
            metadata: [
                "uuid": "\(uuid)", "publicKey": "\(key.map(Hex.encode) ?? "")",
            ])
        return .text(.ok, "released \(Self.json(uuid)): the next device registering it is bound\n")
    }

    static func bearer(_ header: String?) -> [UInt8]? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return Array(header.dropFirst(7).utf8)
    }

    /// Constant-time in the token's content (digest comparison is constant-time in swift-crypto).
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool { SHA256.hash(data: a) == SHA256.hash(data: b) }

    /// A JSON string literal of `text` (UUIDs are untrusted input).
    static func json(_ text: String) -> String { JSONText.quoted(text) }
}
