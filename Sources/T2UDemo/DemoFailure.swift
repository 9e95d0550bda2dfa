// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

package struct DemoFailure: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
