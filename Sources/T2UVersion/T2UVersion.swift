// SPDX-License-Identifier: Apache-2.0
// Copyright 2026 the t2u authors

/// The version of this build, from git when it was built (scripts/version.sh): `X.Y.Z` on a
/// release tag, `X.Y.Z-N-gHASH` after one, `0.0.0-gHASH` in a clone without tags, `-dirty` with
/// uncommitted changes, `0.0.0-unknown` from a tree without git. The same string is printed by
/// `--version` of every binary, reported in the server's `/status` and by `t2u_version()`.
public enum T2UVersion {
    public static let string: String = "\(generatedVersion)"

    /// The same string NUL-terminated in static storage, for `t2u_version()`: a string literal
    /// lives as long as the library, so C callers may keep the pointer.
    public static var cString: UnsafePointer<CChar> {
        UnsafeRawPointer(generatedVersion.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
