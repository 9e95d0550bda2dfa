// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

// Must NOT typecheck outside the package (Tests/publicapi/run.sh expects exactly these errors):
// the server's registry and the signaling codec are `package`.

import T2UCore
import T2UServer

func reachIntoTheInsides() {
    _ = Registry.self
    _ = SignalingMessage.self
}
