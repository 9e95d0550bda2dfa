import CT2U
import T2UClient

// @_cdecl exports of t2u_* over T2UClient (being written).
