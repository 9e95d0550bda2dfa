// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import Foundation

/// One progress line of the demo, out at once (the demo's output is a narrative for people).
func say(_ line: String) {
    print(line)
    fflush(nil)
}
