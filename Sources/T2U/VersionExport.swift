// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

import T2UVersion

/// Extension of the manual's ABI: the library's version, the string `--version` of the t2u
/// binaries prints (static storage: valid for the life of the process, never freed by the caller).
@_cdecl("t2u_version")
public func t2uVersion() -> UnsafePointer<CChar> {
    T2UVersion.cString
}
